// QLinearConv on oneDNN (Debian libdnnl-dev): the int8 convolution of the cpu runtime, which the
// QDQ rewrite (passes/qdq_fusion.h) also feeds with every quantized Conv, Gemm and MatMul.
//
// oneDNN computes the int32 accumulator acc = conv(x - x_zp, w) + B with its VNNI kernels
// (x_zp as a source zero point, so padded taps read x_zp, as QLinearConv defines); hone then
// requantizes it itself, y = saturate(round_half_even(acc * M[m]) + y_zp), because no library's
// output stage rounds the exact product acc * M the way the reference does (quantized_common.h).
// The product is exact in double while |acc| < 2^29 (M has a 24-bit significand); a block
// with a larger accumulator takes the reference's int64 path.
//
// Weights are reordered once, at prepare, into the layout oneDNN's primitive chose. oneDNN's
// execute allocates a few small bookkeeping objects per call (measured: 7 to 8 operator new
// calls), so describe() lists these steps as allocating.
#include "runtime/cpu/kernel.h"

#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/quantized_common.h"
#include "support/error.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <immintrin.h>

namespace hone::runtime::cpu {

namespace {

namespace quant = reference::quant;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The constant per-tensor or per-channel values of input `i`, or nullopt.
template <typename T>
std::optional<std::vector<T>> constant_values(const NodeDesc& d, size_t i, int64_t n) {
  if (d.inputs.size() <= i || d.inputs[i].id < 0) return std::vector<T>{};
  const ir::Tensor* t = d.inputs[i].constant;
  if (!t || ir::dtype_size(t->dtype()) != sizeof(T) || !(t->numel() == 1 || t->numel() == n)) return std::nullopt;
  return std::vector<T>(t->data<T>(), t->data<T>() + t->numel());
}

int32_t zero_point(const NodeDesc& d, size_t i) {
  if (d.inputs.size() <= i || d.inputs[i].id < 0) return 0;
  const ir::Tensor& t = *d.inputs[i].constant;
  return t.dtype() == ir::DType::Int8 ? t.data<int8_t>()[0] : t.data<uint8_t>()[0];
}

// y = saturate(round_half_even(acc * M[c]) + zp) over [pixels][channels] int32. The product
// is exact in double while |acc| < 2^29 (M has a 24-bit significand); a pixel with a larger
// accumulator takes the reference's int64 path.
template <typename Q>
void requantize_portable(const int32_t* acc, Q* y, size_t pixels, size_t channels, const double* multiplier,
                         const float* multiplier_f, int32_t zp, quant::QRange r) {
  const double lo = r.lo - zp, hi = r.hi - zp;
  for (size_t p = 0; p < pixels; ++p, acc += channels, y += channels) {
    for (size_t c = 0; c < channels; ++c) {
      if (acc[c] >= (1 << 29) || acc[c] <= -(1 << 29)) {
        y[c] = static_cast<Q>(quant::requantize(acc[c], multiplier_f[c], zp, r));
        continue;
      }
      // nearbyint rounds half to even in the default rounding mode, which hone never changes.
      const double v = std::clamp(std::nearbyint(static_cast<double>(acc[c]) * multiplier[c]), lo, hi);
      y[c] = static_cast<Q>(static_cast<int32_t>(v) + zp);
    }
  }
}

// GCC 12 reports the intrinsics' deliberately undefined pass-through operands as uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// The same with AVX-512: 16 channels per step, rounding by vrndscalepd (half to even, whatever
// the rounding mode), saturating narrow to 8 bits.
template <typename Q>
__attribute__((target("avx512f"))) void requantize_avx512(const int32_t* acc, Q* y, size_t pixels, size_t channels,
                                                          const double* multiplier, const float* multiplier_f,
                                                          int32_t zp, quant::QRange r) {
  const __m512d lo = _mm512_set1_pd(r.lo - zp), hi = _mm512_set1_pd(r.hi - zp);
  const __m512i zpv = _mm512_set1_epi32(zp);
  const __m512i limit = _mm512_set1_epi32(1 << 29);
  const size_t full = channels / 16 * 16;
  for (size_t p = 0; p < pixels; ++p, acc += channels, y += channels) {
    size_t c = 0;
    for (; c < full; c += 16) {
      const __m512i a = _mm512_loadu_si512(acc + c);
      if (_mm512_cmpge_epu32_mask(_mm512_abs_epi32(a), limit)) {
        for (size_t k = c; k < c + 16; ++k) y[k] = static_cast<Q>(quant::requantize(acc[k], multiplier_f[k], zp, r));
        continue;
      }
      __m512d v0 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(a)), _mm512_loadu_pd(multiplier + c));
      __m512d v1 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(a, 1)), _mm512_loadu_pd(multiplier + c + 8));
      v0 = _mm512_min_pd(_mm512_max_pd(_mm512_roundscale_pd(v0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), lo), hi);
      v1 = _mm512_min_pd(_mm512_max_pd(_mm512_roundscale_pd(v1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), lo), hi);
      const __m512i q = _mm512_add_epi32(
          _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtpd_epi32(v0)), _mm512_cvtpd_epi32(v1), 1), zpv);
      if constexpr (std::is_same_v<Q, int8_t>) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + c), _mm512_cvtsepi32_epi8(q));
      } else {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + c), _mm512_cvtusepi32_epi8(q));
      }
    }
    if (c < channels) requantize_portable(acc + c, y + c, 1, channels - c, multiplier + c, multiplier_f + c, zp, r);
  }
}

