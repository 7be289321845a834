// hone's own int8 convolutions for the two QLinearConv shapes that dominate mobile networks,
// with the requantization fused into the output tile (requantize.h), so the int32 accumulators
// never leave registers. oneDNN (dnnl_qconv.cpp) runs every other QLinearConv; on MobileNetV2
// these two took 5.4 of its 6.0 ms there, mostly writing and re-reading int32 results
// (numbers in docs/performance.md).
//
//   pointwise  1x1, stride 1, no padding, group 1, uint8 activations: a [pixels x K] x [K x M]
//              product on AVX-512 VNNI (vpdpbusd: four u8 x s8 products into each int32 lane).
//              Tiles of 6 pixels x 64 channels (24 accumulators); weights packed once as
//              [M/16][K/4][16 channels][4 k] with zeros past M and K.
//   depthwise  group == C == M, any window, stride, dilation and padding, int8 or uint8:
//              vpdpbusd over four interleaved taps, 64 channels per block (32 for a short
//              remainder); a padded tap reads a row of x_zp (what QLinearConv pads with).
//
// Both compute sum(x * w) + B', with B' = B - x_zp * sum(w) folded at prepare: the same int32
// value as the reference's sum((x - x_zp) * w) + B (two's complement, wrapping alike). Nhwc in
// and out. Threads: OpenMP over pixel ranges, each output computed by one thread the same way,
// so results are identical for any thread count. HONE_QCONV=onednn turns these kernels off.
#include "runtime/cpu/conv_params.h"
#include "runtime/cpu/kernel.h"
#include "runtime/cpu/requantize.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <immintrin.h>

// GCC 12 reports the intrinsics' deliberately undefined pass-through operands as uninitialised
// wherever they are inlined.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace hone::runtime::cpu {

namespace {

#define HONE_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

// Read at prepare, not cached: the tests compare both kernel sets in one process.
bool vnni_enabled() {
  static const bool cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  const char* env = std::getenv("HONE_QCONV");
  return cpu && std::string_view(env ? env : "") != "onednn";
}

size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

// Per-channel constants padded to a multiple of 16 channels (zeros past M).
struct ChannelConstants {
  std::vector<int32_t> bias;  // B' = B - x_zp * sum(w)
  std::vector<double> m;
  std::vector<float> m_f;
  bool guard = false;  // some |acc| may reach 2^29 (requantize16_fast's exact range)

  ChannelConstants(const QConvParams& p, size_t taps_per_channel) {
    const int64_t x_max = p.x_type == ir::DType::Int8 ? 128 : 255;
    const size_t mp = round_up(p.m, 16);
    bias.assign(mp, 0);
    m.assign(mp, 0.0);
    m_f.assign(mp, 0.0f);
    for (size_t c = 0; c < p.m; ++c) {
      int64_t sum = 0, abs_sum = 0;
      for (size_t i = 0; i < taps_per_channel; ++i) {
        sum += p.weights[c * taps_per_channel + i];
        abs_sum += std::abs(int64_t{p.weights[c * taps_per_channel + i]});
      }
      bias[c] = static_cast<int32_t>(static_cast<uint32_t>(p.bias[c]) - static_cast<uint32_t>(p.x_zp * sum));
      guard = guard || std::abs(int64_t{p.bias[c]}) + std::abs(p.x_zp * sum) + x_max * abs_sum >= (int64_t{1} << 29);
      m[c] = p.multipliers[c];
      m_f[c] = p.multipliers[c];
    }
  }
  Requant at(size_t c, int32_t zp, quant::QRange r) const { return {m.data() + c, m_f.data() + c, zp, r}; }
};

// Runs body(begin, end) over [0, count) split into `threads` contiguous ranges of multiples of
// `grain` (OpenMP; on the calling thread when one suffices).
template <typename F>
void parallel_ranges(size_t count, size_t grain, int threads, const F& body) {
  const size_t units = (count + grain - 1) / grain;
  const int t = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), units));
  if (t <= 1) {
    body(size_t{0}, count);
    return;
  }
