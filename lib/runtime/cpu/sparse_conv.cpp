// Sparse convolution (float32, group 1) for weights that pruning left mostly zero: the nonzero
// weights of each output channel are kept in CSR form and only they are multiplied, so the work
// falls with the sparsity (seed 004's sparse GEMM: Y[M][P] = W[M][K] (sparse) x X[K][P]).
//
// Layout: reads and writes Nchw, because the vectors run along output pixels. For a tile of
// kTile consecutive output pixels and a block of reduction rows (k = (c, i, j): input channel
// and kernel tap), X[k][pixel] is gathered into a buffer that stays in cache (rows
// of the input, shifted by the tap, are contiguous for stride 1); then every output channel adds
// its nonzeros in that block:
//   y[m][tile] (= b[m] before the first block) += sum_{(k, w) in row m, k in block} w * X[k][tile]
// and the activation clamps after the last block.
// Unstructured and N:M sparsity take the same kernel; whether it beats the dense XNNPACK kernel
// depends on the fraction of zeros, so it is chosen above kMinSparsity (docs/performance.md
// has the measurements behind the threshold).
#include "runtime/cpu/conv_params.h"

#include <pthreadpool.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace hone::runtime::cpu {

namespace {

constexpr size_t kTile = 64;   // output pixels per tile: four AVX-512 vectors
// Reduction rows per block: the gathered X block is kBlockRows x kTile floats (48 KB), near L1.
// ResNet-18 at 80 % zeros (its 16 sparse layers have 576 to 4608 rows): blocks of 128 rows
// 20.5 ms, 160: 20.1, 192: 19.6-19.9, 256: 20.0-20.8, 320: 20.7, 512: 22.0; one block up to
// 1024 rows (X in L2) and 512-row blocks beyond: 22.0-22.4.
constexpr size_t kBlockRows = 192;

// The smallest fraction of zero weights for which the sparse kernel is chosen.
const double kMinSparsity = [] {
  const char* e = std::getenv("HONE_SPARSE_MIN");
  return e ? std::atof(e) : 0.7;
}();

// The smallest layer the sparse kernel takes: reduction length (C * kh * kw), input channels,
// MACs per image.
constexpr size_t kSparseMinRows = 128, kSparseMinChannels = 16, kSparseMinMacs = 8'000'000;

using v16 = float __attribute__((vector_size(64)));

// One block of one tile: acc rows y[m][0..len) += the block's nonzeros of row m times X rows
// (kTile floats each); the first block starts from the bias, the last one clamps. `vectors`
// (1..4) is how many 16-pixel vectors of the tile are in use.
template <int kVectors>
__attribute__((target_clones("avx512f", "avx2", "default"))) void spmm_block(
    const float* __restrict x, const uint32_t* __restrict row_start, const uint16_t* __restrict col,
    const float* __restrict val, const float* __restrict bias, size_t m_count, bool first, bool last, float lo,
    float hi, float* y, size_t y_stride, size_t len) {
  for (size_t m = 0; m < m_count; ++m) {
    float* out = y + m * y_stride;
    v16 a[kVectors];
    if (first) {
      for (auto& v : a) v = v16{} + bias[m];
    } else if (len == kVectors * 16) {
      std::memcpy(a, out, sizeof a);
    } else {
      alignas(64) float t[kVectors * 16] = {};
      std::memcpy(t, out, len * sizeof(float));
      std::memcpy(a, t, sizeof a);
    }
    for (uint32_t e = row_start[m]; e < row_start[m + 1]; ++e) {
      const float w = val[e];
      const v16* r = reinterpret_cast<const v16*>(x + static_cast<size_t>(col[e]) * kTile);
      for (int q = 0; q < kVectors; ++q) a[q] += w * r[q];
    }
    if (last) {
      for (auto& v : a) {
        v = v < lo ? v16{} + lo : v;
        v = v > hi ? v16{} + hi : v;
      }
    }
    if (len == kVectors * 16) {
      std::memcpy(out, a, sizeof a);
    } else {
      std::memcpy(out, a, len * sizeof(float));
    }
  }
}

using SpmmBlock = void (*)(const float*, const uint32_t*, const uint16_t*, const float*, const float*, size_t, bool,
                           bool, float, float, float*, size_t, size_t);
constexpr SpmmBlock kSpmm[] = {&spmm_block<1>, &spmm_block<2>, &spmm_block<3>, &spmm_block<4>};

class SparseConvKernel final : public Kernel {
 public:
  SparseConvKernel(ConvParams p, Activation act, pthreadpool_t pool) : p_(std::move(p)), act_(act), pool_(pool) {
    const size_t k_count = p_.cg * p_.kh * p_.kw;
    rows_ = std::min(k_count, kBlockRows);
    blocks_ = (k_count + rows_ - 1) / rows_;
    // CSR per (block, output channel); columns relative to the block's first row.
    for (size_t b = 0; b < blocks_; ++b) {
      for (size_t m = 0; m < p_.m; ++m) {
        row_start_.push_back(static_cast<uint32_t>(col_.size()));
        for (size_t k = b * rows_; k < std::min(k_count, (b + 1) * rows_); ++k) {
          const float w = p_.weights[m * k_count + k];
          if (w != 0.0f) {
            col_.push_back(static_cast<uint16_t>(k - b * rows_));
            val_.push_back(w);
          }
        }
      }
      row_start_.push_back(static_cast<uint32_t>(col_.size()));
    }
    p_.weights.clear();
    p_.weights.shrink_to_fit();
    threads_ = pool_ ? pthreadpool_get_threads_count(pool_) : 1;
    tiles_ = (p_.oh * p_.ow + kTile - 1) / kTile;
    // One gather buffer per thread, 64-byte aligned rows.
    const size_t floats = rows_ * kTile;
    buffers_.resize(threads_);
    for (auto& b : buffers_) b.assign(floats + 16, 0.0f);
  }