#pragma GCC diagnostic pop

template <typename Q>
void requantize(const int32_t* acc, Q* y, size_t pixels, size_t channels, const double* multiplier,
                const float* multiplier_f, int32_t zp, quant::QRange r) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) {
    requantize_avx512(acc, y, pixels, channels, multiplier, multiplier_f, zp, r);
  } else {
    requantize_portable(acc, y, pixels, channels, multiplier, multiplier_f, zp, r);
  }
}

class QConvKernel final : public Kernel {
 public:
  QConvKernel(dnnl::convolution_forward prim, dnnl::memory weights, dnnl::memory bias, dnnl::memory::desc src_md,
              dnnl::memory::desc dst_md, dnnl::memory::desc scratch_md, std::vector<float> multipliers, int32_t y_zp,
              ir::DType y_type, size_t pixels, size_t channels, int threads)
      : prim_(std::move(prim)),
        weights_(std::move(weights)),
        bias_(std::move(bias)),
        stream_(cpu_engine()),
        acc_(dst_md.get_size() / sizeof(int32_t)),
        scratch_(scratch_md.get_size()),
        multipliers_f_(std::move(multipliers)),
        y_zp_(y_zp),
        y_type_(y_type),
        pixels_(pixels),
        channels_(channels),
        threads_(threads) {
    for (float m : multipliers_f_) multipliers_.push_back(static_cast<double>(m));
    src_ = dnnl::memory(src_md, cpu_engine(), DNNL_MEMORY_NONE);
    dst_ = dnnl::memory(dst_md, cpu_engine(), acc_.data());
    scratch_mem_ = dnnl::memory(scratch_md, cpu_engine(), scratch_.data());
    args_ = {{DNNL_ARG_SRC, src_.get()}, {DNNL_ARG_WEIGHTS, weights_.get()}, {DNNL_ARG_DST, dst_.get()},
             {DNNL_ARG_SCRATCHPAD, scratch_mem_.get()}};
    if (bias_) args_.push_back({DNNL_ARG_BIAS, bias_.get()});
  }

