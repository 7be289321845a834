// Elementwise binary and variadic reference kernels: arithmetic, comparisons, logic, shifts,
// PRelu, Max / Min / Sum / Mean and Where. Binary ops are functors handed to one driver,
// map_binary; the variadic ones to fold_inputs.
#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/elementwise_types.h"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace hone::runtime::reference::kernels {

using namespace elementwise;  // NOLINT(google-build-using-namespace): this family's helpers

namespace {

// ------------------------------------------------------------------------ operand layout
// Output shape and each operand's element strides over it (0 on broadcast dims).
struct BinaryLayout {
  ir::Shape out;
  std::vector<int64_t> a_strides;
  std::vector<int64_t> b_strides;
};

BinaryLayout layout_onto(const ir::Shape& out, const ir::Shape& a, const ir::Shape& b) {
  return {out, broadcast_strides(a, out), broadcast_strides(b, out)};
}

// Opset 1-6 `broadcast` / `axis` attributes: with broadcast=1, B's dims line up with A's dims
// starting at `axis` (default: B's dims are A's trailing dims), and B's dims of size 1 repeat;
// without it the shapes must be equal. The output always has A's shape.
BinaryLayout legacy_layout(const ir::Node& node, const ir::Shape& a, const ir::Shape& b) {
  if (node.attr_int("broadcast", 0) == 0) {
    if (a != b) {
      throw bad_input("shapes {} and {} differ and the 'broadcast' attribute is not set",
                      ir::shape_str(a), ir::shape_str(b));
    }
    return layout_onto(a, a, b);
  }
  const auto ra = static_cast<int64_t>(a.size());
  const auto rb = static_cast<int64_t>(b.size());
  const int64_t axis = node.attr_int("axis", ra - rb);
  if (rb > ra || axis < 0 || axis > ra - rb) {
    throw bad_input("B of shape {} cannot be broadcast onto A of shape {} at axis {}",
                    ir::shape_str(b), ir::shape_str(a), axis);
  }
  ir::Shape aligned(a.size(), 1);
  for (int64_t i = 0; i < rb; ++i) aligned[static_cast<size_t>(axis + i)] = b[static_cast<size_t>(i)];
  for (size_t d = 0; d < a.size(); ++d) {
    if (aligned[d] != 1 && aligned[d] != a[d]) {
      throw bad_input("B of shape {} does not match A of shape {} at axis {}", ir::shape_str(b),
                      ir::shape_str(a), axis);
    }
  }
  return layout_onto(a, a, aligned);
}

// PRelu: the slope broadcasts one way onto X (opset 7+). Opset 6 followed Caffe2, where a 1-D
// slope with one value per channel applies along axis 1.
BinaryLayout prelu_layout(int64_t since, const ir::Shape& x, const ir::Shape& slope) {
  ir::Shape s = slope;
  if (since < 7 && slope.size() == 1 && x.size() >= 2 && slope[0] == x[1]) {
    s.assign(x.size(), 1);
    s[1] = slope[0];
  }
  if (s.size() > x.size() || broadcast_shapes(x, s) != x) {
    throw bad_input("slope of shape {} does not broadcast to X's shape {}", ir::shape_str(slope),
                    ir::shape_str(x));
  }
  return layout_onto(x, x, s);
}

enum class Broadcast { Multidirectional, Prelu };

BinaryLayout binary_layout(const KernelArgs& a, const ir::Shape& sa, const ir::Shape& sb,
                           Broadcast rule) {
  if (rule == Broadcast::Prelu) return prelu_layout(a.since_version, sa, sb);
  if (a.since_version < 7) return legacy_layout(a.node, sa, sb);
  return layout_onto(broadcast_shapes(sa, sb), sa, sb);
}

// ----------------------------------------------------------------------- the binary driver
// out = f(a, b) in the compute types; f returning bool gives a bool output, anything else an
// output of A's dtype.
template <typename TA, typename TB, typename F>
ir::Tensor apply_binary(const ir::Tensor& A, const ir::Tensor& B, const BinaryLayout& l, F& f) {
  using CA = compute_t<TA>;
  using CB = compute_t<TB>;
  using R = decltype(f(std::declval<CA>(), std::declval<CB>()));
  using Out = std::conditional_t<std::is_same_v<R, bool>, bool, TA>;
  ir::Tensor y = ir::Tensor::zeros(ir::dtype_of<Out>(), l.out);
  const TA* pa = A.data<TA>();
  const TB* pb = B.data<TB>();
  Out* out = y.data<Out>();
  int64_t i = 0;
  for (BroadcastIter it(l.out, {l.a_strides, l.b_strides}); !it.done(); it.next()) {
    out[i++] = store<Out>(
        static_cast<compute_t<Out>>(f(load(pa[it.offset(0)]), load(pb[it.offset(1)]))));
  }
  return y;
}

// TypesB = kSameAsA: B must have A's dtype (every binary op but Pow).
inline constexpr TypeSet kSameAsA = 0;

template <TypeSet TypesA, TypeSet TypesB = kSameAsA, typename F>
void map_binary(KernelArgs& a, F f, Broadcast rule = Broadcast::Multidirectional) {
  const ir::Tensor& A = a.in(0);
  const ir::Tensor& B = a.in(1);
  require_type(A, "input 0", TypesA);
  if constexpr (TypesB == kSameAsA) {
    if (B.dtype() != A.dtype()) {
      throw bad_input("inputs must have the same dtype, got {} and {}", ir::dtype_name(A.dtype()),
                      ir::dtype_name(B.dtype()));
    }
  } else {
    require_type(B, "input 1", TypesB);
  }
  const BinaryLayout layout = binary_layout(a, A.shape(), B.shape(), rule);
  visit_dtype(A.dtype(), [&]<typename TA>() {
    if constexpr (!in_set<TA>(TypesA)) {
      return;
    } else if constexpr (TypesB == kSameAsA) {
      a.outputs[0] = apply_binary<TA, TA>(A, B, layout, f);
    } else {
      visit_dtype(B.dtype(), [&]<typename TB>() {
        if constexpr (in_set<TB>(TypesB)) a.outputs[0] = apply_binary<TA, TB>(A, B, layout, f);
      });
    }
  });
}

// Load-time check shared by the binary ops whose inputs have one dtype.
void check_binary(const KernelInfo& info, TypeSet types) {
  check_input_type(info, 0, types);
  check_input_type(info, 1, types);
  check_same_type(info, 0, 1);
}

// --------------------------------------------------------------------- the variadic driver
// Max / Min / Sum / Mean: acc = x0; acc = fold(acc, xk) for k = 1..n-1; out = finish(acc),
// all inputs broadcast together. kWide accumulates float types in double.
template <TypeSet Types, bool kWide, typename Fold, typename Finish>
void fold_inputs(KernelArgs& a, Fold fold, Finish finish) {
  const size_t n = a.num_inputs();
  if (n == 0) throw bad_input("at least one input is required");
  const ir::DType dt = a.in(0).dtype();
  require_type(a.in(0), "input 0", Types);
  ir::Shape out_shape;
  for (size_t k = 0; k < n; ++k) {
    if (a.in(k).dtype() != dt) {
      throw bad_input("input {} has dtype {}, input 0 has {}", k,
                      ir::dtype_name(a.in(k).dtype()), ir::dtype_name(dt));
    }
    out_shape = broadcast_shapes(out_shape, a.in(k).shape());
  }
  std::vector<std::vector<int64_t>> strides;
  for (size_t k = 0; k < n; ++k) strides.push_back(broadcast_strides(a.in(k).shape(), out_shape));
  visit_dtype(dt, [&]<typename T>() {
    if constexpr (in_set<T>(Types)) {
      using C = compute_t<T>;
      using Acc = std::conditional_t<kWide && std::is_floating_point_v<C>, double, C>;
      ir::Tensor y = ir::Tensor::zeros(dt, out_shape);
      T* out = y.data<T>();
      int64_t i = 0;
      for (BroadcastIter it(out_shape, strides); !it.done(); it.next()) {
        Acc acc = static_cast<Acc>(load(a.in(0).data<T>()[it.offset(0)]));
        for (size_t k = 1; k < n; ++k) {
          acc = fold(acc, static_cast<Acc>(load(a.in(k).data<T>()[it.offset(k)])));
        }
        out[i++] = store<T>(static_cast<C>(finish(acc)));
      }
      a.outputs[0] = std::move(y);
    }
  });
}

void check_variadic(const KernelInfo& info, TypeSet types) {
  for (size_t k = 0; k < info.input_dtypes.size(); ++k) {
    check_input_type(info, k, types);
    check_same_type(info, 0, k);
  }
}

// ------------------------------------------------------------------------ element functions
// Integer +, -, * wrap around (numpy); float ones are IEEE.
struct Plus {
  template <typename C> C operator()(C x, C y) const {
    if constexpr (std::is_integral_v<C>) return wrap_add(x, y); else return x + y;
  }
};
struct Minus {
  template <typename C> C operator()(C x, C y) const {
    if constexpr (std::is_integral_v<C>) return wrap_sub(x, y); else return x - y;
  }
};
struct Times {
  template <typename C> C operator()(C x, C y) const {
    if constexpr (std::is_integral_v<C>) return wrap_mul(x, y); else return x * y;
  }
};

// Integer division truncates toward zero (C); INT_MIN / -1 wraps to INT_MIN.
struct Divide {
  template <typename C> C operator()(C x, C y) const {
    if constexpr (std::is_integral_v<C>) {
      if (y == 0) throw bad_input("integer division by zero");
      if constexpr (std::is_signed_v<C>) {
        if (y == -1) return wrap_neg(x);
      }
      return static_cast<C>(x / y);
    } else {
      return x / y;
    }
  }
};

// Mod: with c_fmod the remainder has the dividend's sign (C fmod, numpy.fmod), otherwise the
// divisor's (Python %, numpy.mod).
struct Remainder {
  bool c_fmod;
  template <typename C> C operator()(C x, C y) const {
    C r;
    if constexpr (std::is_integral_v<C>) {
      if (y == 0) throw bad_input("integer modulo by zero");
      if constexpr (std::is_signed_v<C>) {
        if (y == -1) return 0;  // INT_MIN % -1 overflows in C
      }
      r = static_cast<C>(x % y);
    } else {
      r = std::fmod(x, y);
    }
    if constexpr (std::is_signed_v<C>) {
      if (!c_fmod && r != 0 && (r < 0) != (y < 0)) r = static_cast<C>(r + y);
    }
    return r;
  }
};

// base^e for integers by repeated squaring, wrapping like the other integer ops. A negative
// exponent gives 1 / base^|e| truncated toward zero: 0 unless |base| = 1.
template <typename I, typename E> I int_power(I base, E e) {
  if constexpr (std::is_signed_v<E>) {
    if (e < 0) {
      if (base == 0) throw bad_input("0 raised to the negative power {}", e);
      if (base == 1) return 1;
      if constexpr (std::is_signed_v<I>) {
        if (base == -1) return e % 2 == 0 ? I{1} : I{-1};
      }
      return 0;
    }
  }
  uint64_t result = 1;
  uint64_t b = static_cast<uint64_t>(base);
  for (auto n = static_cast<uint64_t>(e); n != 0; n >>= 1) {
    if (n & 1u) result *= b;
    b *= b;
  }
  return static_cast<I>(result);
}

// Pow: the result has the base's dtype. Float bases are computed in double and rounded;
// integer bases with a float exponent truncate the double result (saturating).
struct Power {
  template <typename CA, typename CB> CA operator()(CA base, CB e) const {
    if constexpr (std::is_integral_v<CA> && std::is_integral_v<CB>) {
      return int_power(base, e);
    } else if constexpr (std::is_integral_v<CA>) {
      return saturate_cast<CA>(std::pow(static_cast<double>(base), static_cast<double>(e)));
    } else {
      return static_cast<CA>(std::pow(static_cast<double>(base), static_cast<double>(e)));
    }
  }
};

// numpy.maximum / numpy.minimum: a NaN operand gives NaN.
template <bool kMax> struct Extremum {
  template <typename C> C operator()(C x, C y) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<C>::quiet_NaN();
    }
    return (kMax ? x < y : y < x) ? y : x;
  }
};

