// The matrix product every nn kernel reduces to (Gemm, MatMul, Conv via im2col, ConvTranspose
// via col2im): a plain triple loop over strided views, accumulating in a wide type.
#pragma once

#include "runtime/reference/kernels/nn_common.h"

#include <cstdint>
#include <type_traits>
#include <vector>

namespace hone::runtime::reference::nn {

// Element (r, c) of a matrix stored with arbitrary strides (a transpose swaps them).
template <typename T>
struct MatrixView {
  const T* data;
  int64_t row_stride;
  int64_t col_stride;
  T at(int64_t r, int64_t c) const { return data[r * row_stride + c * col_stride]; }
};

// A row-major matrix with `cols` columns, or its transpose.
template <typename T>
MatrixView<T> row_major(const T* data, int64_t cols) {
  return {data, cols, 1};
}
template <typename T>
MatrixView<T> transposed(const T* data, int64_t cols) {
  return {data, 1, cols};
}

// Accumulators: double for floating types (one rounding at the end keeps float32 results
// within ONNX's tolerance of numpy's); uint64 for integers, whose wrap-around modulo 2^64 is
// defined, so the result cast back to T wraps exactly like numpy's integer matmul.
template <typename T>
using acc_t = std::conditional_t<std::is_integral_v<T>, uint64_t, double>;

template <typename T>
acc_t<T> to_acc(T v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<uint64_t>(
        static_cast<std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>(v));
  } else {
    return static_cast<double>(load(v));
  }
}

template <typename T>
T from_acc(acc_t<T> v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(v);  // modulo 2^bits (C++20)
  } else {
    return store<T>(v);
  }
}

// out[i*n + j] += sum_k a(i,k) * b(k,j) for an (m x k) by (k x n) product, summed in k order
// starting from the value already in out (e.g. a bias). Loops i-k-j so the inner loop streams a
// row of b and a row of out; a b with strided rows (a transposed B) is first copied row-major.
template <typename T>
void matmul_accumulate(int64_t m, int64_t n, int64_t k, MatrixView<T> a, MatrixView<T> b,
                       acc_t<T>* out) {
  std::vector<T> packed;
  if (b.col_stride != 1) {
    packed.resize(static_cast<size_t>(k * n));
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int64_t j = 0; j < n; ++j) packed[static_cast<size_t>(kk * n + j)] = b.at(kk, j);
    }
    b = row_major(static_cast<const T*>(packed.data()), n);
  }
  for (int64_t i = 0; i < m; ++i) {
    acc_t<T>* row = out + i * n;
    for (int64_t kk = 0; kk < k; ++kk) {
      const acc_t<T> av = to_acc(a.at(i, kk));
      const T* brow = b.data + kk * b.row_stride;
      for (int64_t j = 0; j < n; ++j) row[j] += av * to_acc(brow[j]);
    }
  }
}

}  // namespace hone::runtime::reference::nn
