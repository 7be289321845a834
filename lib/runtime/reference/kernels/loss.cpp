// Loss ops: NegativeLogLikelihoodLoss, and SoftmaxCrossEntropyLoss = NLL of log_softmax over
// the class axis. Semantics follow the ONNX spec and its numpy reference
// (onnx/backend/test/case/node/negativeloglikelihoodloss.py).
#include "runtime/reference/kernels/softmax.h"

#include <limits>
#include <optional>
#include <string>

namespace hone::runtime::reference::kernels {

namespace {
using namespace reduction;
using ir::DType;

enum class Reduction { None, Sum, Mean };

struct LossAttrs {
  Reduction reduction = Reduction::Mean;
  std::optional<int64_t> ignore_index;
};

LossAttrs loss_attrs(const ir::Node& node) {
  LossAttrs attrs;
  const std::string r = node.attr_string("reduction", "mean");
  if (r == "none") attrs.reduction = Reduction::None;
  else if (r == "sum") attrs.reduction = Reduction::Sum;
  else if (r == "mean") attrs.reduction = Reduction::Mean;
  else throw bad_input("reduction '{}' is not one of none, sum, mean", r);
  if (node.has_attr("ignore_index")) attrs.ignore_index = node.attr_int("ignore_index", 0);
  return attrs;
}

void check_loss(const KernelInfo& info) {
  require_dtype(info, 0, kFloatTypes);
  require_dtype(info, 1, {DType::Int32, DType::Int64});
  require_dtype(info, 2, kFloatTypes);
  (void)loss_attrs(info.node);
}

// The class layout of input (N, C, d1, .., dk) and its labels (N, d1, .., dk).
struct LossShape {
  int64_t batch = 0;    // N
  int64_t classes = 0;  // C
  int64_t inner = 1;    // D = d1 * .. * dk
  ir::Shape label_shape;
};

LossShape loss_shape(const ir::Tensor& input, const ir::Tensor& labels, const ir::Tensor* weight) {
  if (input.rank() < 2) {
    throw bad_input("input must have shape (N, C, d1, .., dk), got {}", ir::shape_str(input.shape()));
  }
  LossShape s;
  s.batch = input.dim(0);
  s.classes = input.dim(1);
  s.label_shape = input.shape();
  s.label_shape.erase(s.label_shape.begin() + 1);
  s.inner = ir::checked_numel(ir::Shape(input.shape().begin() + 2, input.shape().end()));
  if (labels.shape() != s.label_shape) {
    throw bad_input("target has shape {}; input of shape {} needs {}", ir::shape_str(labels.shape()),
                    ir::shape_str(input.shape()), ir::shape_str(s.label_shape));
  }
  if (weight && weight->shape() != ir::Shape{s.classes}) {
    throw bad_input("weight has shape {}; {} classes need [{}]", ir::shape_str(weight->shape()),
                    s.classes, s.classes);
  }
  return s;
}

// loss[n, d] = -w[t] * lp[n, t, d] with t = target[n, d] and w[t] = 1 without weights; a target
// equal to ignore_index contributes loss 0 and weight 0. Reduced: sum = sum(loss);
// mean = sum(loss) / sum(w[t]) (NaN when every weight is 0, as numpy's 0/0).
template <typename C>
std::vector<C> nll_loss(std::span<const C> lp, const LossShape& s, const std::vector<int64_t>& target,
                        const std::vector<C>* weight, const LossAttrs& attrs) {
  std::vector<C> loss(target.size());
  double loss_sum = 0.0, weight_sum = 0.0;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t d = 0; d < s.inner; ++d) {
      const size_t i = static_cast<size_t>(n * s.inner + d);
      const int64_t t = target[i];
      if (attrs.ignore_index && t == *attrs.ignore_index) continue;
      if (t < 0 || t >= s.classes) {
        throw bad_input("target value {} at flat index {} is not a class in [0, {})", t, i, s.classes);
      }
      const C w = weight ? (*weight)[static_cast<size_t>(t)] : C(1);
      loss[i] = static_cast<C>(-(w * lp[static_cast<size_t>((n * s.classes + t) * s.inner + d)]));
      loss_sum += double(loss[i]);
      weight_sum += double(w);
    }
  }
  switch (attrs.reduction) {
    case Reduction::None: return loss;
    case Reduction::Sum: return {static_cast<C>(loss_sum)};
    case Reduction::Mean: break;
  }
  if (weight_sum == 0.0) return {std::numeric_limits<C>::quiet_NaN()};
  return {static_cast<C>(loss_sum / weight_sum)};
}

ir::Shape loss_output_shape(const LossShape& s, const LossAttrs& attrs) {
  return attrs.reduction == Reduction::None ? s.label_shape : ir::Shape{};
}

// Shared by both ops: validates inputs, converts log-probabilities (from `to_log_prob`, which
// maps the input to log-probabilities in place) and stores the loss; returns the
// log-probabilities' tensor when `keep_log_prob`.
template <typename ToLogProb>
ir::Tensor run_loss(KernelArgs& a, ToLogProb to_log_prob, bool keep_log_prob) {
  const ir::Tensor& input = a.in(0);
  const ir::Tensor& labels = a.in(1);
  const ir::Tensor* weight = a.opt(2);
  require_dtype(input, "input", kFloatTypes);
  require_dtype(labels, "target", {DType::Int32, DType::Int64});
  if (weight && weight->dtype() != input.dtype()) {
    throw bad_input("weight has dtype {}, input {}", ir::dtype_name(weight->dtype()),
                    ir::dtype_name(input.dtype()));
  }
  const LossAttrs attrs = loss_attrs(a.node);
  const LossShape s = loss_shape(input, labels, weight);
  const std::vector<int64_t> target = labels.to_int64_vector();
  ir::Tensor log_prob;
  visit_numeric(input.dtype(), [&]<typename T>() {
    using C = Compute<T>;
    std::vector<C> lp = load<T>(input);
    to_log_prob(lp, input.shape());
    std::optional<std::vector<C>> w;
    if (weight) w = load<T>(*weight);
    const std::vector<C> loss = nll_loss<C>(lp, s, target, w ? &*w : nullptr, attrs);
    a.outputs[0] = store<T>(loss, loss_output_shape(s, attrs));
    if (keep_log_prob) log_prob = store<T>(lp, input.shape());
  });
  return log_prob;
}
}  // namespace

void check_NegativeLogLikelihoodLoss(const KernelInfo& info) { check_loss(info); }

void run_NegativeLogLikelihoodLoss(KernelArgs& a) {
  run_loss(a, [](auto&, const ir::Shape&) {}, false);  // the input already is log-probabilities
}

void check_SoftmaxCrossEntropyLoss(const KernelInfo& info) { check_loss(info); }

// loss = NLL(log_softmax(scores, axis=1), labels); output 1 (optional) is that log_softmax.
void run_SoftmaxCrossEntropyLoss(KernelArgs& a) {
  const auto log_softmax_classes = [](auto& values, const ir::Shape& shape) {
    using C = typename std::remove_reference_t<decltype(values)>::value_type;
    const std::vector<C> scores = values;
    const AxisGroups groups(shape, single_axis_mask(1, int64_t(shape.size())));
    map_groups<C, C>(scores, groups, values, groups,
                     [](std::span<const C> x, std::span<C> y) { log_softmax_values(x, y); });
  };
  ir::Tensor log_prob = run_loss(a, log_softmax_classes, a.wants_output(1));
  if (a.wants_output(1)) a.outputs[1] = std::move(log_prob);
}

}  // namespace hone::runtime::reference::kernels
