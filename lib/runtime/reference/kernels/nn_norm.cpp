// Normalization reference kernels: BatchNormalization (inference), InstanceNormalization,
// LayerNormalization, MeanVarianceNormalization and LRN. Statistics are accumulated in double.
#include "runtime/reference/kernels/nn_common.h"

#include <cmath>

namespace hone::runtime::reference::kernels {

namespace {

std::vector<double> as_doubles(const ir::Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.get_as_double(i);
  return v;
}

// BadInput unless `t` broadcasts to `shape` without changing it (unidirectional broadcast).
void require_broadcastable(const ir::Tensor& t, const ir::Shape& shape, const char* what) {
  if (t.rank() > shape.size() || broadcast_shapes(shape, t.shape()) != shape) {
    throw bad_input("{} of shape {} does not broadcast to {}", what, ir::shape_str(t.shape()),
                    ir::shape_str(shape));
  }
}

// ------------------------------------------------------------------------------- moments

// `shape` with the dims in `reduced` set to 1: one entry per statistics group.
ir::Shape kept_shape(const ir::Shape& shape, const std::vector<bool>& reduced) {
  ir::Shape kept = shape;
  for (size_t d = 0; d < kept.size(); ++d) {
    if (reduced[d]) kept[d] = 1;
  }
  return kept;
}

// Mean and population variance (sum((x - mean)^2) / count, two passes) of x per group of
// `kept`, in row-major order of `kept`.
struct Moments {
  std::vector<double> mean, var;
};

template <typename T>
Moments moments(const ir::Tensor& x, const ir::Shape& kept) {
  const int64_t groups = ir::checked_numel(kept);
  const double count = groups ? static_cast<double>(x.numel() / groups) : 0.0;
  Moments m{std::vector<double>(static_cast<size_t>(groups), 0.0),
            std::vector<double>(static_cast<size_t>(groups), 0.0)};
  const std::vector<int64_t> strides = broadcast_strides(kept, x.shape());
  const T* p = x.data<T>();
  int64_t i = 0;
  for (BroadcastIter it(x.shape(), {strides}); !it.done(); it.next(), ++i) {
    m.mean[static_cast<size_t>(it.offset(0))] += nn::load(p[i]);
  }
  for (double& v : m.mean) v /= count;
  i = 0;
  for (BroadcastIter it(x.shape(), {strides}); !it.done(); it.next(), ++i) {
    const auto g = static_cast<size_t>(it.offset(0));
    const double d = nn::load(p[i]) - m.mean[g];
    m.var[g] += d * d;
  }
  for (double& v : m.var) v /= count;
  return m;
}

// y[i] = f(x[i], group of i, offset of i in each of `params`' broadcast strides).
template <typename T, typename F>
void normalize_each(const ir::Tensor& x, const ir::Shape& kept,
                    std::vector<std::vector<int64_t>> param_strides, ir::Tensor& y, F&& f) {
  param_strides.insert(param_strides.begin(), broadcast_strides(kept, x.shape()));
  const T* in = x.data<T>();
  T* out = y.data<T>();
  int64_t i = 0;
  for (BroadcastIter it(x.shape(), std::move(param_strides)); !it.done(); it.next(), ++i) {
    out[i] = f(in[i], it);
  }
}

// ------------------------------------------------------------------------ BatchNormalization

// Inference: y = (x - mean) / sqrt(var + epsilon) * scale + B, per channel (dim 1). Opsets 6
// and 7 with spatial=0 keep one parameter per activation (C x D1 x .. x Dn) instead.
template <typename T>
void batch_norm(const KernelArgs& a, int64_t batch, int64_t channels, int64_t size,
                bool per_activation, ir::Tensor& y) {
  const double eps = a.node.attr_float("epsilon", 1e-5f);
  const std::vector<double> scale = as_doubles(a.in(1)), bias = as_doubles(a.in(2));
  const std::vector<double> mean = as_doubles(a.in(3)), var = as_doubles(a.in(4));
  const T* x = a.in(0).data<T>();
  T* out = y.data<T>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t s = 0; s < size; ++s) {
        const auto p = static_cast<size_t>(per_activation ? c * size + s : c);
        const int64_t i = (n * channels + c) * size + s;
        out[i] =
            nn::store<T>((nn::load(x[i]) - mean[p]) / std::sqrt(var[p] + eps) * scale[p] + bias[p]);
      }
    }
  }
}

// ------------------------------------------------------------------------------------ LRN

