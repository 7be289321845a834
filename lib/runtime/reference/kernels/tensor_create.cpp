// Ops that create tensors from attributes or small inputs: Constant, ConstantOfShape, Range,
// EyeLike, OneHot. Every output size a model can ask for is bounded before allocation.
#include "runtime/reference/kernels/tensor_common.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace hone::runtime::reference::kernels {

using namespace tensor_common;

namespace {

constexpr const char* kConstantAttrs[] = {"value",         "value_float", "value_floats",
                                          "value_int",     "value_ints",  "value_string",
                                          "value_strings", "sparse_value"};

// The one value_* attribute a Constant node sets.
std::string constant_attr(const ir::Node& node) {
  std::string found;
  for (const char* key : kConstantAttrs) {
    if (!node.has_attr(key)) continue;
    if (!found.empty()) throw bad_input("Constant sets both '{}' and '{}'", found, key);
    found = key;
  }
  if (found.empty()) throw bad_input("Constant sets none of value, value_float, ... value_ints");
  if (found == "sparse_value" || found == "value_string" || found == "value_strings") {
    throw unsupported("Constant with '{}'", found);
  }
  return found;
}

// 1 in dtype T (EyeLike's diagonal).
template <typename T>
T one() {
  if constexpr (std::is_same_v<T, ir::Float16> || std::is_same_v<T, ir::BFloat16>) {
    return from_float<T>(1.0f);
  } else {
    return T{1};
  }
}

// Range's element count, max(ceil((limit - start) / delta), 0), bounded by kMaxElements.
template <typename T>
int64_t range_count(T start, T limit, T delta) {
  if (delta == T{0}) throw bad_input("Range delta is 0");
  if constexpr (std::is_floating_point_v<T>) {
    const T n = std::ceil((limit - start) / delta);
    if (!(n <= static_cast<T>(ir::kMaxElements))) {  // also catches NaN
      throw bad_input("Range ({}, {}, {}) has too many elements", start, limit, delta);
    }
    return n > 0 ? static_cast<int64_t>(n) : 0;
  } else {
    // Unsigned differences cannot overflow: |limit - start| < 2^64.
    const bool up = delta > 0;
    if (up ? limit <= start : limit >= start) return 0;
    const uint64_t span = up ? static_cast<uint64_t>(limit) - static_cast<uint64_t>(start)
                             : static_cast<uint64_t>(start) - static_cast<uint64_t>(limit);
    const uint64_t step = up ? static_cast<uint64_t>(delta) : 0 - static_cast<uint64_t>(delta);
    const uint64_t n = span / step + (span % step != 0);
    if (n > static_cast<uint64_t>(ir::kMaxElements)) {
      throw bad_input("Range ({}, {}, {}) has too many elements", start, limit, delta);
    }
    return static_cast<int64_t>(n);
  }
}

// output[i] = start + i * delta. Integers are computed modulo 2^64, which is exact because every
// output lies between start and limit.
template <typename T>
void fill_range(T start, T delta, std::span<T> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    if constexpr (std::is_floating_point_v<T>) {
      out[i] = start + static_cast<T>(i) * delta;
    } else {
      out[i] = static_cast<T>(static_cast<uint64_t>(start) + i * static_cast<uint64_t>(delta));
    }
  }
}

// An index read from OneHot's indices or depth, which may be float: truncated toward zero, as
// a cast would; non-finite or huge values map to `invalid`.
int64_t integral_value(const ir::Tensor& t, int64_t i, int64_t invalid) {
  if (!ir::dtype_is_float(t.dtype())) {
    if (t.dtype() == ir::DType::UInt64 && t.get_as_int64(i) < 0) return invalid;
    return t.get_as_int64(i);
  }
  const double v = t.get_as_double(i);
  constexpr double kBound = 9.0e18;  // inside int64's range
  return std::isfinite(v) && std::abs(v) < kBound ? static_cast<int64_t>(v) : invalid;
}

// EyeLike's output dtype: the 'dtype' attribute, else the input's.
ir::DType eye_dtype(const ir::Node& node, ir::DType input) {
  if (!node.has_attr("dtype")) return input;
  const int64_t code = node.attr_int("dtype", 0);
  if (code < 0 || code > std::numeric_limits<int32_t>::max() ||
      !ir::dtype_is_known(static_cast<int32_t>(code)) ||
      ir::dtype_size(static_cast<ir::DType>(code)) == 0) {
    throw unsupported("dtype {} is not a supported EyeLike output type", code);
  }
  return static_cast<ir::DType>(code);
}

}  // namespace

// ------------------------------------------------------------------------------- Constant
void check_Constant(const KernelInfo& info) { constant_attr(info.node); }

