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
// and the activation clamps after the last block. Whether it beats the dense XNNPACK kernel
// depends on the fraction of zeros, so it is chosen above kMinSparsity (docs/performance.md
// has the measurements behind the threshold).
//
// N:M sparsity (at most 2 nonzeros in every 4 consecutive input channels at each kernel tap,
// what `prune_n_m` 2:4 leaves) has its own kernel, "sparse:conv_2of4". The CSR kernel loads an
// X row from memory for every nonzero, so it is load-bound (on this machine at about half the
// dense kernel's FMA rate: the same time at 50 % zeros). The 2:4 kernel keeps the 4 X rows of
// one group (4 channels at one tap, 4 vectors of the tile each: 16 registers) in registers and
// streams the output channels past them: an output channel's two weights of the group pick two
// of the four rows, and its (row pair) is one of six, so prepare sorts the channels of every
// group by pair and each pair has its own loop with the rows fixed at compile time:
//   acc[m][tile] += w_a * X[a][tile] + w_b * X[b][tile]     for every m whose pair is (a, b)
// Only FMAs with register operands remain besides the acc row's load and store (acc rows of 64
// channels at a time stay in L1). A group with one nonzero pads its pair with a zero weight; an
// all-zero group costs nothing. Measured (docs/performance.md): about 55 % of the FMA peak in
// useful work, so at 50 % zeros it is only at parity with the dense kernel to 3 % faster.
#include "runtime/cpu/conv_params.h"

#include <pthreadpool.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

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

// HONE_SPARSE_NM=0 sends 2:4 layers to the dense (or, above kMinSparsity, the CSR) kernel; read
// once per process.
const bool kNmEnabled = [] {
  const char* e = std::getenv("HONE_SPARSE_NM");
  return !(e && std::string_view(e) == "0");
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

float* aligned(float* p) {
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(p) + 63) & ~static_cast<uintptr_t>(63));
}

// X[k - k0][0..len) for rows k0 <= k < k1 and output pixels p0.. of one image (Nchw); the
// rest of each row is zero.
void gather(const ConvParams& p, const float* in, size_t p0, size_t len, size_t k0, size_t k1, float* x) {
  const auto& g = p.geometry;
  const auto sh = static_cast<int64_t>(g.strides[0]), sw = static_cast<int64_t>(g.strides[1]);
  const auto dh = static_cast<int64_t>(g.dilations[0]), dw = static_cast<int64_t>(g.dilations[1]);
  const auto pt = g.pads_begin[0], pl = g.pads_begin[1];
  const auto H = static_cast<int64_t>(p.h), W = static_cast<int64_t>(p.w);
  size_t c = k0 / (p.kh * p.kw), i = k0 / p.kw % p.kh, j = k0 % p.kw;  // k0's (channel, tap)
  for (size_t k = k0; k < k1; ++k) {
    const float* plane = in + c * p.h * p.w;
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
    if (++j == p.kw) {
      j = 0;
      if (++i == p.kh) i = 0, ++c;
    }
  }
}

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

// ---- N:M (2 of every 4 input channels) ----

constexpr size_t kNmGroup = 4;          // input channels per group
constexpr size_t kNmChannels = 64;      // output channels per chunk: their acc rows (16 KB) stay in L1
constexpr size_t kNmBlockRows = 1024;   // reduction rows gathered at once (256 KB, in L2)
// The six row pairs (a < b) a group's two nonzeros can take, in the order of the loops.
constexpr size_t kPairs[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};

// One output channel of one group: its acc row (offset in floats) and the weights of rows a, b.
struct NmRecord {
  uint32_t acc;
  float wa, wb;
};

