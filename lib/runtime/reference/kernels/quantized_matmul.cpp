// MatMulInteger and QLinearMatMul reference kernels: numpy.matmul on zero-point-shifted 8-bit
// operands with an int32 accumulator; QLinearMatMul then requantizes (quantized_common.h).
#include "runtime/reference/kernel_util.h"
#include "runtime/reference/kernels/quantized_common.h"

namespace hone::runtime::reference::kernels {

namespace {
using ir::DType;

// numpy.matmul shapes: a 1-D A is promoted to [1, K], a 1-D B to [K, 1], the batch dims
// broadcast, and the promoted dims are dropped from the result.
struct MatMulDims {
  ir::Shape a, b;    // promoted operands [..., M, K] and [..., K, N]
  ir::Shape out;     // [batch..., M, N]
  ir::Shape result;  // the shape numpy.matmul returns
  int64_t m = 0, k = 0, n = 0;
};

ir::Shape batch_of(const ir::Shape& s) { return ir::Shape(s.begin(), s.end() - 2); }

MatMulDims matmul_dims(const ir::Shape& a, const ir::Shape& b) {
  if (a.empty() || b.empty()) {
    throw bad_input("matmul operands must have rank >= 1, got shapes {} and {}", ir::shape_str(a),
                    ir::shape_str(b));
  }
  MatMulDims d;
  d.a = a.size() == 1 ? ir::Shape{1, a[0]} : a;
  d.b = b.size() == 1 ? ir::Shape{b[0], 1} : b;
  d.m = d.a[d.a.size() - 2];
  d.k = d.a.back();
  d.n = d.b.back();
  if (d.b[d.b.size() - 2] != d.k) {
    throw bad_input("matmul of shapes {} and {}: inner dimensions {} and {} differ",
                    ir::shape_str(a), ir::shape_str(b), d.k, d.b[d.b.size() - 2]);
  }
  d.out = broadcast_shapes(batch_of(d.a), batch_of(d.b));
  d.result = d.out;
  d.out.insert(d.out.end(), {d.m, d.n});
  if (a.size() > 1) d.result.push_back(d.m);
  if (b.size() > 1) d.result.push_back(d.n);
  return d;
}

// Y[..., i, j] = sum_k A[..., i, k] * B[..., k, j]. Products of shifted 8-bit values fit in
// int32 exactly; the sum wraps (quant::wrapping_add).
std::vector<int32_t> matmul_int32(const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                                  const MatMulDims& d) {
  std::vector<int32_t> y(static_cast<size_t>(ir::checked_numel(d.out)));
  const ir::Shape batch = batch_of(d.out);
  size_t o = 0;
  for (BroadcastIter it(batch, {broadcast_strides(batch_of(d.a), batch),
                                broadcast_strides(batch_of(d.b), batch)});
       !it.done(); it.next()) {
    const int32_t* am = a.data() + it.offset(0) * d.m * d.k;
    const int32_t* bm = b.data() + it.offset(1) * d.k * d.n;
    for (int64_t i = 0; i < d.m; ++i) {
      for (int64_t j = 0; j < d.n; ++j) {
        int32_t acc = 0;
        for (int64_t k = 0; k < d.k; ++k) {
          acc = quant::wrapping_add(acc, am[i * d.k + k] * bm[k * d.n + j]);
        }
        y[o++] = acc;
      }
    }
  }
  return y;
}

// A's zero point / scale is per tensor or per row, B's per tensor or per column.
enum class Side { Rows, Columns };

// The shape that makes numpy broadcasting of a zero point or scale against its (promoted)
// operand mean what the spec says: one value -> [] (per tensor); A: [M] -> [M, 1] and
// [..., M, 1] (per row); B: [N] and [..., 1, N] (per column). BadInput for anything else.
ir::Shape param_shape(const ir::Tensor& p, const char* what, Side side, const ir::Shape& operand) {
  const size_t r = operand.size();
  if (p.numel() == 1 && p.rank() <= r) return {};
  ir::Shape s = p.shape();
  if (s.size() == 1 && side == Side::Rows) s.push_back(1);
  bool ok = !s.empty() && s.size() <= r &&
            (side == Side::Rows ? s.back() == 1 : s.size() == 1 || s[s.size() - 2] == 1);
  for (size_t i = 0; ok && i < s.size(); ++i) {
    ok = s[i] == 1 || s[i] == operand[r - s.size() + i];
  }
  if (!ok) {
    throw bad_input(
        "{} has shape {}; for an operand of shape {} expected a scalar (per tensor) or {}", what,
        ir::shape_str(p.shape()), ir::shape_str(operand),
        side == Side::Rows ? "[M] / [..., M, 1] (per row)" : "[N] / [..., 1, N] (per column)");
  }
  return s;
}

// (x - zero_point) as int32 over x's promoted shape; an omitted zero point is 0.
std::vector<int32_t> subtract_zero_point(const ir::Tensor& x, const ir::Shape& shape,
                                         const ir::Tensor* zp, const char* what, Side side) {
  std::vector<int32_t> v = quant::to_int32(x);
  if (!zp) return v;
  quant::check_zero_point_dtype(*zp, what, x.dtype());
  const std::vector<int32_t> z = quant::to_int32(*zp);
  size_t i = 0;
  for (BroadcastIter it(shape, {broadcast_strides(param_shape(*zp, what, side, shape), shape)});
       !it.done(); it.next()) {
    v[i++] -= z[static_cast<size_t>(it.offset(0))];
  }
  return v;
}

// A scale of QLinearMatMul with the shape it broadcasts with, which must equal its zero point's.
struct MatMulScale {
  std::vector<float> values;
  ir::Shape shape;
};

MatMulScale read_matmul_scale(const ir::Tensor& scale, const char* scale_name, const ir::Tensor& zp,
                              const char* zp_name, Side side, const ir::Shape& operand) {
  MatMulScale s{quant::scale_values(scale, scale_name, quant::ScaleRule::Positive),
                param_shape(scale, scale_name, side, operand)};
  if (param_shape(zp, zp_name, side, operand) != s.shape) {
    throw bad_input("{} has shape {} but {} has shape {}; they must have the same shape", zp_name,
                    ir::shape_str(zp.shape()), scale_name, ir::shape_str(scale.shape()));
  }
  return s;
}

void check_8bit_operands(const KernelInfo& info, size_t a, size_t a_zp, size_t b, size_t b_zp) {
  require_dtype(info, a, {DType::Int8, DType::UInt8});
  require_dtype(info, b, {DType::Int8, DType::UInt8});
  quant::require_same_dtype(info, a_zp, a);
  quant::require_same_dtype(info, b_zp, b);
}
}  // namespace

// ------------------------------------------------------------------------------ MatMulInteger
// Y = matmul(A - a_zero_point, B - b_zero_point) in int32.
void check_MatMulInteger(const KernelInfo& info) { check_8bit_operands(info, 0, 2, 1, 3); }

void run_MatMulInteger(KernelArgs& a) {
  const ir::Tensor& A = a.in(0);
  const ir::Tensor& B = a.in(1);
  require_dtype(A, "A", {DType::Int8, DType::UInt8});
  require_dtype(B, "B", {DType::Int8, DType::UInt8});
  const MatMulDims d = matmul_dims(A.shape(), B.shape());
  const std::vector<int32_t> y =
      matmul_int32(subtract_zero_point(A, d.a, a.opt(2), "a_zero_point", Side::Rows),
                   subtract_zero_point(B, d.b, a.opt(3), "b_zero_point", Side::Columns), d);
  a.outputs[0] = quant::from_int32(DType::Int32, d.result, y);
}

// ------------------------------------------------------------------------------ QLinearMatMul
// acc = matmul(a - a_zero_point, b - b_zero_point) in int32, then per output element [i, j]
//   y = saturate(round_half_even(acc * M) + y_zero_point)             (quant::requantize)
//   M = fl32(fl32(a_scale[i] * b_scale[j]) / y_scale)
// a_scale is per tensor or per row, b_scale per tensor or per column, y's parameters per tensor.
void check_QLinearMatMul(const KernelInfo& info) {
  check_8bit_operands(info, 0, 2, 3, 5);
  for (size_t s : {1, 4, 6}) require_dtype(info, s, {DType::Float32});
  require_dtype(info, 7, {DType::Int8, DType::UInt8});
}

void run_QLinearMatMul(KernelArgs& a) {
  const ir::Tensor& A = a.in(0);
  const ir::Tensor& B = a.in(3);
  const ir::Tensor& y_zp = a.in(7);
  require_dtype(A, "a", {DType::Int8, DType::UInt8});
  require_dtype(B, "b", {DType::Int8, DType::UInt8});
  require_dtype(y_zp, "y_zero_point", {DType::Int8, DType::UInt8});
  const MatMulDims d = matmul_dims(A.shape(), B.shape());
  const MatMulScale sa =
      read_matmul_scale(a.in(1), "a_scale", a.in(2), "a_zero_point", Side::Rows, d.a);
  const MatMulScale sb =
      read_matmul_scale(a.in(4), "b_scale", a.in(5), "b_zero_point", Side::Columns, d.b);
  const auto sy = quant::read_scale(a.in(6), "y_scale", 0, quant::ScaleRule::Positive);
  const auto zy = quant::read_zero_point(&y_zp, "y_zero_point", y_zp.dtype(), 0);
  const std::vector<int32_t> acc =
      matmul_int32(subtract_zero_point(A, d.a, &a.in(2), "a_zero_point", Side::Rows),
                   subtract_zero_point(B, d.b, &a.in(5), "b_zero_point", Side::Columns), d);
  const quant::QRange range = quant::qrange(y_zp.dtype());
  std::vector<int32_t> y(acc.size());
  size_t o = 0;
  for (BroadcastIter it(d.out,
                        {broadcast_strides(sa.shape, d.out), broadcast_strides(sb.shape, d.out)});
       !it.done(); it.next(), ++o) {
    const float m = quant::checked_multiplier(sa.values[static_cast<size_t>(it.offset(0))],
                                              sb.values[static_cast<size_t>(it.offset(1))], sy[0]);
    y[o] = quant::requantize(acc[o], m, zy[0], range);
  }
  a.outputs[0] = quant::from_int32(y_zp.dtype(), d.result, y);
}

}  // namespace hone::runtime::reference::kernels
