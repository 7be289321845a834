// Elementwise reference kernels: unary math and activations, numpy-broadcast binary ops.
#include "runtime/reference/kernel_util.h"

#include <algorithm>
#include <cmath>

namespace hone::runtime::reference::kernels {

void check_Relu(const KernelInfo& info) { require_dtype(info, 0, kFloatTypes); }

void run_Relu(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  ir::Tensor y = ir::Tensor::zeros(x.dtype(), x.shape());
  visit_dtype(x.dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, bool>) {
      throw unsupported("Relu on bool");
    } else {
      const T* in = x.data<T>();
      T* out = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        out[i] = from_float<T>(std::max(0.0f, to_float(in[i])));
      }
    }
  });
  a.outputs[0] = std::move(y);
}

}  // namespace hone::runtime::reference::kernels