// Shifts of at least the bit width give 0 (C leaves them undefined).
struct Shift {
  bool left;
  template <typename C> C operator()(C x, C s) const {
    if (s >= static_cast<C>(8 * sizeof(C))) return 0;
    return left ? static_cast<C>(static_cast<uint64_t>(x) << s) : static_cast<C>(x >> s);
  }
};

inline constexpr TypeSet kArith = kNumeric;  // Add/Sub/Mul/Div: every numeric dtype (opset 14)
inline constexpr TypeSet kPowBase = kFloat | type_bit(ir::DType::Int32) | type_bit(ir::DType::Int64);
inline constexpr TypeSet kPreluTypes = kFloat | type_bit(ir::DType::Int32) |
                                       type_bit(ir::DType::Int64) | type_bit(ir::DType::UInt32) |
                                       type_bit(ir::DType::UInt64);

}  // namespace

// -------------------------------------------------------------------------------- arithmetic
void check_Add(const KernelInfo& info) { check_binary(info, kArith); }
void run_Add(KernelArgs& a) { map_binary<kArith>(a, Plus{}); }
void check_Sub(const KernelInfo& info) { check_binary(info, kArith); }
void run_Sub(KernelArgs& a) { map_binary<kArith>(a, Minus{}); }
void check_Mul(const KernelInfo& info) { check_binary(info, kArith); }
void run_Mul(KernelArgs& a) { map_binary<kArith>(a, Times{}); }
void check_Div(const KernelInfo& info) { check_binary(info, kArith); }
void run_Div(KernelArgs& a) { map_binary<kArith>(a, Divide{}); }

