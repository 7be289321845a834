// Pooling reference kernels: MaxPool, AveragePool, LpPool and their Global forms. A global
// pool is the windowed pool whose one window covers the whole spatial extent.
#include "runtime/reference/kernels/nn_common.h"
#include "runtime/reference/kernels/nn_im2col.h"

#include <cmath>

namespace hone::runtime::reference::kernels {

namespace {

enum class PoolKind { Max, Average, Lp };

struct PoolSpec {
  PoolKind kind = PoolKind::Max;
  bool count_include_pad = false;  // AveragePool: divide by the window size including pads
  int64_t p = 2;                   // LpPool
  int64_t storage_order = 0;       // MaxPool Indices: 0 row-major, 1 column-major
};

constexpr std::initializer_list<ir::DType> kMaxPoolTypes = {ir::DType::Float32, ir::DType::Float64,
                                                            ir::DType::Float16, ir::DType::BFloat16,
                                                            ir::DType::Int8,    ir::DType::UInt8};

// Attributes the schema at this version does not define must not silently change results.
void reject_attr(const ir::Node& node, const char* key, const char* why) {
  if (node.has_attr(key)) throw bad_input("attribute '{}' is not defined {}", key, why);
}

void check_windowed_pool(const KernelInfo& info, std::initializer_list<ir::DType> types) {
  require_dtype(info, 0, types);
  const ir::Node& node = info.node;
  if (!node.has_attr("kernel_shape")) throw bad_input("attribute 'kernel_shape' is required");
  const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (kernel.empty()) throw bad_input("kernel_shape is empty");
  check_window_attrs(node, static_cast<int64_t>(kernel.size()));
  nn::check_attr_magnitudes(node, {"kernel_shape", "strides", "dilations", "pads"});
  ir::checked_numel(kernel);  // bounds the taps per window
}

// Number of taps of each window (row-major over out_spatial) whose coordinate lies inside the
// input -- or, with include_pad, inside input + pads (ceil_mode windows may overhang both).
// Windows are boxes, so the count is a product of per-dim counts.
std::vector<int64_t> window_counts(const WindowGeometry& g, bool include_pad) {
  std::vector<int64_t> counts{1};
  for (size_t d = 0; d < g.kernel.size(); ++d) {
    const int64_t lo = include_pad ? -g.pads_begin[d] : 0;
    const int64_t hi = g.in_spatial[d] + (include_pad ? g.pads_end[d] : 0);
    std::vector<int64_t> next;
    next.reserve(counts.size() * static_cast<size_t>(g.out_spatial[d]));
    for (int64_t prev : counts) {
      for (int64_t o = 0; o < g.out_spatial[d]; ++o) {
        int64_t c = 0;
        for (int64_t t = 0; t < g.kernel[d]; ++t) {
          const int64_t at = o * g.strides[d] - g.pads_begin[d] + t * g.dilations[d];
          c += at >= lo && at < hi;
        }
        next.push_back(prev * c);
      }
    }
    counts = std::move(next);
  }
  return counts;
}

// Index of element `at` (row-major within one channel) in column-major spatial order.
int64_t column_major(int64_t at, const std::vector<int64_t>& extent) {
  int64_t index = 0, stride = 1;
  std::vector<int64_t> coord(extent.size());
  for (size_t d = extent.size(); d-- > 0;) {
    coord[d] = at % extent[d];
    at /= extent[d];
  }
  for (size_t d = 0; d < extent.size(); ++d) {
    index += coord[d] * stride;
    stride *= extent[d];
  }
  return index;
}

void require_nonempty_window(int64_t count) {
  if (count == 0) throw bad_input("a pooling window holds no input element (pads too large?)");
}

// One (n, c) plane of MaxPool. `argmax` receives each window's maximum's offset in the plane;
// the first maximum in window order wins, and NaN beats any number (as numpy.max).
template <typename T>
void max_plane(const T* x, const WindowGeometry& g, T* y, std::vector<int64_t>& argmax) {
  std::fill(argmax.begin(), argmax.end(), -1);
  for_each_window_tap(g, [&](int64_t, int64_t pos, int64_t at) {
    if (at < 0) return;
    const int64_t best = argmax[static_cast<size_t>(pos)];
    if (best < 0) {
      argmax[static_cast<size_t>(pos)] = at;
      return;
    }
    const double v = nn::load(x[at]), b = nn::load(x[best]);
    if (v > b || (std::isnan(v) && !std::isnan(b))) argmax[static_cast<size_t>(pos)] = at;
  });
  for (size_t pos = 0; pos < argmax.size(); ++pos) {
    require_nonempty_window(argmax[pos] + 1);
    y[pos] = x[argmax[pos]];
  }
}

// One (n, c) plane of AveragePool (sum / count) or LpPool ((sum |x|^p)^(1/p)); padding adds 0.
template <typename T>
void sum_plane(const T* x, const WindowGeometry& g, const PoolSpec& spec,
               const std::vector<int64_t>& counts, T* y, std::vector<double>& sums) {
  std::fill(sums.begin(), sums.end(), 0.0);
  const bool lp = spec.kind == PoolKind::Lp;
  const double p = static_cast<double>(spec.p);
  for_each_window_tap(g, [&](int64_t, int64_t pos, int64_t at) {
    if (at < 0) return;
    const double v = nn::load(x[at]);
    sums[static_cast<size_t>(pos)] += lp ? std::pow(std::fabs(v), p) : v;
  });
  for (size_t pos = 0; pos < sums.size(); ++pos) {
    if (lp) {
      y[pos] = nn::store<T>(std::pow(sums[pos], 1.0 / p));
    } else {
      require_nonempty_window(counts[pos]);
      y[pos] = nn::store<T>(sums[pos] / static_cast<double>(counts[pos]));
    }
  }
}

template <typename T>
void pool(const ir::Tensor& x, const WindowGeometry& g, const PoolSpec& spec, ir::Tensor& y,
          ir::Tensor* indices) {
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t in_size = ir::checked_numel(g.in_spatial);
  const int64_t out_size = ir::checked_numel(g.out_spatial);
  const std::vector<int64_t> counts = window_counts(g, spec.count_include_pad);
  std::vector<int64_t> argmax(static_cast<size_t>(out_size));
  std::vector<double> sums(static_cast<size_t>(out_size));
  for (int64_t plane = 0; plane < planes; ++plane) {
    const T* in = x.data<T>() + plane * in_size;
    T* out = y.data<T>() + plane * out_size;
    if (spec.kind != PoolKind::Max) {
      sum_plane(in, g, spec, counts, out, sums);
      continue;
    }
    max_plane(in, g, out, argmax);
    if (!indices) continue;
    // Indices are flat over the whole (unpadded) X, spatial order per storage_order.
    int64_t* idx = indices->data<int64_t>() + plane * out_size;
    for (int64_t pos = 0; pos < out_size; ++pos) {
      const int64_t at = argmax[static_cast<size_t>(pos)];
      idx[pos] = plane * in_size + (spec.storage_order ? column_major(at, g.in_spatial) : at);
    }
  }
}

void run_pool(KernelArgs& a, const WindowGeometry& g, const PoolSpec& spec) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "X", spec.kind == PoolKind::Max ? kMaxPoolTypes : kFloatTypes);
  ir::Shape out{x.dim(0), x.dim(1)};
  out.insert(out.end(), g.out_spatial.begin(), g.out_spatial.end());
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), out);
  ir::Tensor indices;
  const bool want_indices = spec.kind == PoolKind::Max && a.wants_output(1);
  if (want_indices) indices = ir::Tensor::zeros(ir::DType::Int64, out);
  if (y.numel() != 0) {
    visit_dtype(x.dtype(), [&]<typename T>() {
      if constexpr (!std::is_same_v<T, bool> && (!std::is_integral_v<T> || sizeof(T) == 1)) {
        pool<T>(x, g, spec, y, want_indices ? &indices : nullptr);
      }
    });
  }
  a.outputs[0] = std::move(y);
  if (want_indices) a.outputs[1] = std::move(indices);
}

