// Conv and ConvTranspose: hand-checked cases, attribute edge cases, and random shapes against
// textbook loops written independently of im2col.
#include "test_nn_util.h"

using namespace hone;
using namespace hone::test::nn;
using hone::test::make_node;
using hone::test::run_node;
using hone::test::values;

namespace {

struct ConvCase {
  ir::Shape x, w;  // w: Conv M x C/g x k..; ConvTranspose C x M/g x k..
  int64_t group;
  std::vector<int64_t> strides, dilations, pads;
};

// y[n, m, o] = b[m] + sum_{c in group, k} x[n, c, o*s - pb + k*d] * w[m, c, k]
std::vector<float> conv_reference(const ConvCase& c, const ir::Tensor& x, const ir::Tensor& w,
                                  const ir::Tensor& b, const ir::Shape& y_shape) {
  const size_t n = c.x.size() - 2;
  const int64_t cg = c.x[1] / c.group, mg = c.w[0] / c.group;
  std::vector<float> y(static_cast<size_t>(ir::checked_numel(y_shape)));
  const ir::Shape kernel(c.w.begin() + 2, c.w.end());
  for_each_index(y_shape, [&](const std::vector<int64_t>& yi) {
    double acc = b.data<float>()[yi[1]];
    const int64_t grp = yi[1] / mg;
    for (int64_t ch = 0; ch < cg; ++ch) {
      for_each_index(kernel, [&](const std::vector<int64_t>& k) {
        std::vector<int64_t> xi{yi[0], grp * cg + ch};
        for (size_t d = 0; d < n; ++d) {
          const int64_t at = yi[2 + d] * c.strides[d] - c.pads[d] + k[d] * c.dilations[d];
          if (at < 0 || at >= c.x[2 + d]) return;
          xi.push_back(at);
        }
        std::vector<int64_t> wi{yi[1], ch};
        wi.insert(wi.end(), k.begin(), k.end());
        acc += double(x.data<float>()[flat_index(xi, c.x)]) * w.data<float>()[flat_index(wi, c.w)];
      });
    }
    y[static_cast<size_t>(flat_index(yi, y_shape))] = static_cast<float>(acc);
  });
  return y;
}

// Scatter form: y[n, m, i*s - pb + k*d] += x[n, c, i] * w[c, m, k]
std::vector<float> conv_transpose_reference(const ConvCase& c, const ir::Tensor& x,
                                            const ir::Tensor& w, const ir::Tensor& b,
                                            const ir::Shape& y_shape) {
  const size_t n = c.x.size() - 2;
  const int64_t cg = c.x[1] / c.group, mg = c.w[1];
  std::vector<double> y(static_cast<size_t>(ir::checked_numel(y_shape)));
  for_each_index(y_shape, [&](const std::vector<int64_t>& yi) {
    y[static_cast<size_t>(flat_index(yi, y_shape))] = b.data<float>()[yi[1]];
  });
  const ir::Shape kernel(c.w.begin() + 2, c.w.end());
  for_each_index(c.x, [&](const std::vector<int64_t>& xi) {
    const int64_t grp = xi[1] / cg;
    for (int64_t m = 0; m < mg; ++m) {
      for_each_index(kernel, [&](const std::vector<int64_t>& k) {
        std::vector<int64_t> yi{xi[0], grp * mg + m};
        for (size_t d = 0; d < n; ++d) {
          const int64_t at = xi[2 + d] * c.strides[d] - c.pads[d] + k[d] * c.dilations[d];
          if (at < 0 || at >= y_shape[2 + d]) return;
          yi.push_back(at);
        }
        std::vector<int64_t> wi{xi[1], m};
        wi.insert(wi.end(), k.begin(), k.end());
        y[static_cast<size_t>(flat_index(yi, y_shape))] +=
            double(x.data<float>()[flat_index(xi, c.x)]) * w.data<float>()[flat_index(wi, c.w)];
      });
    }
  });
  return std::vector<float>(y.begin(), y.end());
}

std::map<std::string, ir::Attribute> conv_attrs(const ConvCase& c) {
  return {{"group", i(c.group)},
          {"strides", ints(c.strides)},
          {"dilations", ints(c.dilations)},
          {"pads", ints(c.pads)}};
}

const std::vector<ConvCase> kRandomCases = {
    {{1, 2, 7}, {3, 2, 3}, 1, {1}, {1}, {0, 0}},
    {{2, 4, 9}, {4, 2, 2}, 2, {2}, {3}, {1, 2}},
    {{1, 3, 6, 5}, {2, 3, 3, 2}, 1, {2, 1}, {1, 2}, {1, 0, 2, 1}},
    {{2, 4, 5, 5}, {4, 1, 3, 3}, 4, {1, 2}, {1, 1}, {1, 1, 1, 1}},  // depthwise
    {{1, 6, 5, 4}, {9, 2, 2, 3}, 3, {1, 1}, {2, 1}, {0, 2, 1, 0}},
    {{1, 2, 4, 5, 3}, {2, 2, 2, 3, 2}, 1, {1, 2, 1}, {1, 1, 2}, {0, 1, 1, 1, 0, 0}},
};

}  // namespace