#pragma omp parallel num_threads(t)
  {
    const size_t i = static_cast<size_t>(omp_get_thread_num()), n = static_cast<size_t>(omp_get_num_threads());
    const size_t b = std::min(count, units * i / n * grain), e = std::min(count, units * (i + 1) / n * grain);
    if (b < e) body(b, e);
  }
}

// ---------------------------------------------------------------------------------- pointwise

constexpr int kTilePixels = 6;
constexpr int kTileVectors = 4;

struct PointwiseShape {
  size_t k;        // input channels (the row stride of x)
  size_t quads;    // ceil(K / 4)
  size_t m;        // output channels (the row stride of y)
  size_t vectors;  // ceil(M / 16)
};

// acc += four u8 x s8 products per int32 lane. Inline assembly because GCC 12 copies (and spills)
// the accumulator array around the intrinsic's tied operand: 1024 stack accesses in the 6 x 4
// tile, against none with the accumulator updated in place.
HONE_VNNI inline void dpbusd(__m512i& acc, __m512i x, __m512i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
}

HONE_VNNI inline void dpbusd256(__m256i& acc, __m256i x, __m256i w) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
}

// One tile: R pixels x V vectors of 16 output channels, starting at channel vector `v0`.
template <typename Q, bool G, int R, int V>
HONE_VNNI void pointwise_tile(const PointwiseShape& s, const uint8_t* x, const int8_t* w, const ChannelConstants& cc,
                              int32_t zp, quant::QRange range, Q* y, size_t v0) {
  __m512i acc[R][V];
  const int8_t* wv = w + v0 * s.quads * 64;
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    const __m512i b = _mm512_loadu_si512(cc.bias.data() + (v0 + static_cast<size_t>(v)) * 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r][v] = b;
  }
  for (size_t q = 0; q < s.quads; ++q) {
    __m512i wq[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) wq[v] = _mm512_loadu_si512(wv + (static_cast<size_t>(v) * s.quads + q) * 64);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      int32_t four;
      std::memcpy(&four, x + static_cast<size_t>(r) * s.k + q * 4, 4);
      const __m512i xb = _mm512_set1_epi32(four);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) dpbusd(acc[r][v], xb, wq[v]);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < V; ++v) {
    const size_t c = (v0 + static_cast<size_t>(v)) * 16;
    const Requant q = cc.at(c, zp, range);
    const __mmask16 mask = c + 16 <= s.m ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (s.m - c)) - 1);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      _mm_mask_storeu_epi8(y + static_cast<size_t>(r) * s.m + c, mask, requantize16_fast<Q, G>(acc[r][v], q));
    }
  }
}

template <typename Q>
using TileFn = void (*)(const PointwiseShape&, const uint8_t*, const int8_t*, const ChannelConstants&, int32_t,
                        quant::QRange, Q*, size_t);

template <typename Q, bool G, int R>
TileFn<Q> tile_for(int vectors) {
  switch (vectors) {
    case 1: return &pointwise_tile<Q, G, R, 1>;
    case 2: return &pointwise_tile<Q, G, R, 2>;
    case 3: return &pointwise_tile<Q, G, R, 3>;
    default: return &pointwise_tile<Q, G, R, 4>;
  }
}

template <typename Q, bool G>
TileFn<Q> tile_for(int pixels, int vectors) {
  switch (pixels) {
    case 1: return tile_for<Q, G, 1>(vectors);
    case 2: return tile_for<Q, G, 2>(vectors);
    case 3: return tile_for<Q, G, 3>(vectors);
    case 4: return tile_for<Q, G, 4>(vectors);
    case 5: return tile_for<Q, G, 5>(vectors);
    default: return tile_for<Q, G, 6>(vectors);
  }
}

class PointwiseKernel final : public Kernel {
 public:
  PointwiseKernel(const QConvParams& p, int threads)
      : shape_{p.c, (p.c + 3) / 4, p.m, (p.m + 15) / 16},
        pixels_(p.n * p.oh * p.ow),
        constants_(p, p.c),
        y_zp_(p.y_zp),
        y_type_(p.y_type),
        threads_(threads) {
    // [M/16][K/4][16][4]
    packed_.assign(shape_.vectors * shape_.quads * 64, 0);
    for (size_t c = 0; c < p.m; ++c) {
      for (size_t k = 0; k < p.c; ++k) {
        packed_[((c / 16 * shape_.quads + k / 4) * 16 + c % 16) * 4 + k % 4] = p.weights[c * p.c + k];
      }
    }
  }

