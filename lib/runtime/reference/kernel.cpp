#include "runtime/reference/kernel.h"

#include <string>

namespace hone::runtime::reference {

const ir::Tensor& KernelArgs::in(size_t i) const {
  const ir::Tensor* t = opt(i);
  if (!t) throw bad_input("required input {} is missing", i);
  return *t;
}

namespace {
constexpr KernelEntry kTable[] = {
#define HONE_REFERENCE_OP(op, domain, min_since) \
  {#op, domain, min_since, &kernels::check_##op, &kernels::run_##op},
#include "runtime/reference/ops.def"
#undef HONE_REFERENCE_OP
};
}  // namespace

std::span<const KernelEntry> kernel_table() { return kTable; }

const KernelEntry* find_kernel(const std::string& domain, const std::string& op_type) {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  for (const KernelEntry& e : kTable) {
    if (op_type == e.op_type && d == e.domain) return &e;
  }
  return nullptr;
}

}  // namespace hone::runtime::reference
