// Softmax and log-softmax of one group of values, shared by the Softmax family and
// SoftmaxCrossEntropyLoss. C is float or double; sums accumulate in double.
#pragma once

#include "runtime/reference/kernels/reduce_groups.h"

#include <cmath>
#include <span>

namespace hone::runtime::reference::reduction {

// sum_j exp(x_j - m) with m = max_j x_j, writing the terms to `terms`. Subtracting the max
// keeps exp from overflowing on large logits and cancels out of both formulas below.
template <typename C>
double shifted_exp_sum(std::span<const C> x, C m, std::span<C> terms) {
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    terms[i] = std::exp(x[i] - m);
    sum += terms[i];
  }
  return sum;
}

// softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m)
template <typename C>
void softmax_values(std::span<const C> x, std::span<C> y) {
  if (x.empty()) return;
  const C m = x[static_cast<size_t>(arg_extreme(x, true, false))];
  const double sum = shifted_exp_sum(x, m, y);
  for (C& v : y) v = static_cast<C>(v / sum);
}

// log_softmax(x)_i = (x_i - m) - log(sum_j exp(x_j - m))
template <typename C>
void log_softmax_values(std::span<const C> x, std::span<C> y) {
  if (x.empty()) return;
  const C m = x[static_cast<size_t>(arg_extreme(x, true, false))];
  const double log_sum = std::log(shifted_exp_sum(x, m, y));
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<C>(double(x[i] - m) - log_sum);
}

}  // namespace hone::runtime::reference::reduction