TEST_CASE("Conv 2-D by hand: valid window, bias, asymmetric pads", "[nn][Conv]") {
  auto x = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto w = f32({1, 1, 2, 2}, {1, 1, 1, 1});
  auto y = run_node(make_node("Conv", {}, 2), {x, w});
  REQUIRE(y[0].shape() == ir::Shape{1, 1, 2, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{12, 16, 24, 28});

  y = run_node(make_node("Conv", {}, 3), {x, w, f32({1}, {1.5f})});
  CHECK(values<float>(y[0]) == std::vector<float>{13.5f, 17.5f, 25.5f, 29.5f});

  // pads [top=1, left=0, bottom=0, right=1] on a 2x2 image: padded rows 0 | 1 2 0 | 3 4 0.
  auto x2 = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  y = run_node(make_node("Conv", {{"pads", ints({1, 0, 0, 1})}}, 2), {x2, w});
  REQUIRE(y[0].shape() == ir::Shape{1, 1, 2, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{3, 2, 10, 6});
}

TEST_CASE("Conv auto_pad SAME_UPPER pads the end, SAME_LOWER the beginning", "[nn][Conv]") {
  auto x = f32({1, 1, 4}, {1, 2, 3, 4});
  auto w = f32({1, 1, 2}, {1, 10});
  auto upper = run_node(make_node("Conv", {{"auto_pad", s("SAME_UPPER")}}, 2), {x, w});
  CHECK(values<float>(upper[0]) == std::vector<float>{21, 32, 43, 4});
  auto lower = run_node(make_node("Conv", {{"auto_pad", s("SAME_LOWER")}}, 2), {x, w});
  CHECK(values<float>(lower[0]) == std::vector<float>{10, 21, 32, 43});
  auto valid =
      run_node(make_node("Conv", {{"auto_pad", s("VALID")}, {"pads", ints({5, 5})}}, 2), {x, w});
  CHECK(values<float>(valid[0]) == std::vector<float>{21, 32, 43});
  // SAME with stride 2: out = ceil(4 / 2) = 2, total pad (2-1)*2 + 2 - 4 = 0.
  auto strided = run_node(
      make_node("Conv", {{"auto_pad", s("SAME_UPPER")}, {"strides", ints({2})}}, 2), {x, w});
  CHECK(values<float>(strided[0]) == std::vector<float>{21, 43});
}

TEST_CASE("Conv 1-D dilations and strides", "[nn][Conv]") {
  auto x = f32({1, 1, 5}, {1, 2, 3, 4, 5});
  auto w = f32({1, 1, 2}, {1, 1});
  auto y = run_node(make_node("Conv", {{"dilations", ints({2})}}, 2), {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{4, 6, 8});
  y = run_node(make_node("Conv", {{"dilations", ints({2})}, {"strides", ints({2})}}, 2), {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{4, 8});
  // kernel_shape given explicitly must agree with W.
  y = run_node(make_node("Conv", {{"kernel_shape", ints({2})}}, 2), {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{3, 5, 7, 9});
}

TEST_CASE("Conv groups keep channels apart; depthwise with a multiplier", "[nn][Conv]") {
  // C=4, M=2, group=2: out 0 sees channels 0-1, out 1 channels 2-3.
  auto x = f32({1, 4, 1, 1}, {1, 2, 3, 4});
  auto w = f32({2, 2, 1, 1}, {1, 10, 100, 1000});
  auto y = run_node(make_node("Conv", {{"group", i(2)}}, 2), {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{21, 4300});
  // Depthwise, multiplier 2: C=2, M=4, group=2, W is M x 1 x 1 x 1.
  auto xd = f32({1, 2, 1, 2}, {1, 2, 3, 4});
  auto wd = f32({4, 1, 1, 1}, {1, -1, 2, 10});
  y = run_node(make_node("Conv", {{"group", i(2)}}, 2), {xd, wd});
  REQUIRE(y[0].shape() == ir::Shape{1, 4, 1, 2});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 2, -1, -2, 6, 8, 30, 40});
}

TEST_CASE("Conv matches the textbook loop on random 1-D/2-D/3-D cases", "[nn][Conv]") {
  std::mt19937 rng(7);
  for (const ConvCase& c : kRandomCases) {
    const size_t n = c.x.size() - 2;
    ir::Shape y_shape{c.x[0], c.w[0]};
    for (size_t d = 0; d < n; ++d) {
      const int64_t eff = (c.w[2 + d] - 1) * c.dilations[d] + 1;
      y_shape.push_back((c.x[2 + d] + c.pads[d] + c.pads[d + n] - eff) / c.strides[d] + 1);
    }
    auto x = random_f32(c.x, rng), w = random_f32(c.w, rng), b = random_f32({c.w[0]}, rng);
    auto y = run_node(make_node("Conv", conv_attrs(c), 3), {x, w, b});
    INFO("case X " << ir::shape_str(c.x) << " W " << ir::shape_str(c.w));
    REQUIRE(y[0].shape() == y_shape);
    CHECK_THAT(values<float>(y[0]), close_to(conv_reference(c, x, w, b, y_shape)));
  }
}

TEST_CASE("Conv float64 and float16 compute like float32", "[nn][Conv]") {
  auto x = ir::Tensor::from_vector<double>({1, 1, 3}, {1, 2, 3});
  auto w = ir::Tensor::from_vector<double>({1, 1, 2}, {0.5, 0.25});
  auto y = run_node(make_node("Conv", {}, 2), {x, w});
  CHECK(values<double>(y[0]) == std::vector<double>{1.0, 1.75});
  auto xh = ir::Tensor::from_vector<ir::Float16>(
      {1, 1, 3}, {ir::f32_to_f16(1), ir::f32_to_f16(2), ir::f32_to_f16(3)});
  auto wh = ir::Tensor::from_vector<ir::Float16>({1, 1, 2},
                                                 {ir::f32_to_f16(0.5f), ir::f32_to_f16(0.25f)});
  auto yh = run_node(make_node("Conv", {}, 2), {xh, wh});
  REQUIRE(yh[0].dtype() == ir::DType::Float16);
  CHECK(yh[0].get_as_double(0) == 1.0);
  CHECK(yh[0].get_as_double(1) == 1.75);
}

TEST_CASE("Conv rejects inconsistent shapes and attributes", "[nn][Conv]") {
  auto x = f32({1, 4, 3, 3}, std::vector<float>(36, 1.0f));
  auto w = f32({3, 2, 2, 2}, std::vector<float>(24, 1.0f));
  // M=3 is not divisible by group=2.
  CHECK(error_kind([&] {
          run_node(make_node("Conv", {{"group", i(2)}}, 2), {x, w});
        }) == ErrorKind::BadInput);
  // W has 2 input channels but X has 4 and group is 1.
  CHECK(error_kind([&] { run_node(make_node("Conv", {}, 2), {x, w}); }) == ErrorKind::BadInput);
  auto w4 = f32({1, 4, 2, 2}, std::vector<float>(16, 1.0f));
  CHECK(error_kind([&] {
          run_node(make_node("Conv", {{"kernel_shape", ints({3, 3})}}, 2), {x, w4});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("Conv", {{"group", i(0)}}, 2), {x, w4});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("Conv", {{"pads", ints({1, 1})}}, 2), {x, w4});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("Conv", {{"strides", ints({1, int64_t{1} << 40})}}, 2), {x, w4});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("Conv", {}, 3), {x, w4, f32({2}, {0, 0})});
        }) == ErrorKind::BadInput);
  // A kernel larger than the padded input.
  auto w_big = f32({1, 4, 4, 4}, std::vector<float>(64, 1.0f));
  CHECK(error_kind([&] { run_node(make_node("Conv", {}, 2), {x, w_big}); }) == ErrorKind::BadInput);
  auto xi = ir::Tensor::from_vector<int32_t>({1, 1, 2}, {1, 2});
  auto wi = ir::Tensor::from_vector<int32_t>({1, 1, 1}, {1});
  CHECK(error_kind([&] {
          run_node(make_node("Conv", {}, 2), {xi, wi});
        }) == ErrorKind::Unsupported);
}