  void run(void* const* ptrs) override {
    if (threads_ > 0) omp_set_num_threads(threads_);
    dnnl_memory_set_data_handle_v2(src_.get(), ptrs[in[0]], nullptr);
    const dnnl_status_t s =
        dnnl_primitive_execute(prim_.get(), stream_.get(), static_cast<int>(args_.size()), args_.data());
    if (s != dnnl_success) throw internal_error("oneDNN int8 convolution failed (status {})", static_cast<int>(s));
    dnnl_stream_wait(stream_.get());
    const quant::QRange r = quant::qrange(y_type_);
    if (y_type_ == ir::DType::Int8) {
      requantize(acc_.data(), static_cast<int8_t*>(ptrs[out[0]]), pixels_, channels_, multipliers_.data(),
                 multipliers_f_.data(), y_zp_, r);
    } else {
      requantize(acc_.data(), static_cast<uint8_t*>(ptrs[out[0]]), pixels_, channels_, multipliers_.data(),
                 multipliers_f_.data(), y_zp_, r);
    }
  }
  std::string name() const override { return "onednn:qconv"; }
  bool allocates() const override { return true; }

 private:
  dnnl::convolution_forward prim_;
  dnnl::memory weights_, bias_, src_, dst_, scratch_mem_;
  dnnl::stream stream_;
  std::vector<int32_t> acc_;
  std::vector<uint8_t> scratch_;
  std::vector<dnnl_exec_arg_t> args_;
  std::vector<float> multipliers_f_;
  std::vector<double> multipliers_;
  int32_t y_zp_;
  ir::DType y_type_;
  size_t pixels_, channels_;
  int threads_;
};

dnnl::memory::data_type dnnl_type(ir::DType t) {
  return t == ir::DType::Int8 ? dnnl::memory::data_type::s8 : dnnl::memory::data_type::u8;
}

}  // namespace