void run_Constant(KernelArgs& a) {
  const std::string key = constant_attr(a.node);
  const ir::Node& n = a.node;
  if (key == "value") {
    const ir::Tensor* t = n.attr_tensor("value");
    if (!t || !t->defined()) throw bad_input("Constant 'value' is not a tensor");
    element_size(*t);
    a.outputs[0] = t->clone();
  } else if (key == "value_float") {
    a.outputs[0] = ir::Tensor::scalar<float>(n.attr_float(key, 0.0f));
  } else if (key == "value_floats") {
    const std::vector<float> v = n.attr_floats(key);
    a.outputs[0] = ir::Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  } else if (key == "value_int") {
    a.outputs[0] = ir::Tensor::scalar<int64_t>(n.attr_int(key, 0));
  } else {
    const std::vector<int64_t> v = n.attr_ints(key);
    a.outputs[0] = ir::Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
}

// ------------------------------------------------------------------------ ConstantOfShape
void check_ConstantOfShape(const KernelInfo& info) {
  require_dtype(info, 0, {ir::DType::Int64});
  if (const ir::Tensor* v = info.node.attr_tensor("value")) {
    if (v->numel() != 1)
      throw bad_input("'value' must hold one element, got {}", ir::shape_str(v->shape()));
    element_size(*v);
  }
}

void run_ConstantOfShape(KernelArgs& a) {
  const ir::Shape shape = int_list(a.in(0), "shape");
  for (int64_t d : shape) {
    if (d < 0) throw bad_input("shape {} has a negative dim", ir::shape_str(shape));
  }
  const ir::Tensor* v = a.node.attr_tensor("value");
  const ir::Tensor value = v ? *v : ir::Tensor::scalar<float>(0.0f);  // default: float 0
  if (value.numel() != 1) throw bad_input("'value' must hold one element");
  element_size(value);
  ir::Tensor y = ir::Tensor::zeros(value.dtype(), shape);
  for (int64_t i = 0; i < y.numel(); ++i) copy_elements(value, 0, y, i);
  a.outputs[0] = std::move(y);
}

// ---------------------------------------------------------------------------------- Range
void check_Range(const KernelInfo& info) {
  for (size_t i = 0; i < 3; ++i) {
    require_dtype(info, i,
                  {ir::DType::Float32, ir::DType::Float64, ir::DType::Int16, ir::DType::Int32,
                   ir::DType::Int64});
  }
}

void run_Range(KernelArgs& a) {
  const ir::Tensor& start = a.in(0);
  for (size_t i = 0; i < 3; ++i) {
    const ir::Tensor& t = a.in(i);
    if (t.numel() != 1 || t.dtype() != start.dtype()) {
      throw bad_input("Range inputs must be single values of one dtype; input {} is {} {}", i,
                      ir::dtype_name(t.dtype()), ir::shape_str(t.shape()));
    }
  }
  visit_dtype(start.dtype(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, int16_t> || std::is_same_v<T, int32_t> ||
                  std::is_same_v<T, int64_t> || std::is_same_v<T, float> ||
                  std::is_same_v<T, double>) {
      const T s = a.in(0).data<T>()[0], l = a.in(1).data<T>()[0], d = a.in(2).data<T>()[0];
      ir::Tensor y = ir::Tensor::zeros(start.dtype(), {range_count(s, l, d)});
      fill_range(s, d, y.span<T>());
      a.outputs[0] = std::move(y);
    } else {
      throw unsupported("Range on {}", ir::dtype_name(start.dtype()));
    }
  });
}

// -------------------------------------------------------------------------------- EyeLike
void check_EyeLike(const KernelInfo& info) {
  reject_strings(info);
  eye_dtype(info.node, ir::DType::Float32);
}

// Ones where column - row == k.
void run_EyeLike(KernelArgs& a) {
  const ir::Tensor& x = a.in(0);
  if (x.rank() != 2) throw bad_input("EyeLike input must be 2-D, got {}", ir::shape_str(x.shape()));
  const ir::DType dtype = eye_dtype(a.node, x.dtype());
  const int64_t k = a.node.attr_int("k", 0);
  ir::Tensor y = ir::Tensor::zeros(dtype, x.shape());
  const int64_t rows = x.dim(0), cols = x.dim(1);
  visit_dtype(dtype, [&]<typename T>() {
    T* out = y.data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      // c = r + k without overflow: k is compared against the bounded c - r.
      if (k >= -r && k < cols - r) out[r * cols + r + k] = one<T>();
    }
  });
  a.outputs[0] = std::move(y);
}

// --------------------------------------------------------------------------------- OneHot
void check_OneHot(const KernelInfo& info) { reject_strings(info); }

// out[..., indices[...] (at axis), ...] = on, off elsewhere; out-of-range indices give a row
// of off values (opset 11 also accepts [-depth, -1], counted from the end).
void run_OneHot(KernelArgs& a) {
  const ir::Tensor& indices = a.in(0);
  const ir::Tensor& values = a.in(2);
  element_size(values);
  if (values.numel() != 2)
    throw bad_input("values must be [off, on], got {}", ir::shape_str(values.shape()));
  if (a.in(1).numel() != 1)
    throw bad_input("depth must be one value, got {}", ir::shape_str(a.in(1).shape()));
  const int64_t depth = integral_value(a.in(1), 0, -1);
  if (depth < 1 || depth > ir::kMaxElements)
    throw bad_input("depth {} must be positive", a.in(1).get_as_double(0));
  const auto rank = static_cast<int64_t>(indices.rank());
  int64_t axis = a.node.attr_int("axis", -1);
  if (axis < -(rank + 1) || axis > rank)
    throw bad_input("axis {} is out of range for rank {}", axis, rank + 1);
  if (axis < 0) axis += rank + 1;

  ir::Shape out_shape = indices.shape();
  out_shape.insert(out_shape.begin() + axis, depth);
  ir::Tensor y = ir::Tensor::zeros(values.dtype(), out_shape);
  for (int64_t i = 0; i < y.numel(); ++i) copy_elements(values, 0, y, i);
  const int64_t inner = dims_product(indices.shape(), static_cast<size_t>(axis), indices.rank());
  const bool negatives = a.since_version >= 11;
  for (int64_t i = 0; i < indices.numel(); ++i) {
    int64_t v = integral_value(indices, i, depth);  // `depth` is never a valid index
    if (v < 0 && negatives && v >= -depth) v += depth;
    if (v < 0 || v >= depth) continue;
    // indices position i = (outer o, inner r) -> output (o, v, r).
    const int64_t o = i / inner, r = i % inner;
    copy_elements(values, 1, y, (o * depth + v) * inner + r);
  }
  a.outputs[0] = std::move(y);
}

}  // namespace hone::runtime::reference::kernels