TEST_CASE("ConvTranspose 1-D by hand: strides, pads, output_padding", "[nn][ConvTranspose]") {
  auto x = f32({1, 1, 2}, {1, 2});
  auto w = f32({1, 1, 3}, {1, 1, 1});
  auto y = run_node(make_node("ConvTranspose", {}, 2), {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 3, 3, 2});
  y = run_node(make_node("ConvTranspose", {{"strides", ints({2})}}, 2), {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 1, 3, 2, 2});
  y = run_node(
      make_node("ConvTranspose", {{"strides", ints({2})}, {"output_padding", ints({1})}}, 2),
      {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 1, 3, 2, 2, 0});
  y = run_node(make_node("ConvTranspose", {{"strides", ints({2})}, {"pads", ints({1, 1})}}, 3),
               {x, w, f32({1}, {0.5f})});
  CHECK(values<float>(y[0]) == std::vector<float>{1.5f, 3.5f, 2.5f});
  y = run_node(make_node("ConvTranspose", {{"dilations", ints({2})}}, 2), {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 2, 1, 2, 1, 2});
}

TEST_CASE("ConvTranspose output_shape and auto_pad place the extra padding",
          "[nn][ConvTranspose]") {
  auto x = f32({1, 1, 2}, {1, 2});
  auto w = f32({1, 1, 3}, {1, 1, 1});
  // Full size 5; output_shape 6 extends at the end (numpy floor division of total = -1).
  auto y = run_node(
      make_node("ConvTranspose", {{"strides", ints({2})}, {"output_shape", ints({6})}}, 2), {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 1, 3, 2, 2, 0});
  // output_shape 3: total 2, split evenly.
  y = run_node(make_node("ConvTranspose", {{"strides", ints({2})}, {"output_shape", ints({3})}}, 2),
               {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 3, 2});
  // The full N x C x D form of output_shape is accepted too.
  y = run_node(
      make_node("ConvTranspose", {{"strides", ints({2})}, {"output_shape", ints({1, 1, 3})}}, 2),
      {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 3, 2});
  // SAME_*: output = in * stride = 4 of the full 5; the odd pad goes last for SAME_UPPER.
  y = run_node(
      make_node("ConvTranspose", {{"strides", ints({2})}, {"auto_pad", s("SAME_UPPER")}}, 2),
      {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 1, 3, 2});
  y = run_node(
      make_node("ConvTranspose", {{"strides", ints({2})}, {"auto_pad", s("SAME_LOWER")}}, 2),
      {x, w});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 3, 2, 2});
}