  void run(void* const* ptrs) override {
    const auto* x = static_cast<const uint8_t*>(ptrs[in[0]]);
    if (y_type_ == ir::DType::Int8) {
      run_typed(x, static_cast<int8_t*>(ptrs[out[0]]));
    } else {
      run_typed(x, static_cast<uint8_t*>(ptrs[out[0]]));
    }
  }
  std::string name() const override { return "hone:qconv_1x1"; }

 private:
  template <typename Q>
  void run_typed(const uint8_t* x, Q* y) const {
    if (constants_.guard) {
      run_tiles<Q, true>(x, y);
    } else {
      run_tiles<Q, false>(x, y);
    }
  }

  template <typename Q, bool G>
  void run_tiles(const uint8_t* x, Q* y) const {
    const quant::QRange range = quant::qrange(y_type_);
    parallel_ranges(pixels_, kTilePixels, threads_, [&](size_t begin, size_t end) {
      for (size_t p = begin; p < end; p += kTilePixels) {
        const int rows = static_cast<int>(std::min<size_t>(kTilePixels, end - p));
        for (size_t v = 0; v < shape_.vectors; v += kTileVectors) {
          const int vectors = static_cast<int>(std::min<size_t>(kTileVectors, shape_.vectors - v));
          tile_for<Q, G>(rows, vectors)(shape_, x + p * shape_.k, packed_.data(), constants_, y_zp_, range,
                                        y + p * shape_.m, v);
        }
      }
    });
  }

  PointwiseShape shape_;
  size_t pixels_;
  std::vector<int8_t> packed_;
  ChannelConstants constants_;
  int32_t y_zp_;
  ir::DType y_type_;
  int threads_;
};

// ---------------------------------------------------------------------------------- depthwise
//
// 64 channels x 4 taps per step: the four taps' 64-byte rows are interleaved by two rounds of
// unpacks into four vectors whose int32 lanes hold one channel's four taps, so one vpdpbusd does
// 16 channels x 4 taps. Within each 128-bit lane L, vector k holds channels 16 L + 4 k + (0..3);
// weights, B' and M are packed in that order at prepare, and two rounds of saturating packs put
// the requantized results back in channel order. Taps are padded to a multiple of 4 with zero
// weights. int8 inputs are shifted to uint8 (x + 128, x_zp + 128) on load.

constexpr size_t kMaxTaps = 64;

class DepthwiseKernel final : public Kernel {
 public:
  DepthwiseKernel(const QConvParams& p, int threads)
      : p_(p),
        range_(quant::qrange(p.y_type)),
        taps_(p.kh * p.kw),
        groups_((taps_ + 3) / 4),
        threads_(threads) {
    QConvParams shifted = p;  // the same convolution over uint8 inputs
    if (p.x_type == ir::DType::Int8) {
      shifted.x_zp = p.x_zp + 128;
      shifted.x_type = ir::DType::UInt8;
    }
    const ChannelConstants cc(shifted, taps_);
    guard_ = cc.guard;
    // 64-channel blocks; a remainder of at most 32 channels is a 32-channel block (256-bit).
    const size_t rem = p.c % 64;
    blocks_ = p.c / 64 + (rem > 32 ? 1 : 0);
    half_ = rem > 0 && rem <= 32;
    const size_t lanes = blocks_ * 64 + (half_ ? 32 : 0);
    bias_.assign(lanes, 0);
    m_.assign(lanes, 0.0);
    m_f_.assign(lanes, 0.0f);
    weights_.assign(lanes * groups_ * 4, 0);
    for (size_t b = 0; b < blocks_ + (half_ ? 1 : 0); ++b) {
      const size_t width = b < blocks_ ? 64 : 32, per_k = width / 4, c0 = 64 * b;
      for (size_t k = 0; k < 4; ++k) {
        for (size_t j = 0; j < per_k; ++j) {
          const size_t c = c0 + 16 * (j / 4) + 4 * k + j % 4, lane = c0 + per_k * k + j;
          if (c >= p.c) continue;
          bias_[lane] = cc.bias[c];
          m_[lane] = cc.m[c];
          m_f_[lane] = cc.m_f[c];
          for (size_t t = 0; t < taps_; ++t) {
            weights_[c0 * groups_ * 4 + (((t / 4) * 4 + k) * per_k + j) * 4 + t % 4] = p.weights[c * taps_ + t];
          }
        }
      }
    }
    // A padded row: W pixels of x_zp (plus what a 64-channel read past the last one touches).
    zp_row_.assign(p.w * p.c + 64, static_cast<uint8_t>(p.x_zp));
    // Output columns whose window lies inside the input row: there each tap moves by
    // stride * C from one column to the next.
    const reference::WindowGeometry& g = p.geometry;
    const int64_t s = g.strides[1], pl = g.pads_begin[1], ow = static_cast<int64_t>(p.ow);
    // The last input column a window may start at, shifted by the padding.
    const int64_t last = static_cast<int64_t>(p.w) - 1 - (static_cast<int64_t>(p.kw) - 1) * g.dilations[1] + pl;
    inner_begin_ = static_cast<size_t>(std::min((pl + s - 1) / s, ow));
    inner_end_ = last < 0 ? inner_begin_
                          : static_cast<size_t>(std::clamp(last / s + 1, static_cast<int64_t>(inner_begin_), ow));
  }