void check_Pow(const KernelInfo& info) {
  check_input_type(info, 0, kPowBase);
  check_input_type(info, 1, kNumeric);
}
void run_Pow(KernelArgs& a) { map_binary<kPowBase, kNumeric>(a, Power{}); }

// The spec requires fmod=1 for float inputs.
void check_Mod(const KernelInfo& info) {
  check_binary(info, kNumeric);
  const int64_t fmod = info.node.attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) throw bad_input("Mod fmod must be 0 or 1, got {}", fmod);
  if (fmod == 0 && ir::dtype_is_float(info.input_dtype(0))) {
    throw bad_input("Mod on {} requires fmod=1", ir::dtype_name(info.input_dtype(0)));
  }
}
void run_Mod(KernelArgs& a) {
  const bool c_fmod = a.node.attr_int("fmod", 0) != 0;
  if (!c_fmod && ir::dtype_is_float(a.in(0).dtype())) {
    throw bad_input("Mod on {} requires fmod=1", ir::dtype_name(a.in(0).dtype()));
  }
  map_binary<kNumeric>(a, Remainder{c_fmod});
}

// PRelu(x) = x for x >= 0, slope * x otherwise.
void check_PRelu(const KernelInfo& info) { check_binary(info, kPreluTypes); }
void run_PRelu(KernelArgs& a) {
  map_binary<kPreluTypes>(
      a, [](auto x, auto slope) {
        using C = decltype(x);
        if constexpr (std::is_unsigned_v<C>) return x;
        else return x < 0 ? Times{}(slope, x) : x;
      },
      Broadcast::Prelu);
}