TEST_CASE("ConvTranspose groups", "[nn][ConvTranspose]") {
  // C=2, group=2, W is C x 1 x k: channel 0 -> output 0, channel 1 -> output 1.
  auto x = f32({1, 2, 2}, {1, 2, 3, 4});
  auto w = f32({2, 1, 2}, {1, 10, 100, 1000});
  auto y = run_node(make_node("ConvTranspose", {{"group", i(2)}}, 2), {x, w});
  REQUIRE(y[0].shape() == ir::Shape{1, 2, 3});
  CHECK(values<float>(y[0]) == std::vector<float>{1, 12, 20, 300, 3400, 4000});
}

TEST_CASE("ConvTranspose matches the scatter loop on random cases", "[nn][ConvTranspose]") {
  std::mt19937 rng(11);
  for (ConvCase c : kRandomCases) {
    // Reinterpret W as C x M/g x k.. with the same element count pattern.
    c.w = ir::Shape{c.x[1], c.w[0] / c.group};
    const size_t n = c.x.size() - 2;
    for (size_t d = 0; d < n; ++d) c.w.push_back(2 + static_cast<int64_t>(d % 2));
    ir::Shape y_shape{c.x[0], c.w[1] * c.group};
    std::vector<int64_t> out_pad(n, 0);
    for (size_t d = 0; d < n; ++d) {
      out_pad[d] = c.strides[d] > 1 ? 1 : 0;
      y_shape.push_back(c.strides[d] * (c.x[2 + d] - 1) + out_pad[d] +
                        (c.w[2 + d] - 1) * c.dilations[d] + 1 - c.pads[d] - c.pads[d + n]);
    }
    auto x = random_f32(c.x, rng), w = random_f32(c.w, rng);
    auto b = random_f32({y_shape[1]}, rng);
    auto attrs = conv_attrs(c);
    attrs["output_padding"] = ints(out_pad);
    auto y = run_node(make_node("ConvTranspose", attrs, 3), {x, w, b});
    INFO("case X " << ir::shape_str(c.x) << " W " << ir::shape_str(c.w));
    REQUIRE(y[0].shape() == y_shape);
    CHECK_THAT(values<float>(y[0]), close_to(conv_transpose_reference(c, x, w, b, y_shape)));
  }
}