// square_sum over channels [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to [0, C);
// y = x / (bias + alpha / size * square_sum)^beta.
template <typename T>
void lrn(const ir::Node& node, const ir::Tensor& x, ir::Tensor& y) {
  const int64_t size = node.attr_int("size", 0);
  const double alpha = node.attr_float("alpha", 1e-4f), beta = node.attr_float("beta", 0.75f);
  const double bias = node.attr_float("bias", 1.0f);
  const int64_t batch = x.dim(0), channels = x.dim(1);
  const int64_t inner = batch != 0 && channels != 0 ? x.numel() / (batch * channels) : 0;
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const T* in = x.data<T>();
  T* out = y.data<T>();
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t lo = std::max<int64_t>(0, c - before);
      const int64_t hi = std::min(channels - 1, c + after);
      for (int64_t s = 0; s < inner; ++s) {
        double sq = 0.0;
        for (int64_t k = lo; k <= hi; ++k) {
          const double v = nn::load(in[(n * channels + k) * inner + s]);
          sq += v * v;
        }
        const int64_t i = (n * channels + c) * inner + s;
        out[i] = nn::store<T>(nn::load(in[i]) /
                              std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
      }
    }
  }
}

// ---------------------------------------------------------------------- LayerNormalization

struct LayerNormOutputs {
  ir::Tensor y, mean, inv_std_dev;
};

// Stage one in float (stash_type 1): Normalized = (X - Mean) * InvStdDev, cast to T; stage two
// in T: Y = Normalized * Scale + B (the function body's Mul and Add).
template <typename T>
void layer_norm(const KernelArgs& a, const ir::Shape& kept, LayerNormOutputs& out) {
  const ir::Tensor& x = a.in(0);
  const ir::Tensor& scale = a.in(1);
  const ir::Tensor* b = a.opt(2);
  const float eps = a.node.attr_float("epsilon", 1e-5f);
  const Moments m = moments<T>(x, kept);
  float* mean = out.mean.data<float>();
  float* inv = out.inv_std_dev.data<float>();
  for (size_t g = 0; g < m.mean.size(); ++g) {
    mean[g] = static_cast<float>(m.mean[g]);
    inv[g] = 1.0f / std::sqrt(static_cast<float>(m.var[g]) + eps);
  }
  const T* sc = scale.data<T>();
  const T* bi = b ? b->data<T>() : nullptr;
  std::vector<std::vector<int64_t>> strides{broadcast_strides(scale.shape(), x.shape())};
  if (b) strides.push_back(broadcast_strides(b->shape(), x.shape()));
  normalize_each<T>(x, kept, std::move(strides), out.y, [&](T v, const BroadcastIter& it) {
    const auto g = static_cast<size_t>(it.offset(0));
    const float normalized = (static_cast<float>(nn::load(v)) - mean[g]) * inv[g];
    const T scaled = nn::store<T>(nn::load(nn::store<T>(normalized)) * nn::load(sc[it.offset(1)]));
    return bi ? nn::store<T>(nn::load(scaled) + nn::load(bi[it.offset(2)])) : scaled;
  });
}

}  // namespace

void check_BatchNormalization(const KernelInfo& info) {
  for (size_t i = 0; i < 5; ++i) require_dtype(info, i, kFloatTypes);
  const ir::Node& node = info.node;
  if (info.since_version < 7 && node.attr_int("is_test", 0) == 0) {
    throw unsupported("is_test=0 selects training mode, which hone does not execute");
  }
  if (info.since_version >= 14 && node.attr_int("training_mode", 0) != 0) {
    throw unsupported("training_mode={} is not supported", node.attr_int("training_mode", 0));
  }
  nn::reject_outputs_from(node, 1, "in training mode");
}

void run_BatchNormalization(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ir::Tensor& x = a.in(0);
  if (x.rank() < 1) throw bad_input("X must have rank >= 1");
  // Rank 1 is N samples of one channel.
  const int64_t batch = x.dim(0), channels = x.rank() > 1 ? x.dim(1) : 1;
  const int64_t size = ir::checked_numel(nn::spatial_dims(x.shape()));
  const bool per_activation = a.since_version < 9 && a.node.attr_int("spatial", 1) == 0;
  const int64_t params = per_activation ? channels * size : channels;
  for (size_t i = 1; i < 5; ++i) {
    if (a.in(i).numel() != params) {
      throw bad_input("input {} has shape {}, expected {} values", i,
                      ir::shape_str(a.in(i).shape()), params);
    }
  }
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), x.shape());
  nn::visit_float(
      x.dtype(), [&]<typename T>() { batch_norm<T>(a, batch, channels, size, per_activation, y); });
  a.outputs[0] = std::move(y);
}

void check_InstanceNormalization(const KernelInfo& info) {
  for (size_t i = 0; i < 3; ++i) require_dtype(info, i, kFloatTypes);
}

