// Normalisations along axes: Softmax, LogSoftmax, Hardmax and LpNormalization.
#include "runtime/reference/kernels/softmax.h"

#include <algorithm>

namespace hone::runtime::reference::kernels {

namespace {
using namespace reduction;

// Softmax, LogSoftmax and Hardmax work over one axis from opset 13 (default -1). Before, the
// input is coerced to 2-D [a_0*..*a_{k-1}, a_k*..*a_{n-1}] at axis k (default 1), i.e. each
// row is the group of all axes from k on.
std::vector<bool> softmax_axes(const KernelArgs& a, int64_t rank) {
  if (a.since_version >= 13) return single_axis_mask(a.node.attr_int("axis", -1), rank);
  return trailing_axes_mask(a.node.attr_int("axis", 1), rank);
}

void check_softmax_family(const KernelInfo& info) {
  require_dtype(info, 0, kFloatTypes);
  (void)info.node.attr_int("axis", 0);
}

template <typename F>
void run_softmax_family(KernelArgs& a, F&& fn) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "input", kFloatTypes);
  a.outputs[0] = transform_groups(x, softmax_axes(a, int64_t(x.rank())), fn);
}

// hardmax(x)_i = 1 if i is the first index of max(x), else 0.
template <typename C>
void hardmax_values(std::span<const C> x, std::span<C> y) {
  std::fill(y.begin(), y.end(), C(0));
  if (!x.empty()) y[static_cast<size_t>(arg_extreme(x, true, false))] = C(1);
}

// y_i = x_i / ||x||_p for p in {1, 2}; a zero norm gives y = 0 (as onnxruntime) rather than NaN.
template <typename C>
void lp_normalize_values(std::span<const C> x, std::span<C> y, int64_t p) {
  double norm = 0.0;
  for (C v : x) norm += p == 1 ? std::fabs(double(v)) : double(v) * double(v);
  if (p == 2) norm = std::sqrt(norm);
  for (size_t i = 0; i < x.size(); ++i) {
    y[i] = norm == 0.0 ? C(0) : static_cast<C>(double(x[i]) / norm);
  }
}

int64_t lp_order(const ir::Node& node) {
  const int64_t p = node.attr_int("p", 2);
  if (p != 1 && p != 2) throw unsupported("LpNormalization p={}; ONNX defines only 1 and 2", p);
  return p;
}
}  // namespace

void check_Softmax(const KernelInfo& info) { check_softmax_family(info); }
void run_Softmax(KernelArgs& a) {
  run_softmax_family(a, [](auto x, auto y) { softmax_values(x, y); });
}

void check_LogSoftmax(const KernelInfo& info) { check_softmax_family(info); }
void run_LogSoftmax(KernelArgs& a) {
  run_softmax_family(a, [](auto x, auto y) { log_softmax_values(x, y); });
}

void check_Hardmax(const KernelInfo& info) { check_softmax_family(info); }
void run_Hardmax(KernelArgs& a) {
  run_softmax_family(a, [](auto x, auto y) { hardmax_values(x, y); });
}

void check_LpNormalization(const KernelInfo& info) {
  require_dtype(info, 0, kFloatTypes);
  (void)info.node.attr_int("axis", -1);
  (void)lp_order(info.node);
}
void run_LpNormalization(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  require_dtype(x, "input", kFloatTypes);
  const int64_t p = lp_order(a.node);
  const std::vector<bool> mask = single_axis_mask(a.node.attr_int("axis", -1), int64_t(x.rank()));
  a.outputs[0] = transform_groups(x, mask, [p](auto in, auto out) { lp_normalize_values(in, out, p); });
}

}  // namespace hone::runtime::reference::kernels
