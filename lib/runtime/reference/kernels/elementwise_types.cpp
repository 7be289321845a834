#include "runtime/reference/kernels/elementwise_types.h"

#include <string>

namespace hone::runtime::reference::elementwise {

namespace {
constexpr ir::DType kAllDTypes[] = {
    ir::DType::Float32, ir::DType::Float64, ir::DType::Float16, ir::DType::BFloat16,
    ir::DType::Int8,    ir::DType::Int16,   ir::DType::Int32,   ir::DType::Int64,
    ir::DType::UInt8,   ir::DType::UInt16,  ir::DType::UInt32,  ir::DType::UInt64,
    ir::DType::Bool};

std::string type_set_names(TypeSet s) {
  std::string names;
  for (ir::DType d : kAllDTypes) {
    if ((s & type_bit(d)) == 0) continue;
    if (!names.empty()) names += ", ";
    names += ir::dtype_name(d);
  }
  return names;
}

bool contains(TypeSet s, ir::DType d) {
  // String and codes outside the enum never belong to a set.
  return d != ir::DType::String && static_cast<int>(d) >= 0 && static_cast<int>(d) < 32 &&
         (s & type_bit(d)) != 0;
}
}  // namespace

void check_input_type(const KernelInfo& info, size_t i, TypeSet allowed) {
  const ir::DType d = info.input_dtype(i);
  if (d == ir::DType::Undefined || contains(allowed, d)) return;
  throw unsupported("input {} has dtype {}; supported: {}", i, ir::dtype_name(d),
                    type_set_names(allowed));
}

void check_same_type(const KernelInfo& info, size_t i, size_t j) {
  const ir::DType a = info.input_dtype(i);
  const ir::DType b = info.input_dtype(j);
  if (a != ir::DType::Undefined && b != ir::DType::Undefined && a != b) {
    throw bad_input("inputs {} and {} must have the same dtype, got {} and {}", i, j,
                    ir::dtype_name(a), ir::dtype_name(b));
  }
}

void require_type(const ir::Tensor& t, const char* what, TypeSet allowed) {
  if (contains(allowed, t.dtype())) return;
  throw unsupported("{} has dtype {}; supported: {}", what, ir::dtype_name(t.dtype()),
                    type_set_names(allowed));
}

}  // namespace hone::runtime::reference::elementwise