const ir::Tensor& pool_input(const KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  nn::require_sane_dims(&x);
  if (x.rank() < 3) {
    throw bad_input("X {} must be N x C x D1 .. Dn (rank >= 3)", ir::shape_str(x.shape()));
  }
  return x;
}

void run_windowed_pool(KernelArgs& a, const PoolSpec& spec, bool ceil_mode) {
  const ir::Tensor& x = pool_input(a);
  const std::vector<int64_t> kernel = a.node.attr_ints("kernel_shape");
  if (kernel.size() + 2 != x.rank()) {
    throw bad_input("kernel_shape {} does not match X {}", ir::shape_str(kernel),
                    ir::shape_str(x.shape()));
  }
  run_pool(a, window_geometry(a.node, nn::spatial_dims(x.shape()), kernel, ceil_mode), spec);
}

// One window covering every spatial position.
void run_global_pool(KernelArgs& a, const PoolSpec& spec) {
  const ir::Tensor& x = pool_input(a);
  WindowGeometry g;
  g.in_spatial = nn::spatial_dims(x.shape());
  g.kernel = g.in_spatial;
  const size_t n = g.kernel.size();
  g.strides.assign(n, 1);
  g.dilations.assign(n, 1);
  g.pads_begin.assign(n, 0);
  g.pads_end.assign(n, 0);
  g.out_spatial.assign(n, 1);
  run_pool(a, g, spec);
}