  void run(void* const* ptrs) override {
    in_ = static_cast<const float*>(ptrs[in[0]]);
    out_ = static_cast<float*>(ptrs[out[0]]);
    if (threads_ > 1) {
      pthreadpool_parallelize_1d(pool_, &SparseConvKernel::task, this, threads_, 0);
    } else {
      work(0);
    }
  }
  std::string name() const override { return "sparse:conv"; }

 private:
  static void task(void* self, size_t t) { static_cast<SparseConvKernel*>(self)->work(t); }

  // Thread t takes an equal share of (image, tile) pairs.
  void work(size_t t) {
    const size_t total = p_.n * tiles_;
    const size_t begin = total * t / threads_, end = total * (t + 1) / threads_;
    float* x = aligned(buffers_[t].data());
    for (size_t i = begin; i < end; ++i) {
      const size_t n = i / tiles_, p0 = (i % tiles_) * kTile;
      const size_t len = std::min(kTile, p_.oh * p_.ow - p0);
      const size_t k_count = p_.cg * p_.kh * p_.kw;
      const SpmmBlock spmm = kSpmm[(len + 15) / 16 - 1];
      for (size_t b = 0; b < blocks_; ++b) {
        gather(p_, in_ + n * p_.c * p_.h * p_.w, p0, len, b * rows_, std::min(k_count, (b + 1) * rows_), x);
        spmm(x, row_start_.data() + b * (p_.m + 1), col_.data(), val_.data(), p_.bias.data(), p_.m, b == 0,
             b + 1 == blocks_, act_.min, act_.max, out_ + n * p_.m * p_.oh * p_.ow + p0, p_.oh * p_.ow, len);
      }
    }
  }

