// Window traversal shared by convolution, transposed convolution and pooling (and the
// quantized convolutions): im2col gathers every window of an image into the columns of a
// matrix so a convolution becomes one matrix product; col2im is its adjoint.
#pragma once

#include "runtime/reference/kernel_util.h"

#include <algorithm>
#include <vector>

namespace hone::runtime::reference {

// Advances a row-major multi-index over the first `dims` dims of `extent`; false after the last.
inline bool next_index(std::vector<int64_t>& idx, const std::vector<int64_t>& extent, size_t dims) {
  for (size_t d = dims; d-- > 0;) {
    if (++idx[d] < extent[d]) return true;
    idx[d] = 0;
  }
  return false;
}

// Visits every (kernel tap, output position) pair of `g`, taps outer:
//   f(tap, pos, src)
// tap indexes g.kernel row-major, pos indexes g.out_spatial row-major, and src is the row-major
// offset inside one channel of g.in_spatial, or -1 when the tap falls into padding. Per dim the
// input coordinate is pos * stride - pad_begin + tap * dilation (ONNX Conv / pooling).
template <typename F>
void for_each_window_tap(const WindowGeometry& g, F&& f) {
  const size_t n = g.kernel.size();
  HONE_ASSERT(n >= 1 && g.out_spatial.size() == n && g.in_spatial.size() == n);
  auto has_zero = [](const std::vector<int64_t>& v) {
    return std::find(v.begin(), v.end(), 0) != v.end();
  };
  if (has_zero(g.kernel) || has_zero(g.out_spatial)) return;
  const size_t last = n - 1;
  std::vector<int64_t> k(n, 0);
  std::vector<int64_t> o(n, 0);
  int64_t tap = 0;
  do {
    int64_t pos = 0;
    std::fill(o.begin(), o.end(), 0);
    do {
      // Offset of the row (all dims but the last); -1 when it lies in padding.
      int64_t row = 0;
      for (size_t d = 0; d < last && row >= 0; ++d) {
        const int64_t c = o[d] * g.strides[d] - g.pads_begin[d] + k[d] * g.dilations[d];
        row = c >= 0 && c < g.in_spatial[d] ? row * g.in_spatial[d] + c : -1;
      }
      const int64_t first = k[last] * g.dilations[last] - g.pads_begin[last];
      const int64_t width = g.in_spatial[last];
      for (int64_t ol = 0; ol < g.out_spatial[last]; ++ol, ++pos) {
        const int64_t c = first + ol * g.strides[last];
        f(tap, pos, row >= 0 && c >= 0 && c < width ? row * width + c : int64_t{-1});
      }
    } while (next_index(o, g.out_spatial, last));
    ++tap;
  } while (next_index(k, g.kernel, n));
}

// Gathers `channels` channels of `image` (each of shape g.in_spatial) into
// cols[channels * prod(kernel)][prod(out_spatial)]: row (channel, tap), column = output
// position. Padding reads `pad` (zero, or the zero point of a quantized input).
template <typename T>
void im2col(const T* image, int64_t channels, const WindowGeometry& g, T pad, T* cols) {
  const int64_t image_size = ir::checked_numel(g.in_spatial);
  const int64_t taps = ir::checked_numel(g.kernel);
  const int64_t positions = ir::checked_numel(g.out_spatial);
  for (int64_t c = 0; c < channels; ++c) {
    const T* src = image + c * image_size;
    T* dst = cols + c * taps * positions;
    for_each_window_tap(g, [&](int64_t tap, int64_t pos, int64_t at) {
      dst[tap * positions + pos] = at < 0 ? pad : src[at];
    });
  }
}

// The adjoint of im2col: adds each column entry into the image element im2col would have read
// it from; entries of padding taps are dropped. Used by ConvTranspose, where the "image" is the
// output and the column positions are the input pixels.
template <typename T>
void col2im(const T* cols, int64_t channels, const WindowGeometry& g, T* image) {
  const int64_t image_size = ir::checked_numel(g.in_spatial);
  const int64_t taps = ir::checked_numel(g.kernel);
  const int64_t positions = ir::checked_numel(g.out_spatial);
  for (int64_t c = 0; c < channels; ++c) {
    const T* src = cols + c * taps * positions;
    T* dst = image + c * image_size;
    for_each_window_tap(g, [&](int64_t tap, int64_t pos, int64_t at) {
      if (at >= 0) dst[at] += src[tap * positions + pos];
    });
  }
}

}  // namespace hone::runtime::reference