TEST_CASE("ConvTranspose rejects bad attributes", "[nn][ConvTranspose]") {
  auto x = f32({1, 2, 2}, {1, 2, 3, 4});
  auto w = f32({2, 1, 2}, {1, 1, 1, 1});
  // output_padding must stay below the stride (or dilation).
  CHECK(error_kind([&] {
          run_node(make_node("ConvTranspose", {{"output_padding", ints({1})}}, 2), {x, w});
        }) == ErrorKind::BadInput);
  // X has 2 channels, W's first dim must equal it.
  auto w3 = f32({3, 1, 2}, std::vector<float>(6, 1.0f));
  CHECK(error_kind([&] {
          run_node(make_node("ConvTranspose", {}, 2), {x, w3});
        }) == ErrorKind::BadInput);
  // Pads larger than the full output.
  CHECK(error_kind([&] {
          run_node(make_node("ConvTranspose", {{"pads", ints({2, 2})}}, 2), {x, w});
        }) == ErrorKind::BadInput);
  CHECK(error_kind([&] {
          run_node(make_node("ConvTranspose", {{"output_shape", ints({3, 3})}}, 2), {x, w});
        }) == ErrorKind::BadInput);
}

TEST_CASE("Conv and ConvTranspose on an empty batch give empty outputs",
          "[nn][Conv][ConvTranspose]") {
  auto x = f32({0, 2, 3}, {});
  auto w = f32({2, 2, 2}, std::vector<float>(8, 1.0f));
  auto y = run_node(make_node("Conv", {}, 2), {x, w});
  CHECK(y[0].shape() == ir::Shape{0, 2, 2});
  y = run_node(make_node("ConvTranspose", {}, 2), {x, w});
  CHECK(y[0].shape() == ir::Shape{0, 2, 4});
}