  void run(void* const* ptrs) override {
    const auto* x = static_cast<const uint8_t*>(ptrs[in[0]]);
    void* y = ptrs[out[0]];
    const bool sx = p_.x_type == ir::DType::Int8;
    if (p_.y_type == ir::DType::Int8) {
      sx ? run_typed<true>(x, static_cast<int8_t*>(y)) : run_typed<false>(x, static_cast<int8_t*>(y));
    } else {
      sx ? run_typed<true>(x, static_cast<uint8_t*>(y)) : run_typed<false>(x, static_cast<uint8_t*>(y));
    }
  }
  std::string name() const override { return "hone:qconv_depthwise"; }

 private:
  template <bool SignedX, typename Q>
  void run_typed(const uint8_t* x, Q* y) const {
    parallel_ranges(p_.n * p_.oh, 1, threads_, [&](size_t begin, size_t end) {
      if (guard_) {
        rows<SignedX, true>(x, y, begin, end);
      } else {
        rows<SignedX, false>(x, y, begin, end);
      }
    });
  }

  template <bool SignedX, bool G, typename Q>
  HONE_VNNI void rows(const uint8_t* x, Q* y, size_t begin, size_t end) const {
    const reference::WindowGeometry& g = p_.geometry;
    const size_t C = p_.c;
    const int64_t sx = g.strides[1];
    const uint8_t* row_of_ky[kMaxTaps];  // the input row each ky reads (zp_row_ when padded)
    int64_t col_of_kx[kMaxTaps];         // kx * dilation - pad
    for (size_t kx = 0; kx < p_.kw; ++kx) col_of_kx[kx] = static_cast<int64_t>(kx) * g.dilations[1] - g.pads_begin[1];
    const uint8_t* tap[kMaxTaps + 3];
    for (size_t t = taps_; t < groups_ * 4; ++t) tap[t] = zp_row_.data();  // zero weights
    for (size_t row = begin; row < end; ++row) {
      const size_t n = row / p_.oh, oy = row % p_.oh;
      const uint8_t* image = x + n * p_.h * p_.w * C;
      for (size_t ky = 0; ky < p_.kh; ++ky) {
        const int64_t iy = static_cast<int64_t>(oy) * g.strides[0] - g.pads_begin[0] + static_cast<int64_t>(ky) * g.dilations[0];
        row_of_ky[ky] = iy >= 0 && iy < static_cast<int64_t>(p_.h) ? image + static_cast<size_t>(iy) * p_.w * C : zp_row_.data();
      }
      Q* out = y + row * p_.ow * C;
      const size_t step = static_cast<size_t>(sx) * C;
      for (size_t ox = 0; ox < p_.ow; ++ox, out += C) {
        if (ox > inner_begin_ && ox < inner_end_) {
          for (size_t t = 0; t < taps_; ++t) tap[t] += step;
        } else {
          for (size_t ky = 0; ky < p_.kh; ++ky) {
            for (size_t kx = 0; kx < p_.kw; ++kx) {
              const int64_t ix = static_cast<int64_t>(ox) * sx + col_of_kx[kx];
              tap[ky * p_.kw + kx] = ix >= 0 && ix < static_cast<int64_t>(p_.w)
                                         ? row_of_ky[ky] + static_cast<size_t>(ix) * C
                                         : zp_row_.data();
            }
          }
        }
        for (size_t b = 0; b < blocks_; ++b) block<SignedX, G>(tap, b, out);
        if (half_) half_block<SignedX, G>(tap, out);
      }
    }
  }