void check_BitShift(const KernelInfo& info) {
  check_binary(info, kUnsigned);
  const std::string dir = info.node.attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT") {
    throw bad_input("BitShift direction must be LEFT or RIGHT, got '{}'", dir);
  }
}
void run_BitShift(KernelArgs& a) {
  const std::string dir = a.node.attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT") {
    throw bad_input("BitShift direction must be LEFT or RIGHT, got '{}'", dir);
  }
  map_binary<kUnsigned>(a, Shift{dir == "LEFT"});
}

// ------------------------------------------------------------------- comparisons and logic
void check_Equal(const KernelInfo& info) { check_binary(info, kAll); }
void run_Equal(KernelArgs& a) { map_binary<kAll>(a, [](auto x, auto y) { return x == y; }); }
void check_Less(const KernelInfo& info) { check_binary(info, kNumeric); }
void run_Less(KernelArgs& a) { map_binary<kNumeric>(a, [](auto x, auto y) { return x < y; }); }
void check_Greater(const KernelInfo& info) { check_binary(info, kNumeric); }
void run_Greater(KernelArgs& a) { map_binary<kNumeric>(a, [](auto x, auto y) { return x > y; }); }
void check_LessOrEqual(const KernelInfo& info) { check_binary(info, kNumeric); }
void run_LessOrEqual(KernelArgs& a) {
  map_binary<kNumeric>(a, [](auto x, auto y) { return x <= y; });
}
void check_GreaterOrEqual(const KernelInfo& info) { check_binary(info, kNumeric); }
void run_GreaterOrEqual(KernelArgs& a) {
  map_binary<kNumeric>(a, [](auto x, auto y) { return x >= y; });
}