// y = scale * (x - mean) / sqrt(variance + epsilon) + B, statistics per (n, c).
void run_InstanceNormalization(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ir::Tensor& x = a.in(0);
  if (x.rank() < 3) throw bad_input("X {} must be N x C x D1 ..", ir::shape_str(x.shape()));
  const int64_t channels = x.dim(1);
  const std::vector<double> scale = as_doubles(a.in(1)), bias = as_doubles(a.in(2));
  if (a.in(1).numel() != channels || a.in(2).numel() != channels) {
    throw bad_input("scale and B must have {} values", channels);
  }
  const double eps = a.node.attr_float("epsilon", 1e-5f);
  std::vector<bool> reduced(x.rank(), true);
  reduced[0] = reduced[1] = false;
  const ir::Shape kept = kept_shape(x.shape(), reduced);
  ir::Shape per_channel(x.rank() - 1, 1);
  per_channel[0] = channels;
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), x.shape());
  nn::visit_float(x.dtype(), [&]<typename T>() {
    const Moments m = moments<T>(x, kept);
    normalize_each<T>(
        x, kept, {broadcast_strides(per_channel, x.shape())}, y, [&](T v, const BroadcastIter& it) {
          const auto g = static_cast<size_t>(it.offset(0));
          const auto c = static_cast<size_t>(it.offset(1));
          return nn::store<T>(scale[c] * (nn::load(v) - m.mean[g]) / std::sqrt(m.var[g] + eps) +
                              bias[c]);
        });
  });
  a.outputs[0] = std::move(y);
}

void check_LayerNormalization(const KernelInfo& info) {
  for (size_t i = 0; i < 3; ++i) require_dtype(info, i, kFloatTypes);
  const int64_t stash = info.node.attr_int("stash_type", 1);
  if (stash != static_cast<int64_t>(ir::DType::Float32)) {
    throw unsupported("stash_type {} (only 1, float, is supported)", stash);
  }
}

void run_LayerNormalization(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ir::Tensor& x = a.in(0);
  const auto rank = static_cast<int64_t>(x.rank());
  int64_t axis = a.node.attr_int("axis", -1);
  if (axis < -rank || axis > rank) {
    throw bad_input("axis {} is out of range for rank {}", axis, rank);
  }
  if (axis < 0) axis += rank;
  if (a.in(1).dtype() != x.dtype() || (a.opt(2) && a.opt(2)->dtype() != x.dtype())) {
    throw bad_input("Scale and B must have X's dtype");
  }
  require_broadcastable(a.in(1), x.shape(), "Scale");
  if (a.opt(2)) require_broadcastable(*a.opt(2), x.shape(), "B");
  std::vector<bool> reduced(x.rank(), false);
  for (int64_t d = axis; d < rank; ++d) reduced[static_cast<size_t>(d)] = true;
  const ir::Shape kept = kept_shape(x.shape(), reduced);
  LayerNormOutputs out{ir::Tensor::zeros(x.dtype(), x.shape()),
                       ir::Tensor::zeros(ir::DType::Float32, kept),
                       ir::Tensor::zeros(ir::DType::Float32, kept)};
  nn::visit_float(x.dtype(), [&]<typename T>() { layer_norm<T>(a, kept, out); });
  a.outputs[0] = std::move(out.y);
  if (a.wants_output(1)) a.outputs[1] = std::move(out.mean);
  if (a.wants_output(2)) a.outputs[2] = std::move(out.inv_std_dev);
}

void check_MeanVarianceNormalization(const KernelInfo& info) {
  require_dtype(info, 0, kFloatTypes);
}

// y = (x - E[x]) / (sqrt(E[(x - E[x])^2]) + 1e-9) over `axes`; the epsilon is the one in
// ONNX's function body for this op.
void run_MeanVarianceNormalization(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ir::Tensor& x = a.in(0);
  std::vector<bool> reduced(x.rank(), false);
  for (int64_t axis : a.node.attr_ints("axes", {0, 2, 3})) {
    const auto d = static_cast<size_t>(normalize_axis(axis, static_cast<int64_t>(x.rank())));
    if (reduced[d]) throw bad_input("axis {} is listed twice in axes", axis);
    reduced[d] = true;
  }
  const ir::Shape kept = kept_shape(x.shape(), reduced);
  constexpr double kEpsilon = 1e-9f;
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), x.shape());
  nn::visit_float(x.dtype(), [&]<typename T>() {
    const Moments m = moments<T>(x, kept);
    normalize_each<T>(x, kept, {}, y, [&](T v, const BroadcastIter& it) {
      const auto g = static_cast<size_t>(it.offset(0));
      return nn::store<T>((nn::load(v) - m.mean[g]) / (std::sqrt(m.var[g]) + kEpsilon));
    });
  });
  a.outputs[0] = std::move(y);
}

void check_LRN(const KernelInfo& info) {
  require_dtype(info, 0, kFloatTypes);
  if (!info.node.has_attr("size")) throw bad_input("attribute 'size' is required");
  const int64_t size = info.node.attr_int("size", 0);
  if (size < 1) throw bad_input("size {} must be >= 1", size);
}

void run_LRN(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ir::Tensor& x = a.in(0);
  if (x.rank() < 2) throw bad_input("X {} must be N x C x ..", ir::shape_str(x.shape()));
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), x.shape());
  nn::visit_float(x.dtype(), [&]<typename T>() { lrn<T>(a.node, x, y); });
  a.outputs[0] = std::move(y);
}

}  // namespace hone::runtime::reference::kernels