  // Channels 64 b .. 64 b + 63 of one output pixel.
  template <bool SignedX, bool G, typename Q>
  HONE_VNNI void block(const uint8_t* const* tap, size_t b, Q* out) const {
    const size_t c0 = 64 * b;
    __m512i acc[4];
    for (int k = 0; k < 4; ++k) acc[k] = _mm512_loadu_si512(bias_.data() + c0 + 16 * static_cast<size_t>(k));
    const int8_t* w = weights_.data() + b * groups_ * 256;
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    for (size_t gi = 0; gi < groups_; ++gi, w += 256) {
      __m512i t[4];
      for (int i = 0; i < 4; ++i) {
        t[i] = _mm512_loadu_si512(tap[4 * gi + static_cast<size_t>(i)] + c0);
        if (SignedX) t[i] = _mm512_xor_si512(t[i], flip);
      }
      const __m512i lo01 = _mm512_unpacklo_epi8(t[0], t[1]), hi01 = _mm512_unpackhi_epi8(t[0], t[1]);
      const __m512i lo23 = _mm512_unpacklo_epi8(t[2], t[3]), hi23 = _mm512_unpackhi_epi8(t[2], t[3]);
      dpbusd(acc[0], _mm512_unpacklo_epi16(lo01, lo23), _mm512_loadu_si512(w));
      dpbusd(acc[1], _mm512_unpackhi_epi16(lo01, lo23), _mm512_loadu_si512(w + 64));
      dpbusd(acc[2], _mm512_unpacklo_epi16(hi01, hi23), _mm512_loadu_si512(w + 128));
      dpbusd(acc[3], _mm512_unpackhi_epi16(hi01, hi23), _mm512_loadu_si512(w + 192));
    }
    __m512i yv[4];
    for (int k = 0; k < 4; ++k) {
      const size_t lane = c0 + 16 * static_cast<size_t>(k);
      yv[k] = requantize16_wide<Q, G>(acc[k], Requant{m_.data() + lane, m_f_.data() + lane, p_.y_zp, range_});
    }
    const __m512i p01 = _mm512_packs_epi32(yv[0], yv[1]), p23 = _mm512_packs_epi32(yv[2], yv[3]);
    const __m512i bytes = std::is_same_v<Q, int8_t> ? _mm512_packs_epi16(p01, p23) : _mm512_packus_epi16(p01, p23);
    const size_t left = p_.c - c0;
    const __mmask64 mask = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
    _mm512_mask_storeu_epi8(out + c0, mask, bytes);
  }