int64_t lp_norm_order(const ir::Node& node) {
  const int64_t p = node.attr_int("p", 2);
  if (p < 1) throw bad_input("p = {} must be >= 1", p);
  return p;
}

}  // namespace

void check_MaxPool(const KernelInfo& info) {
  check_windowed_pool(info, kMaxPoolTypes);
  const ir::Node& node = info.node;
  if (info.since_version < 10) {
    reject_attr(node, "dilations", "before opset 10");
    reject_attr(node, "ceil_mode", "before opset 10");
  }
  if (info.since_version < 8) {
    reject_attr(node, "storage_order", "before opset 8");
    nn::reject_outputs_from(node, 1, "from opset 8 on");
  }
  const int64_t order = node.attr_int("storage_order", 0);
  if (order != 0 && order != 1) throw bad_input("storage_order {} is not 0 or 1", order);
}

void run_MaxPool(KernelArgs& a) {
  PoolSpec spec;
  spec.kind = PoolKind::Max;
  spec.storage_order = a.node.attr_int("storage_order", 0);
  run_windowed_pool(a, spec, a.node.attr_int("ceil_mode", 0) != 0);
}

void check_AveragePool(const KernelInfo& info) {
  check_windowed_pool(info, kFloatTypes);
  reject_attr(info.node, "dilations", "for AveragePool before opset 19");
  if (info.since_version < 10) reject_attr(info.node, "ceil_mode", "before opset 10");
  if (info.since_version < 7) reject_attr(info.node, "count_include_pad", "before opset 7");
}

void run_AveragePool(KernelArgs& a) {
  PoolSpec spec;
  spec.kind = PoolKind::Average;
  spec.count_include_pad = a.node.attr_int("count_include_pad", 0) != 0;
  run_windowed_pool(a, spec, a.node.attr_int("ceil_mode", 0) != 0);
}

void check_LpPool(const KernelInfo& info) {
  check_windowed_pool(info, kFloatTypes);
  reject_attr(info.node, "dilations", "for LpPool before opset 18");
  reject_attr(info.node, "ceil_mode", "for LpPool before opset 18");
  lp_norm_order(info.node);
}

void run_LpPool(KernelArgs& a) {
  PoolSpec spec;
  spec.kind = PoolKind::Lp;
  spec.p = lp_norm_order(a.node);
  run_windowed_pool(a, spec, false);
}

void check_GlobalAveragePool(const KernelInfo& info) { require_dtype(info, 0, kFloatTypes); }

void run_GlobalAveragePool(KernelArgs& a) {
  PoolSpec spec;
  spec.kind = PoolKind::Average;
  run_global_pool(a, spec);
}

void check_GlobalMaxPool(const KernelInfo& info) { require_dtype(info, 0, kFloatTypes); }

void run_GlobalMaxPool(KernelArgs& a) { run_global_pool(a, PoolSpec{}); }

void check_GlobalLpPool(const KernelInfo& info) {
  require_dtype(info, 0, kFloatTypes);
  lp_norm_order(info.node);
}

void run_GlobalLpPool(KernelArgs& a) {
  PoolSpec spec;
  spec.kind = PoolKind::Lp;
  spec.p = lp_norm_order(a.node);
  run_global_pool(a, spec);
}

}  // namespace hone::runtime::reference::kernels
