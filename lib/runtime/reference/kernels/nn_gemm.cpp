// Gemm and MatMul reference kernels.
#include "runtime/reference/kernels/nn_gemm.h"

#include <cmath>

namespace hone::runtime::reference::kernels {

namespace {
using nn::acc_t;
using nn::from_acc;
using nn::matmul_accumulate;
using nn::MatrixView;
using nn::to_acc;

// Gemm (since 9) and MatMul (since 9) also take 32/64-bit integers.
constexpr std::initializer_list<ir::DType> kMatmulTypes = {
    ir::DType::Float32, ir::DType::Float64, ir::DType::Float16, ir::DType::BFloat16,
    ir::DType::Int32,   ir::DType::Int64,   ir::DType::UInt32,  ir::DType::UInt64};

template <typename T>
constexpr bool kIsMatmulType =
    !std::is_same_v<T, bool> && (!std::is_integral_v<T> || sizeof(T) >= 4);

// visit_dtype over kMatmulTypes only.
template <typename F>
void visit_matmul_type(const ir::Tensor& t, F&& f) {
  require_dtype(t, "A", kMatmulTypes);
  visit_dtype(t.dtype(), [&]<typename T>() {
    if constexpr (kIsMatmulType<T>) f.template operator()<T>();
  });
}

void require_same_dtype(const ir::Tensor& a, const ir::Tensor& b, const char* what) {
  if (a.dtype() != b.dtype()) {
    throw bad_input("{} has dtype {}, expected {} like A", what, ir::dtype_name(b.dtype()),
                    ir::dtype_name(a.dtype()));
  }
}

// ------------------------------------------------------------------------------------ Gemm

// Integer Gemm computes alpha * A*B + beta * C in wrapping integer arithmetic, which is only
// exact when alpha and beta are whole numbers.
void require_integral_scalars(const ir::Node& node) {
  for (const char* key : {"alpha", "beta"}) {
    const float v = node.attr_float(key, 1.0f);
    if (!std::isfinite(v) || v != std::trunc(v) || std::fabs(v) > 9.0e15f) {
      throw unsupported("integer Gemm with non-integral {} = {}", key, v);
    }
  }
}

// C must be unidirectionally broadcastable to (M, N); opset 6 without `broadcast` requires
// exactly (M, N).
void check_gemm_bias(const ir::Shape& c, int64_t m, int64_t n, bool allow_broadcast) {
  const ir::Shape y{m, n};
  bool ok = c.size() <= 2;
  for (size_t i = 0; ok && i < c.size(); ++i) {
    const int64_t want = y[2 - c.size() + i];
    ok = c[i] == want || (allow_broadcast && c[i] == 1);
  }
  if (ok && !allow_broadcast) ok = c.size() == 2;
  if (!ok) {
    throw bad_input("C of shape {} is not {}broadcastable to {}", ir::shape_str(c),
                    allow_broadcast ? "" : "(without the broadcast attribute) ", ir::shape_str(y));
  }
}

struct GemmShape {
  int64_t m, n, k;
  bool trans_a, trans_b;
};

GemmShape gemm_shape(const KernelArgs& a) {
  const ir::Tensor& A = a.in(0);
  const ir::Tensor& B = a.in(1);
  if (A.rank() != 2 || B.rank() != 2) {
    throw bad_input("A {} and B {} must both be 2-D", ir::shape_str(A.shape()),
                    ir::shape_str(B.shape()));
  }
  GemmShape s{};
  s.trans_a = a.node.attr_int("transA", 0) != 0;
  s.trans_b = a.node.attr_int("transB", 0) != 0;
  s.m = A.dim(s.trans_a ? 1 : 0);
  s.k = A.dim(s.trans_a ? 0 : 1);
  s.n = B.dim(s.trans_b ? 0 : 1);
  const int64_t kb = B.dim(s.trans_b ? 1 : 0);
  if (kb != s.k) {
    throw bad_input("inner dimensions differ: A' is {}x{}, B' is {}x{}", s.m, s.k, kb, s.n);
  }
  return s;
}

// alpha / beta as accumulator values; integer ones were checked to be whole numbers.
template <typename T>
acc_t<T> scalar_to_acc(float v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<uint64_t>(static_cast<int64_t>(v));
  } else {
    return v;
  }
}

template <typename T>
void gemm(const KernelArgs& a, const GemmShape& s, const ir::Tensor* C, ir::Tensor& Y) {
  const T* A = a.in(0).data<T>();
  const T* B = a.in(1).data<T>();
  const MatrixView<T> av = s.trans_a ? nn::transposed(A, s.m) : nn::row_major(A, s.k);
  const MatrixView<T> bv = s.trans_b ? nn::transposed(B, s.k) : nn::row_major(B, s.n);
  std::vector<acc_t<T>> acc(static_cast<size_t>(s.m * s.n), acc_t<T>{});
  matmul_accumulate(s.m, s.n, s.k, av, bv, acc.data());

  const acc_t<T> alpha = scalar_to_acc<T>(a.node.attr_float("alpha", 1.0f));
  const acc_t<T> beta = scalar_to_acc<T>(a.node.attr_float("beta", 1.0f));
  T* y = Y.data<T>();
  const T* c = C ? C->data<T>() : nullptr;
  const std::vector<int64_t> cs =
      C ? broadcast_strides(C->shape(), {s.m, s.n}) : std::vector<int64_t>{0, 0};
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j) {
      acc_t<T> v = alpha * acc[static_cast<size_t>(i * s.n + j)];
      if (c) v += beta * to_acc(c[i * cs[0] + j * cs[1]]);
      y[i * s.n + j] = from_acc<T>(v);
    }
  }
}