void check_And(const KernelInfo& info) { check_binary(info, kBool); }
void run_And(KernelArgs& a) { map_binary<kBool>(a, [](bool x, bool y) { return x && y; }); }
void check_Or(const KernelInfo& info) { check_binary(info, kBool); }
void run_Or(KernelArgs& a) { map_binary<kBool>(a, [](bool x, bool y) { return x || y; }); }
void check_Xor(const KernelInfo& info) { check_binary(info, kBool); }
void run_Xor(KernelArgs& a) { map_binary<kBool>(a, [](bool x, bool y) { return x != y; }); }

// ------------------------------------------------------------------------------- variadic
namespace {
const auto kKeep = [](auto acc) { return acc; };
}  // namespace

void check_Max(const KernelInfo& info) { check_variadic(info, kNumeric); }
void run_Max(KernelArgs& a) { fold_inputs<kNumeric, false>(a, Extremum<true>{}, kKeep); }
void check_Min(const KernelInfo& info) { check_variadic(info, kNumeric); }
void run_Min(KernelArgs& a) { fold_inputs<kNumeric, false>(a, Extremum<false>{}, kKeep); }
void check_Sum(const KernelInfo& info) { check_variadic(info, kFloat); }
void run_Sum(KernelArgs& a) { fold_inputs<kFloat, true>(a, Plus{}, kKeep); }
void check_Mean(const KernelInfo& info) { check_variadic(info, kFloat); }
void run_Mean(KernelArgs& a) {
  const auto n = static_cast<double>(a.num_inputs());
  fold_inputs<kFloat, true>(a, Plus{}, [n](double acc) { return acc / n; });
}

// ---------------------------------------------------------------------------------- Where
// out = condition ? X : Y with all three broadcast together; copies elements as bytes, so
// every dtype works alike.
void check_Where(const KernelInfo& info) {
  check_input_type(info, 0, kBool);
  check_input_type(info, 1, kAll);
  check_input_type(info, 2, kAll);
  check_same_type(info, 1, 2);
}

void run_Where(KernelArgs& a) {
  const ir::Tensor& cond = a.in(0);
  const ir::Tensor& x = a.in(1);
  const ir::Tensor& y = a.in(2);
  require_type(cond, "condition", kBool);
  require_type(x, "X", kAll);
  if (y.dtype() != x.dtype()) {
    throw bad_input("X and Y must have the same dtype, got {} and {}", ir::dtype_name(x.dtype()),
                    ir::dtype_name(y.dtype()));
  }
  const ir::Shape out_shape =
      broadcast_shapes(broadcast_shapes(cond.shape(), x.shape()), y.shape());
  ir::Tensor out = ir::Tensor::zeros(x.dtype(), out_shape);
  const size_t size = ir::dtype_size(x.dtype());
  const bool* pc = cond.data<bool>();
  const auto* px = static_cast<const std::byte*>(x.raw());
  const auto* py = static_cast<const std::byte*>(y.raw());
  auto* po = static_cast<std::byte*>(out.raw());
  for (BroadcastIter it(out_shape, {broadcast_strides(cond.shape(), out_shape),
                                    broadcast_strides(x.shape(), out_shape),
                                    broadcast_strides(y.shape(), out_shape)});
       !it.done(); it.next(), po += size) {
    const bool take_x = pc[it.offset(0)];
    const std::byte* src = take_x ? px + static_cast<size_t>(it.offset(1)) * size
                                  : py + static_cast<size_t>(it.offset(2)) * size;
    std::memcpy(po, src, size);
  }
  a.outputs[0] = std::move(out);
}

}  // namespace hone::runtime::reference::kernels