  // The last 32 (or fewer) channels, the same way in 256-bit vectors; for requantization two
  // of them (vectors k and k + 1, 8 lanes each) make one 16-lane vector.
  template <bool SignedX, bool G, typename Q>
  HONE_VNNI void half_block(const uint8_t* const* tap, Q* out) const {
    const size_t c0 = 64 * blocks_;
    __m256i acc[4];
    for (int k = 0; k < 4; ++k) {
      acc[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias_.data() + c0 + 8 * static_cast<size_t>(k)));
    }
    const int8_t* w = weights_.data() + c0 * groups_ * 4;
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (size_t gi = 0; gi < groups_; ++gi, w += 128) {
      __m256i t[4];
      for (int i = 0; i < 4; ++i) {
        t[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tap[4 * gi + static_cast<size_t>(i)] + c0));
        if (SignedX) t[i] = _mm256_xor_si256(t[i], flip);
      }
      const __m256i lo01 = _mm256_unpacklo_epi8(t[0], t[1]), hi01 = _mm256_unpackhi_epi8(t[0], t[1]);
      const __m256i lo23 = _mm256_unpacklo_epi8(t[2], t[3]), hi23 = _mm256_unpackhi_epi8(t[2], t[3]);
      dpbusd256(acc[0], _mm256_unpacklo_epi16(lo01, lo23), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)));
      dpbusd256(acc[1], _mm256_unpackhi_epi16(lo01, lo23), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32)));
      dpbusd256(acc[2], _mm256_unpacklo_epi16(hi01, hi23), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 64)));
      dpbusd256(acc[3], _mm256_unpackhi_epi16(hi01, hi23), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 96)));
    }
    const __m512i y01 = requantize16_wide<Q, G>(_mm512_inserti64x4(_mm512_castsi256_si512(acc[0]), acc[1], 1),
                                                Requant{m_.data() + c0, m_f_.data() + c0, p_.y_zp, range_});
    const __m512i y23 = requantize16_wide<Q, G>(_mm512_inserti64x4(_mm512_castsi256_si512(acc[2]), acc[3], 1),
                                                Requant{m_.data() + c0 + 16, m_f_.data() + c0 + 16, p_.y_zp, range_});
    const __m256i p01 = _mm256_packs_epi32(_mm512_castsi512_si256(y01), _mm512_extracti64x4_epi64(y01, 1));
    const __m256i p23 = _mm256_packs_epi32(_mm512_castsi512_si256(y23), _mm512_extracti64x4_epi64(y23, 1));
    const __m256i bytes = std::is_same_v<Q, int8_t> ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
    _mm256_mask_storeu_epi8(out + c0, static_cast<__mmask32>((uint64_t{1} << (p_.c - c0)) - 1), bytes);
  }

  QConvParams p_;
  quant::QRange range_;                     // of the output type
  size_t taps_, groups_;                    // kh * kw, and in fours
  size_t blocks_ = 0;                       // 64-channel blocks
  bool half_ = false;                       // then a block of the last <= 32 channels
  size_t inner_begin_ = 0, inner_end_ = 0;  // output columns with the whole window inside
  bool guard_ = false;
  std::vector<int32_t> bias_;  // B' in the blocks' lane order
  std::vector<double> m_;
  std::vector<float> m_f_;
  std::vector<int8_t> weights_;  // [block][tap group][vector k][16 lanes][4 taps]
  std::vector<uint8_t> zp_row_;
  int threads_;
};

}  // namespace

std::unique_ptr<Kernel> make_vnni_qconv_kernel(const NodeDesc& d, const Context& c) {
  if (!vnni_enabled()) return nullptr;
  const std::optional<QConvParams> params = qlinear_conv_params(d);
  if (!params) return nullptr;
  const QConvParams& p = *params;
  const reference::WindowGeometry& g = p.geometry;
  // requantize16_fast's range: M < 2 (real models have M far below 1).
  if (std::any_of(p.multipliers.begin(), p.multipliers.end(), [](float m) { return !(m < 2.0f); })) return nullptr;
  std::unique_ptr<Kernel> k;
  const bool unit = g.strides[0] == 1 && g.strides[1] == 1 && g.pads_begin[0] == 0 && g.pads_begin[1] == 0 &&
                    g.pads_end[0] == 0 && g.pads_end[1] == 0;
  if (p.groups == 1 && p.kh == 1 && p.kw == 1 && unit && p.x_type == ir::DType::UInt8) {
    k = std::make_unique<PointwiseKernel>(p, c.threads);
  } else if (p.groups == p.c && p.m == p.c && p.cg == 1 && p.kh * p.kw <= kMaxTaps) {
    k = std::make_unique<DepthwiseKernel>(p, c.threads);
  } else {
    return nullptr;
  }
  k->input_layouts.assign(d.inputs.size(), Layout::Nchw);
  k->input_layouts[0] = Layout::Nhwc;
  k->output_layouts = {Layout::Nhwc};
  return k;
}

}  // namespace hone::runtime::cpu
