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
#include "runtime/cpu/conv_params.h"
#include "runtime/cpu/kernel.h"
#include "runtime/cpu/requantize.h"

#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/quantized_common.h"
#include "support/error.h"

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include <immintrin.h>

namespace hone::runtime::cpu {

namespace {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// The requantization of [pixels][channels] int32 accumulators (requantize.h).
template <typename Q>
void requantize_portable(const int32_t* acc, Q* y, size_t pixels, size_t channels, const Requant& q) {
  for (size_t p = 0; p < pixels; ++p, acc += channels, y += channels) {
    for (size_t c = 0; c < channels; ++c) y[c] = requantize_one<Q>(acc[c], q.m[c], q.m_f[c], q.zp, q.range);
  }
}

template <typename Q>
__attribute__((target("avx512f"))) void requantize_avx512(const int32_t* acc, Q* y, size_t pixels, size_t channels,
                                                          const Requant& q) {
  const size_t full = channels / 16 * 16;
  for (size_t p = 0; p < pixels; ++p, acc += channels, y += channels) {
    Requant qc = q;
    size_t c = 0;
    for (; c < full; c += 16, qc.m += 16, qc.m_f += 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + c), requantize16<Q>(_mm512_loadu_si512(acc + c), qc));
    }
    if (c < channels) requantize_portable(acc + c, y + c, 1, channels - c, qc);
  }
}

template <typename Q>
void requantize(const int32_t* acc, Q* y, size_t pixels, size_t channels, const Requant& q) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  if (avx512) {
    requantize_avx512(acc, y, pixels, channels, q);
  } else {
    requantize_portable(acc, y, pixels, channels, q);
  }
}

class QConvKernel final : public Kernel {
 public:
  QConvKernel(dnnl::convolution_forward prim, dnnl::memory weights, dnnl::memory bias, dnnl::memory::desc src_md,
              dnnl::memory::desc dst_md, dnnl::memory::desc scratch_md, const QConvParams& p, int threads)
      : prim_(std::move(prim)),
        weights_(std::move(weights)),
        bias_(std::move(bias)),
        stream_(cpu_engine()),
        acc_(dst_md.get_size() / sizeof(int32_t)),
        scratch_(scratch_md.get_size()),
        multipliers_f_(p.multipliers),
        multipliers_(p.multipliers.begin(), p.multipliers.end()),
        y_type_(p.y_type),
        pixels_(p.n * p.oh * p.ow),
        channels_(p.m),
        threads_(threads) {
    requant_ = {multipliers_.data(), multipliers_f_.data(), p.y_zp, quant::qrange(p.y_type)};
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
    if (y_type_ == ir::DType::Int8) {
      requantize(acc_.data(), static_cast<int8_t*>(ptrs[out[0]]), pixels_, channels_, requant_);
    } else {
      requantize(acc_.data(), static_cast<uint8_t*>(ptrs[out[0]]), pixels_, channels_, requant_);
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
  Requant requant_;
  ir::DType y_type_;
  size_t pixels_, channels_;
  int threads_;
};

dnnl::memory::data_type dnnl_type(ir::DType t) {
  return t == ir::DType::Int8 ? dnnl::memory::data_type::s8 : dnnl::memory::data_type::u8;
}

}  // namespace

std::unique_ptr<Kernel> make_qlinear_conv_kernel(const NodeDesc& d, const Context& c) {
  const std::optional<QConvParams> params = qlinear_conv_params(d);
  if (!params) return nullptr;
  const QConvParams& p = *params;
  const ir::Node& node = *d.node;
  const auto i64 = [](size_t v) { return static_cast<int64_t>(v); };
  const int64_t M = i64(p.m), G = i64(p.groups);
  const reference::WindowGeometry& g = p.geometry;

  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  try {
    const dnnl::memory::dims src_dims{i64(p.n), i64(p.c), i64(p.h), i64(p.w)};
    const dnnl::memory::dims dst_dims{i64(p.n), M, i64(p.oh), i64(p.ow)};
    const dnnl::memory::dims w_dims = G == 1 ? dnnl::memory::dims{M, i64(p.cg), i64(p.kh), i64(p.kw)}
                                             : dnnl::memory::dims{G, M / G, i64(p.cg), i64(p.kh), i64(p.kw)};
    const dnnl::memory::desc src_md(src_dims, dnnl_type(p.x_type), tag::nhwc);
    const dnnl::memory::desc dst_md(dst_dims, dt::s32, tag::nhwc);
    const dnnl::memory::desc w_any(w_dims, dt::s8, tag::any);
    const dnnl::memory::desc b_md({M}, dt::s32, tag::x);
    // oneDNN fixes a primitive's thread count when it is created (from OpenMP's setting then).
    omp_set_num_threads(c.threads);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (p.x_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {p.x_zp});
    const dnnl::memory::dims strides{g.strides[0], g.strides[1]};
    const dnnl::memory::dims dil{g.dilations[0] - 1, g.dilations[1] - 1};
    const dnnl::memory::dims pl{g.pads_begin[0], g.pads_begin[1]}, pr{g.pads_end[0], g.pads_end[1]};
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src_md, w_any, b_md, dst_md, strides, dil, pl, pr);
    const dnnl::convolution_forward::primitive_desc pd(desc, attr, cpu_engine());
    // Weights: ONNX's [M, C/g, kh, kw] (as [g, M/g, C/g, kh, kw] for groups) reordered once.
    const dnnl::memory::desc w_user(w_dims, dt::s8, G == 1 ? tag::oihw : tag::goihw);
    dnnl::memory user(w_user, cpu_engine(), const_cast<int8_t*>(p.weights));
    dnnl::memory packed(pd.weights_desc(), cpu_engine());
    dnnl::stream s(cpu_engine());
    dnnl::reorder(user, packed).execute(s, user, packed);
    dnnl::memory bias_mem(b_md, cpu_engine());
    std::copy(p.bias.begin(), p.bias.end(), static_cast<int32_t*>(bias_mem.get_data_handle()));
    s.wait();
    auto k = std::make_unique<QConvKernel>(dnnl::convolution_forward(pd), std::move(packed), std::move(bias_mem), src_md,
                                           dst_md, pd.scratchpad_desc(), p, c.threads);
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