std::unique_ptr<Kernel> make_qlinear_conv_kernel(const NodeDesc& d, const Context& c) {
  const ir::Node& node = *d.node;
  if (!onnx_op(node, "QLinearConv") || d.inputs.size() < 8 || d.outputs.size() != 1 || !d.fused.empty()) return nullptr;
  const ValueDesc& x = d.inputs[0];
  const ValueDesc& w = d.inputs[3];
  const ValueDesc& y = d.outputs[0];
  const auto is8 = [](ir::DType t) { return t == ir::DType::Int8 || t == ir::DType::UInt8; };
  if (x.id < 0 || x.constant || !is8(x.dtype) || x.shape.size() != 4 || !w.constant || w.dtype != ir::DType::Int8 ||
      w.shape.size() != 4 || !is8(y.dtype) || y.shape.size() != 4) {
    return nullptr;
  }
  for (size_t i : {1u, 2u, 4u, 5u, 6u, 7u}) {
    if (d.inputs[i].id >= 0 && !d.inputs[i].constant) return nullptr;
  }
  const int64_t M = w.shape[0], Cg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
  const int64_t groups = node.attr_int("group", 1);
  if (groups < 1 || M % groups != 0 || Cg * groups != x.shape[1] || y.shape[1] != M) return nullptr;
  const auto sx = constant_values<float>(d, 1, 1), sw = constant_values<float>(d, 4, M), sy = constant_values<float>(d, 6, 1);
  const auto wzp = constant_values<int8_t>(d, 5, M);
  const auto bias = constant_values<int32_t>(d, 8, M);
  if (!sx || !sw || !sy || !wzp || !bias || sx->size() != 1 || sy->size() != 1 || sw->empty()) return nullptr;
  if (!bias->empty() && static_cast<int64_t>(bias->size()) != M) return nullptr;
  if (std::any_of(wzp->begin(), wzp->end(), [](int8_t z) { return z != 0; })) return nullptr;
  if (d.inputs[2].id >= 0 && d.inputs[2].constant->numel() != 1) return nullptr;
  if (d.inputs[7].id >= 0 && d.inputs[7].constant->numel() != 1) return nullptr;
  const auto g = reference::window_geometry(node, {x.shape[2], x.shape[3]}, {kh, kw});
  if (g.out_spatial != std::vector<int64_t>{y.shape[2], y.shape[3]}) return nullptr;
  for (int64_t p : g.pads_begin) if (p < 0) return nullptr;
  for (int64_t p : g.pads_end) if (p < 0) return nullptr;
  std::vector<float> multipliers;
  for (int64_t m = 0; m < M; ++m) {
    const float s = (*sw)[sw->size() == 1 ? 0 : static_cast<size_t>(m)];
    if (!(s > 0) || !std::isfinite(s) || !((*sx)[0] > 0) || !((*sy)[0] > 0)) return nullptr;
    const float mult = quant::requant_multiplier((*sx)[0], s, (*sy)[0]);
    if (!std::isfinite(mult)) return nullptr;
    multipliers.push_back(mult);
  }
  const int32_t x_zp = zero_point(d, 2), y_zp = zero_point(d, 7);

  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  try {
    const dnnl::memory::dims src_dims{x.shape[0], x.shape[1], x.shape[2], x.shape[3]};
    const dnnl::memory::dims dst_dims{y.shape[0], y.shape[1], y.shape[2], y.shape[3]};
    const dnnl::memory::dims w_dims = groups == 1 ? dnnl::memory::dims{M, Cg, kh, kw}
                                                  : dnnl::memory::dims{groups, M / groups, Cg, kh, kw};
    const dnnl::memory::desc src_md(src_dims, dnnl_type(x.dtype), tag::nhwc);
    const dnnl::memory::desc dst_md(dst_dims, dt::s32, tag::nhwc);
    const dnnl::memory::desc w_any(w_dims, dt::s8, tag::any);
    const dnnl::memory::desc b_md({M}, dt::s32, tag::x);
    // oneDNN fixes a primitive's thread count when it is created (from OpenMP's setting then).
    omp_set_num_threads(c.threads);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (x_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {x_zp});
    const dnnl::memory::dims strides{g.strides[0], g.strides[1]};
    const dnnl::memory::dims dil{g.dilations[0] - 1, g.dilations[1] - 1};
    const dnnl::memory::dims pl{g.pads_begin[0], g.pads_begin[1]}, pr{g.pads_end[0], g.pads_end[1]};
    const auto desc = bias->empty()
                          ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                            dnnl::algorithm::convolution_direct, src_md, w_any, dst_md,
                                                            strides, dil, pl, pr)
                          : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                            dnnl::algorithm::convolution_direct, src_md, w_any, b_md,
                                                            dst_md, strides, dil, pl, pr);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
    // Weights: ONNX's [M, C/g, kh, kw] (as [g, M/g, C/g, kh, kw] for groups) reordered once.
    const dnnl::memory::desc w_user(w_dims, dt::s8, groups == 1 ? tag::oihw : tag::goihw);
    dnnl::memory user(w_user, cpu_engine(), const_cast<void*>(w.constant->raw()));
    dnnl::memory packed(pd.weights_desc(), cpu_engine());
    dnnl::stream s(cpu_engine());
    dnnl::reorder(user, packed).execute(s, user, packed);
    dnnl::memory bias_mem;
    if (!bias->empty()) {
      bias_mem = dnnl::memory(b_md, cpu_engine());
      std::copy(bias->begin(), bias->end(), static_cast<int32_t*>(bias_mem.get_data_handle()));
    }
    s.wait();
    const int threads = c.threads;
    auto k = std::make_unique<QConvKernel>(dnnl::convolution_forward(pd), std::move(packed), std::move(bias_mem), src_md,
                                           dst_md, pd.scratchpad_desc(), std::move(multipliers), y_zp, y.dtype,
                                           static_cast<size_t>(y.shape[0] * y.shape[2] * y.shape[3]),
                                           static_cast<size_t>(M), threads);
    k->input_layouts.assign(d.inputs.size(), Layout::Nchw);
    k->input_layouts[0] = Layout::Nhwc;
    k->output_layouts = {Layout::Nhwc};
    spdlog::debug("cpu runtime: {} runs on oneDNN {}", node.label(), pd.impl_info_str());
    return k;
  } catch (const dnnl::error& e) {
    spdlog::debug("cpu runtime: oneDNN declined {}: {}", node.label(), e.what());
    return nullptr;
  }
}

}  // namespace hone::runtime::cpu
