// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
#include "test_reduce_util.h"

#include <cmath>

using namespace hone;
using namespace hone::test::reduce;
using hone::test::values;

namespace {
// Log-probabilities of N=2 samples over C=3 classes; targets 2 and 0.
const ir::Tensor kLogProb = f32({2, 3}, {-1, -2, -3, -0.5f, -1.5f, -2.5f});
const ir::Tensor kTarget = i64({2}, {2, 0});
const ir::Tensor kWeight = f32({3}, {1, 2, 3});

std::vector<float> nll(Attrs attrs, std::vector<ir::Tensor> inputs) {
  return values<float>(run("NegativeLogLikelihoodLoss", std::move(attrs), inputs, 13)[0]);
}
}  // namespace

TEST_CASE("NLL loss: reduction none, sum, mean, with and without weights", "[reduce][NegativeLogLikelihoodLoss]") {
  auto none = run("NegativeLogLikelihoodLoss", {{"reduction", str("none")}}, {kLogProb, kTarget}, 13);
  CHECK(none[0].shape() == ir::Shape{2});
  CHECK_THAT(values<float>(none[0]), close_to({3, 0.5f}));
  auto mean = run("NegativeLogLikelihoodLoss", {}, {kLogProb, kTarget}, 13);  // default: mean
  CHECK(mean[0].shape() == ir::Shape{});
  CHECK_THAT(values<float>(mean[0]), close_to({1.75f}));
  CHECK_THAT(nll({{"reduction", str("sum")}}, {kLogProb, kTarget}), close_to({3.5f}));
  // Weighted: loss_i = -w[t_i] * lp[i][t_i]; mean divides by the sum of the gathered weights.
  CHECK_THAT(nll({{"reduction", str("none")}}, {kLogProb, kTarget, kWeight}), close_to({9, 0.5f}));
  CHECK_THAT(nll({{"reduction", str("sum")}}, {kLogProb, kTarget, kWeight}), close_to({9.5f}));
  CHECK_THAT(nll({}, {kLogProb, kTarget, kWeight}), close_to({2.375f}));  // 9.5 / (3 + 1)
}

TEST_CASE("NLL loss: ignore_index drops samples from the loss and the mean's divisor", "[reduce][NegativeLogLikelihoodLoss]") {
  const Attrs ignore2 = {{"ignore_index", i(2)}};
  CHECK_THAT(nll({{"ignore_index", i(2)}, {"reduction", str("none")}}, {kLogProb, kTarget}),
             close_to({0, 0.5f}));
  CHECK_THAT(nll(ignore2, {kLogProb, kTarget}), close_to({0.5f}));
  CHECK_THAT(nll(ignore2, {kLogProb, kTarget, kWeight}), close_to({0.5f}));
  // A negative ignore_index may appear in the target; it is not a class.
  CHECK_THAT(nll({{"ignore_index", i(-1)}}, {kLogProb, i64({2}, {-1, 1})}), close_to({1.5f}));
  // Every sample ignored: mean is 0/0.
  CHECK(std::isnan(nll({{"ignore_index", i(0)}}, {kLogProb, i64({2}, {0, 0})})[0]));
}

TEST_CASE("NLL loss over extra dimensions (N, C, d1)", "[reduce][NegativeLogLikelihoodLoss]") {
  // lp[0][c][d]: class 0 = {-1, -2}, class 1 = {-3, -4}; targets per d: {1, 0}.
  const ir::Tensor lp = f32({1, 2, 2}, {-1, -2, -3, -4});
  auto none = run("NegativeLogLikelihoodLoss", {{"reduction", str("none")}},
                  {lp, ir::Tensor::from_vector<int32_t>({1, 2}, {1, 0})}, 13);
  CHECK(none[0].shape() == ir::Shape{1, 2});
  CHECK_THAT(values<float>(none[0]), close_to({3, 2}));
}

TEST_CASE("NLL loss rejects bad targets and shapes", "[reduce][NegativeLogLikelihoodLoss]") {
  CHECK(error_kind([&] { nll({}, {kLogProb, i64({2}, {3, 0})}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { nll({}, {kLogProb, i64({2}, {-1, 0})}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { nll({}, {kLogProb, i64({3}, {0, 0, 0})}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { nll({}, {kLogProb, kTarget, f32({2}, {1, 1})}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { nll({}, {f32({3}, {-1, -2, -3}), i64({}, {0})}); }) == ErrorKind::BadInput);
  CHECK(error_kind([&] { nll({{"reduction", str("max")}}, {kLogProb, kTarget}); }) == ErrorKind::BadInput);
}

TEST_CASE("SoftmaxCrossEntropyLoss is NLL of log_softmax over the class axis", "[reduce][SoftmaxCrossEntropyLoss]") {
  const ir::Tensor scores = f32({1, 3}, {1, 2, 3});
  auto y = run("SoftmaxCrossEntropyLoss", {}, {scores, i64({1}, {2})}, 13, 2);
  CHECK(y[0].shape() == ir::Shape{});
  CHECK_THAT(values<float>(y[0]), close_to({0.40760596f}));
  CHECK(y[1].shape() == ir::Shape{1, 3});
  CHECK_THAT(values<float>(y[1]), close_to({-2.4076059f, -1.4076059f, -0.40760596f}));
  // Large logits stay finite.
  auto big = run("SoftmaxCrossEntropyLoss", {{"reduction", str("sum")}},
                 {f32({1, 3}, {1001, 1002, 1003}), i64({1}, {0})}, 12);
  CHECK_THAT(values<float>(big[0]), close_to({2.4076059f}));
}

TEST_CASE("SoftmaxCrossEntropyLoss over (N, C, d1) with weights and ignore_index", "[reduce][SoftmaxCrossEntropyLoss]") {
  // Scores [N=1, C=2, d=2]: at d=0 classes (0, 0) -> log p = -ln 2 each; at d=1 classes (0, 1000).
  const ir::Tensor scores = f32({1, 2, 2}, {0, 0, 0, 1000});
  const ir::Tensor labels = i64({1, 2}, {1, 1});
  auto none = run("SoftmaxCrossEntropyLoss", {{"reduction", str("none")}},
                  {scores, labels, f32({2}, {1, 4})}, 13);
  CHECK(none[0].shape() == ir::Shape{1, 2});
  CHECK_THAT(values<float>(none[0]), close_to({4 * 0.6931472f, 0}));
  auto ignored = run("SoftmaxCrossEntropyLoss", {{"ignore_index", i(1)}}, {scores, labels}, 13);
  CHECK(std::isnan(values<float>(ignored[0])[0]));
}