// ---------------------------------------------------------------------------------- MatMul

// numpy.matmul shapes: a 1-D A is a row vector [1, K], a 1-D B a column vector [K, 1]; the
// added dims are dropped from the result; leading (batch) dims broadcast.
struct MatMulShape {
  ir::Shape batch_a, batch_b, batch, out;
  int64_t m, n, k;
};

MatMulShape matmul_shape(const ir::Shape& a_in, const ir::Shape& b_in) {
  if (a_in.empty() || b_in.empty()) throw bad_input("MatMul operands must have rank >= 1");
  const ir::Shape a = a_in.size() == 1 ? ir::Shape{1, a_in[0]} : a_in;
  const ir::Shape b = b_in.size() == 1 ? ir::Shape{b_in[0], 1} : b_in;
  MatMulShape s;
  s.m = a[a.size() - 2];
  s.k = a[a.size() - 1];
  s.n = b[b.size() - 1];
  if (b[b.size() - 2] != s.k) {
    throw bad_input("inner dimensions differ: A {} and B {}", ir::shape_str(a_in),
                    ir::shape_str(b_in));
  }
  s.batch_a.assign(a.begin(), a.end() - 2);
  s.batch_b.assign(b.begin(), b.end() - 2);
  s.batch = broadcast_shapes(s.batch_a, s.batch_b);
  s.out = s.batch;
  if (a_in.size() > 1) s.out.push_back(s.m);
  if (b_in.size() > 1) s.out.push_back(s.n);
  return s;
}

template <typename T>
void matmul(const ir::Tensor& A, const ir::Tensor& B, const MatMulShape& s, ir::Tensor& Y) {
  const int64_t a_size = s.m * s.k, b_size = s.k * s.n, y_size = s.m * s.n;
  std::vector<acc_t<T>> acc(static_cast<size_t>(y_size));
  T* y = Y.data<T>();
  int64_t batch_index = 0;
  for (BroadcastIter it(
           s.batch, {broadcast_strides(s.batch_a, s.batch), broadcast_strides(s.batch_b, s.batch)});
       !it.done(); it.next(), ++batch_index) {
    std::fill(acc.begin(), acc.end(), acc_t<T>{});
    matmul_accumulate(s.m, s.n, s.k, nn::row_major(A.data<T>() + it.offset(0) * a_size, s.k),
                      nn::row_major(B.data<T>() + it.offset(1) * b_size, s.n), acc.data());
    T* out = y + batch_index * y_size;
    for (int64_t i = 0; i < y_size; ++i) out[i] = from_acc<T>(acc[static_cast<size_t>(i)]);
  }
}

bool is_integer(ir::DType dt) { return dt != ir::DType::Undefined && ir::dtype_is_integer(dt); }

}  // namespace

void check_Gemm(const KernelInfo& info) {
  for (size_t i = 0; i < 3; ++i) require_dtype(info, i, kMatmulTypes);
  if (info.since_version < 11 && !info.node.has_input(2)) {
    throw bad_input("input C is required before opset 11");
  }
  if (is_integer(info.input_dtype(0))) require_integral_scalars(info.node);
}

void run_Gemm(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ir::Tensor& A = a.in(0);
  require_same_dtype(A, a.in(1), "B");
  const ir::Tensor* C = a.opt(2);
  if (!C && a.since_version < 11) throw bad_input("input C is required before opset 11");
  if (C) require_same_dtype(A, *C, "C");
  if (is_integer(A.dtype())) require_integral_scalars(a.node);
  const GemmShape s = gemm_shape(a);
  if (C) {
    const bool allow = a.since_version >= 7 || a.node.attr_int("broadcast", 0) != 0;
    check_gemm_bias(C->shape(), s.m, s.n, allow);
  }
  ir::Tensor y = ir::Tensor::zeros(A.dtype(), {s.m, s.n});
  if (y.numel() != 0) visit_matmul_type(A, [&]<typename T>() { gemm<T>(a, s, C, y); });
  a.outputs[0] = std::move(y);
}

void check_MatMul(const KernelInfo& info) {
  require_dtype(info, 0, kMatmulTypes);
  require_dtype(info, 1, kMatmulTypes);
}

void run_MatMul(KernelArgs& a) {
  nn::require_sane_inputs(a);
  const ir::Tensor& A = a.in(0);
  const ir::Tensor& B = a.in(1);
  require_same_dtype(A, B, "B");
  const MatMulShape s = matmul_shape(A.shape(), B.shape());
  ir::Tensor y = ir::Tensor::zeros(A.dtype(), s.out);
  if (y.numel() != 0) visit_matmul_type(A, [&]<typename T>() { matmul<T>(A, B, s, y); });
  a.outputs[0] = std::move(y);
}

}  // namespace hone::runtime::reference::kernels