// Every group of a range of output channels over one gathered block: `units` groups in the
// block's order (channel group outer, tap inner), each with six record lists (off[6u + pair] ..
// off[6u + pair + 1]). X rows of group g, tap t, channel a: x + ((4g + a) * taps + t) * kTile.
__attribute__((target_clones("avx512f", "avx2", "default"))) void nm_block(
    const float* __restrict x, size_t channel_groups, size_t taps, const uint32_t* __restrict off,
    const NmRecord* __restrict rec, float* __restrict acc) {
  for (size_t g = 0; g < channel_groups; ++g) {
    for (size_t t = 0; t < taps; ++t, off += 6) {
      v16 r[4][4];
      for (size_t a = 0; a < 4; ++a) {
        std::memcpy(r[a], x + ((kNmGroup * g + a) * taps + t) * kTile, sizeof r[a]);
      }
// Two FMAs per vector (acc + w_a * X_a, then + w_b * X_b); the sum of the two products first
// would cost a multiply, an FMA and an add.
#define HONE_NM_PAIR(P, A, B)                                                        \
  for (const NmRecord* e = rec + off[P], *end = rec + off[(P) + 1]; e != end; ++e) {   \
    v16* y = reinterpret_cast<v16*>(acc + e->acc);                                   \
    const float wa = e->wa, wb = e->wb;                                              \
    for (int q = 0; q < 4; ++q) {                                                    \
      v16 v = y[q];                                                                  \
      v += wa * r[A][q];                                                             \
      v += wb * r[B][q];                                                             \
      y[q] = v;                                                                      \
    }                                                                                \
  }
      HONE_NM_PAIR(0, 0, 1)
      HONE_NM_PAIR(1, 0, 2)
      HONE_NM_PAIR(2, 0, 3)
      HONE_NM_PAIR(3, 1, 2)
      HONE_NM_PAIR(4, 1, 3)
      HONE_NM_PAIR(5, 2, 3)
#undef HONE_NM_PAIR
    }
  }
}

// True when every group of 4 consecutive input channels at each (output channel, tap) has at
// most 2 nonzero weights.
bool is_two_of_four(const ConvParams& p) {
  if (p.groups != 1 || p.cg % kNmGroup != 0) return false;
  const size_t taps = p.kh * p.kw;
  for (size_t m = 0; m < p.m; ++m) {
    for (size_t g = 0; g < p.cg / kNmGroup; ++g) {
      for (size_t t = 0; t < taps; ++t) {
        int nonzero = 0;
        for (size_t a = 0; a < kNmGroup; ++a) nonzero += p.weights[(m * p.cg + kNmGroup * g + a) * taps + t] != 0.0f;
        if (nonzero > 2) return false;
      }
    }
  }
  return true;
}

class NmConvKernel final : public Kernel {
 public:
  NmConvKernel(ConvParams p, Activation act, pthreadpool_t pool) : p_(std::move(p)), act_(act), pool_(pool) {
    const size_t taps = p_.kh * p_.kw, groups = p_.cg / kNmGroup;
    block_groups_ = std::max<size_t>(1, kNmBlockRows / (kNmGroup * taps));
    blocks_ = (groups + block_groups_ - 1) / block_groups_;
    chunks_ = (p_.m + kNmChannels - 1) / kNmChannels;
    // Records per (block, channel chunk, group, tap, pair), in the order nm_block reads them.
    std::vector<NmRecord> pair[6];
    for (size_t b = 0; b < blocks_; ++b) {
      for (size_t ch = 0; ch < chunks_; ++ch) {
        unit_start_.push_back(off_.size());
        for (size_t g = b * block_groups_; g < std::min(groups, (b + 1) * block_groups_); ++g) {
          for (size_t t = 0; t < taps; ++t) {
            for (size_t m = ch * kNmChannels; m < std::min(p_.m, (ch + 1) * kNmChannels); ++m) {
              size_t nz[2], count = 0;
              for (size_t a = 0; a < kNmGroup; ++a) {
                if (weight(m, kNmGroup * g + a, t) != 0.0f) nz[count++] = a;
              }
              if (count == 0) continue;
              if (count == 1) {  // pad the pair with a zero weight on a neighbouring row
                nz[1] = nz[0] == 3 ? 2 : nz[0] + 1;
                if (nz[1] < nz[0]) std::swap(nz[0], nz[1]);
              }
              const size_t k = static_cast<size_t>(std::find_if(std::begin(kPairs), std::end(kPairs), [&](const auto& q) {
                                                     return q[0] == nz[0] && q[1] == nz[1];
                                                   }) - std::begin(kPairs));
              pair[k].push_back({static_cast<uint32_t>(m * kTile), weight(m, kNmGroup * g + nz[0], t),
                                 weight(m, kNmGroup * g + nz[1], t)});
            }
            for (auto& q : pair) {
              off_.push_back(static_cast<uint32_t>(records_.size()));
              records_.insert(records_.end(), q.begin(), q.end());
              q.clear();
            }
          }
        }
      }
    }
    off_.push_back(static_cast<uint32_t>(records_.size()));
    p_.weights.clear();
    p_.weights.shrink_to_fit();
    threads_ = pool_ ? pthreadpool_get_threads_count(pool_) : 1;
    tiles_ = (p_.oh * p_.ow + kTile - 1) / kTile;
    // Fewer tiles than threads (a small output): the channel chunks are split between threads too.
    parts_ = std::min(chunks_, std::max<size_t>(1, threads_ / std::max<size_t>(1, p_.n * tiles_)));
    const size_t rows = std::min(groups, block_groups_) * kNmGroup * taps;
    x_.resize(threads_);
    acc_.resize(threads_);
    for (size_t t = 0; t < threads_; ++t) {
      x_[t].assign(rows * kTile + 16, 0.0f);
      acc_[t].assign(p_.m * kTile + 16, 0.0f);
    }
  }

