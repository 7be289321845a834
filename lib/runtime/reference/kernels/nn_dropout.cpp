// Dropout reference kernel: inference is the identity with an all-true mask. Training mode
// drops elements at random, which a golden model cannot reproduce; the one deterministic
// training case, ratio 0, is the identity too.
#include "runtime/reference/kernels/nn_common.h"

namespace hone::runtime::reference::kernels {

namespace {

double scalar_value(const ir::Tensor& t, const char* what) {
  if (t.numel() != 1) {
    throw bad_input("{} must be a scalar, got shape {}", what, ir::shape_str(t.shape()));
  }
  return t.get_as_double(0);
}

// Dropout-6 with is_test=0 trains; its ratio is an attribute.
void check_dropout6(const ir::Node& node) {
  const float ratio = node.attr_float("ratio", 0.5f);
  if (node.attr_int("is_test", 0) == 0 && ratio != 0.0f) {
    throw unsupported("is_test=0 selects training mode, random with ratio {}", ratio);
  }
}

// Dropout-12+: inference unless the training_mode input is given. Training is only
// deterministic with ratio 0, so a training_mode that is not a constant false is accepted only
// when the ratio is a constant 0. Decided at load so the model is rejected up front.
void check_dropout12(const KernelInfo& info) {
  const ir::Node& node = info.node;
  if (!node.has_input(2)) return;
  const ir::Tensor* mode = info.graph.initializer(node.input(2));
  if (mode && scalar_value(*mode, "training_mode") == 0.0) return;
  const ir::Tensor* ratio = node.has_input(1) ? info.graph.initializer(node.input(1)) : nullptr;
  if (ratio && scalar_value(*ratio, "ratio") == 0.0) return;
  throw unsupported(
      "training-mode Dropout is random unless ratio is a constant 0; training_mode "
      "must be absent or a constant false");
}

}  // namespace

void check_Dropout(const KernelInfo& info) {
  require_dtype(info, 0, kFloatTypes);
  if (info.since_version < 7) check_dropout6(info.node);
  if (info.since_version >= 12) check_dropout12(info);
}

// The load-time check leaves only deterministic cases: output = data, mask all ones.
void run_Dropout(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  a.outputs[0] = x.clone();
  if (!a.wants_output(1)) return;
  // The mask is bool from opset 10; before, it has X's type (ones).
  if (a.since_version >= 10) {
    ir::Tensor mask = ir::Tensor::zeros(ir::DType::Bool, x.shape());
    std::fill_n(mask.data<bool>(), mask.numel(), true);
    a.outputs[1] = std::move(mask);
    return;
  }
  ir::Tensor mask = ir::Tensor::zeros(x.dtype(), x.shape());
  nn::visit_float(x.dtype(), [&]<typename T>() {
    std::fill_n(mask.data<T>(), mask.numel(), nn::store<T>(1.0));
  });
  a.outputs[1] = std::move(mask);
}

}  // namespace hone::runtime::reference::kernels