  static float* aligned(float* p) {
    return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) & ~static_cast<uintptr_t>(63));
  }

  // X[k - k0][0..len) for rows k0 <= k < k1 and output pixels p0.. of one image (Nchw); the
  // rest of each row is zero.
  static void gather(const ConvParams& p, const float* in, size_t p0, size_t len, size_t k0, size_t k1, float* x) {
    const auto& g = p.geometry;
    const auto sh = static_cast<int64_t>(g.strides[0]), sw = static_cast<int64_t>(g.strides[1]);
    const auto dh = static_cast<int64_t>(g.dilations[0]), dw = static_cast<int64_t>(g.dilations[1]);
    const auto pt = g.pads_begin[0], pl = g.pads_begin[1];
    const auto H = static_cast<int64_t>(p.h), W = static_cast<int64_t>(p.w);
    size_t c = k0 / (p.kh * p.kw), i = k0 / p.kw % p.kh, j = k0 % p.kw;  // k0's (channel, tap)
    for (size_t k = k0; k < k1; ++k) {
      const float* plane = in + c * p.h * p.w;
      {
        {
          float* row = x + (k - k0) * kTile;
          size_t done = 0;
          while (done < len) {  // one output row at a time
            const size_t pix = p0 + done;
            const auto oh = static_cast<int64_t>(pix / p.ow);
            const size_t ow0 = pix % p.ow;
            const size_t n = std::min(len - done, p.ow - ow0);
            const int64_t ih = oh * sh + static_cast<int64_t>(i) * dh - pt;
            float* dst = row + done;
            if (ih < 0 || ih >= H) {
              std::fill(dst, dst + n, 0.0f);
            } else {
              const float* src = plane + ih * W;
              const int64_t iw0 = static_cast<int64_t>(ow0) * sw + static_cast<int64_t>(j) * dw - pl;
              if (sw == 1) {
                // Columns iw0 .. iw0 + n - 1: zeros outside [0, W), a copy inside.
                const int64_t a = std::clamp<int64_t>(-iw0, 0, static_cast<int64_t>(n));
                const int64_t b = std::clamp<int64_t>(W - iw0, a, static_cast<int64_t>(n));
                std::fill(dst, dst + a, 0.0f);
                std::memcpy(dst + a, src + iw0 + a, static_cast<size_t>(b - a) * sizeof(float));
                std::fill(dst + b, dst + n, 0.0f);
              } else {
                for (size_t q = 0; q < n; ++q) {
                  const int64_t iw = iw0 + static_cast<int64_t>(q) * sw;
                  dst[q] = iw >= 0 && iw < W ? src[iw] : 0.0f;
                }
              }
            }
            done += n;
          }
          std::fill(row + len, row + kTile, 0.0f);
        }
      }
      if (++j == p.kw) {
        j = 0;
        if (++i == p.kh) i = 0, ++c;
      }
    }
  }

  ConvParams p_;
  Activation act_;
  pthreadpool_t pool_;
  size_t rows_ = 0, blocks_ = 0;
  std::vector<uint32_t> row_start_;  // per block: m_count + 1 offsets into col_ / val_
  std::vector<uint16_t> col_;
  std::vector<float> val_;
  size_t threads_ = 1, tiles_ = 0;
  std::vector<std::vector<float>> buffers_;
  const float* in_ = nullptr;
  float* out_ = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> make_sparse_conv_kernel(const NodeDesc& d, const Context& c) {
  auto p = float_conv_params(d, c);
  if (!p || p->groups != 1 || p->weights.empty()) return nullptr;
  const double sparsity = static_cast<double>(p->zeros) / static_cast<double>(p->weights.size());
  if (sparsity < kMinSparsity) return nullptr;
  // 1x1 convolutions, short reductions, few input channels and small layers lose to the dense
  // kernel even at 80 % zeros: the gather, the partly filled pixel tiles and the layout
  // conversions around an Nchw kernel in an Nhwc network cost more than the skipped
  // multiplications (with every sparse layer taken, MobileNetV2 at 80 %: 8.8 ms against 7.2
  // dense; fmnist_cnn 0.134 against 0.110; ResNet-18's 3-channel 7x7 stem costs 0.46 ms more
  // sparse than dense once its output's conversion is counted).
  const size_t rows = p->cg * p->kh * p->kw;
  if (p->kh * p->kw < 2 || p->cg < kSparseMinChannels || rows < kSparseMinRows ||
      p->m * rows * p->oh * p->ow < kSparseMinMacs) {
    return nullptr;
  }

  auto k = std::make_unique<SparseConvKernel>(std::move(*p), d.activation, c.threadpool);
  k->input_layouts.assign(d.inputs.size(), Layout::Nchw);
  k->output_layouts = {Layout::Nchw};
  return k;
}

}  // namespace hone::runtime::cpu