  void run(void* const* ptrs) override {
    in_ = static_cast<const float*>(ptrs[in[0]]);
    out_ = static_cast<float*>(ptrs[out[0]]);
    if (threads_ > 1) {
      pthreadpool_parallelize_1d(pool_, &NmConvKernel::task, this, threads_, 0);
    } else {
      work(0);
    }
  }
  std::string name() const override { return "sparse:conv_2of4"; }

 private:
  float weight(size_t m, size_t c, size_t t) const { return p_.weights[(m * p_.cg + c) * p_.kh * p_.kw + t]; }
  static void task(void* self, size_t t) { static_cast<NmConvKernel*>(self)->work(t); }

  // Thread t takes an equal share of (image, tile, part of the channel chunks).
  void work(size_t t) {
    const size_t total = p_.n * tiles_ * parts_;
    const size_t begin = total * t / threads_, end = total * (t + 1) / threads_;
    const size_t taps = p_.kh * p_.kw, groups = p_.cg / kNmGroup, k_count = p_.cg * taps, pixels = p_.oh * p_.ow;
    float* x = aligned(x_[t].data());
    float* acc = aligned(acc_[t].data());
    for (size_t i = begin; i < end; ++i) {
      const size_t part = i % parts_, tile = i / parts_ % tiles_, n = i / parts_ / tiles_;
      const size_t p0 = tile * kTile, len = std::min(kTile, pixels - p0);
      const size_t ch0 = chunks_ * part / parts_, ch1 = chunks_ * (part + 1) / parts_;
      const size_t m0 = ch0 * kNmChannels, m1 = std::min(p_.m, ch1 * kNmChannels);
      for (size_t m = m0; m < m1; ++m) std::fill(acc + m * kTile, acc + (m + 1) * kTile, p_.bias[m]);
      for (size_t b = 0; b < blocks_; ++b) {
        const size_t g0 = b * block_groups_, g1 = std::min(groups, g0 + block_groups_);
        gather(p_, in_ + n * p_.c * p_.h * p_.w, p0, len, g0 * kNmGroup * taps, std::min(k_count, g1 * kNmGroup * taps), x);
        for (size_t ch = ch0; ch < ch1; ++ch) {
          nm_block(x, g1 - g0, taps, off_.data() + unit_start_[b * chunks_ + ch], records_.data(), acc);
        }
      }
      float* y = out_ + n * p_.m * pixels + p0;
      for (size_t m = m0; m < m1; ++m) {
        const float* a = acc + m * kTile;
        for (size_t q = 0; q < len; ++q) y[m * pixels + q] = std::clamp(a[q], act_.min, act_.max);
      }
    }
  }

  ConvParams p_;
  Activation act_;
  pthreadpool_t pool_;
  size_t block_groups_ = 0, blocks_ = 0, chunks_ = 0;
  std::vector<size_t> unit_start_;  // per (block, channel chunk): its first entry of off_
  std::vector<uint32_t> off_;       // per (block, chunk, group, tap, pair): first record
  std::vector<NmRecord> records_;
  size_t threads_ = 1, tiles_ = 0, parts_ = 1;
  std::vector<std::vector<float>> x_, acc_;  // per thread: gathered block, acc rows [M][kTile]
  const float* in_ = nullptr;
  float* out_ = nullptr;
};

}  // namespace

std::unique_ptr<Kernel> make_sparse_conv_kernel(const NodeDesc& d, const Context& c) {
  auto p = float_conv_params(d, c);
  if (!p || p->groups != 1 || p->weights.empty()) return nullptr;
  const double sparsity = static_cast<double>(p->zeros) / static_cast<double>(p->weights.size());
  const bool two_of_four = sparsity >= 0.5 && kNmEnabled && is_two_of_four(*p);
  if (sparsity < kMinSparsity && !two_of_four) return nullptr;
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

  std::unique_ptr<Kernel> k;
  if (two_of_four) {
    k = std::make_unique<NmConvKernel>(std::move(*p), d.activation, c.threadpool);
  } else {
    k = std::make_unique<SparseConvKernel>(std::move(*p), d.activation, c.threadpool);
  }
  k->input_layouts.assign(d.inputs.size(), Layout::Nchw);
  k->output_layouts = {Layout::Nchw};
  return k;
}

}  // namespace hone::runtime::cpu
