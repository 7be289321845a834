// ConvInteger and QLinearConv.
#include "test_quantized_util.h"

using namespace hone;
using namespace hone::test;  // f32, i8, u8, i32, ints, make_node, run_node, ...

namespace {
using Attrs = std::map<std::string, ir::Attribute>;
ir::Attribute ints_attr(std::vector<int64_t> v) { return ir::Attribute::of_ints(std::move(v)); }

std::vector<ir::Tensor> conv_integer(std::vector<ir::Tensor> in, Attrs attrs = {}) {
  return run_node(make_node("ConvInteger", std::move(attrs), in.size()), in);
}
ir::Tensor one(float s) { return ir::Tensor::scalar(s); }

// QLinearConv inputs: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, optional B.
struct QConv {
  ir::Tensor x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias;
  Attrs attrs;
  std::vector<ir::Tensor> run() const {
    std::vector<ir::Tensor> in{x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp};
    if (bias.defined()) in.push_back(bias);
    return run_node(make_node("QLinearConv", attrs, in.size()), in);
  }
};
}  // namespace

// ----------------------------------------------------------------------------- ConvInteger
TEST_CASE("ConvInteger without and with padding (ONNX examples)", "[quantized]") {
  auto x = u8({1, 1, 3, 3}, {2, 3, 4, 5, 6, 7, 8, 9, 10});
  auto w = u8({1, 1, 2, 2}, {1, 1, 1, 1});
  auto zp = ir::Tensor::scalar<uint8_t>(1);
  auto y = conv_integer({x, w, zp});
  REQUIRE(y[0].dtype() == ir::DType::Int32);
  REQUIRE(y[0].shape() == ir::Shape{1, 1, 2, 2});
  CHECK(ints(y[0]) == std::vector<int>{12, 16, 24, 28});
  auto padded = conv_integer({x, w, zp}, {{"pads", ints_attr({1, 1, 1, 1})}});
  REQUIRE(padded[0].shape() == ir::Shape{1, 1, 4, 4});
  CHECK(ints(padded[0]) ==
        std::vector<int>{1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9});
}

TEST_CASE("ConvInteger with groups and a per-channel weight zero point", "[quantized]") {
  // x - 1: channel 0 = [0, 1, 2, 3], channel 1 = [4, 5, 6, 7]; w - w_zp = [3 - 1, 5 - 2] = [2, 3]
  auto y = conv_integer({i8({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), i8({2, 1, 1, 1}, {3, 5}),
                         ir::Tensor::scalar<int8_t>(1), i8({2}, {1, 2})},
                        {{"group", ir::Attribute::of_int(2)}});
  CHECK(ints(y[0]) == std::vector<int>{0, 2, 4, 6, 12, 15, 18, 21});
}

TEST_CASE("ConvInteger 1-D with strides and dilations", "[quantized]") {
  // taps at i and i + 2, windows starting at 0, 2, 4
  auto y = conv_integer({u8({1, 1, 7}, {1, 2, 3, 4, 5, 6, 7}), u8({1, 1, 2}, {1, 1})},
                        {{"strides", ints_attr({2})}, {"dilations", ints_attr({2})}});
  REQUIRE(y[0].shape() == ir::Shape{1, 1, 3});
  CHECK(ints(y[0]) == std::vector<int>{4, 8, 12});
}

TEST_CASE("ConvInteger padding holds the input zero point (auto_pad SAME_UPPER)", "[quantized]") {
  // x - 10 = [0, 10, 20], one pad each side contributes 0 (a raw 0 would contribute -10).
  auto y = conv_integer(
      {u8({1, 1, 3}, {10, 20, 30}), u8({1, 1, 3}, {1, 1, 1}), ir::Tensor::scalar<uint8_t>(10)},
      {{"auto_pad", ir::Attribute::of_string("SAME_UPPER")}});
  REQUIRE(y[0].shape() == ir::Shape{1, 1, 3});
  CHECK(ints(y[0]) == std::vector<int>{10, 30, 30});
}

TEST_CASE("ConvInteger rejects malformed groups, kernels and zero points", "[quantized]") {
  auto x = u8({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  auto w = u8({2, 1, 1, 1}, {1, 1});
  auto run = [&](std::vector<ir::Tensor> in, Attrs attrs) {
    return thrown_kind([&] { conv_integer(std::move(in), std::move(attrs)); });
  };
  CHECK(run({x, w}, {}) == ErrorKind::BadInput);  // w has C/group = 1 but C = 2
  CHECK(run({x, w}, {{"group", ir::Attribute::of_int(0)}}) == ErrorKind::BadInput);
  CHECK(run({x, w}, {{"group", ir::Attribute::of_int(2)}, {"kernel_shape", ints_attr({2, 2})}}) ==
        ErrorKind::BadInput);
  CHECK(run({x, w, u8({2}, {0, 0})}, {{"group", ir::Attribute::of_int(2)}}) == ErrorKind::BadInput);
  CHECK(run({x, w, ir::Tensor::scalar<uint8_t>(0), u8({3}, {0, 0, 0})},
            {{"group", ir::Attribute::of_int(2)}}) == ErrorKind::BadInput);
  CHECK(run({x, u8({2, 1, 3, 3}, std::vector<uint8_t>(18, 1))},
            {{"group", ir::Attribute::of_int(2)}}) ==
        ErrorKind::BadInput);  // kernel larger than the input
  CHECK(run({x, w}, {{"auto_pad", ir::Attribute::of_string("SAME")}}) == ErrorKind::BadInput);
}

// ----------------------------------------------------------------------------- QLinearConv
TEST_CASE("QLinearConv uint8 1x1 (ONNX example)", "[quantized]") {
  QConv q{u8({1, 1, 7, 7},
             {255, 174, 162, 25,  203, 168, 58,  15,  59,  237, 95,  129, 0,  64,  56, 242, 153,
              221, 168, 12,  166, 232, 178, 186, 195, 237, 162, 237, 188, 39, 124, 77, 80,  102,
              43,  127, 230, 21,  83,  41,  40,  134, 255, 154, 92,  141, 42, 148, 247}),
          one(0.00369204697f),
          ir::Tensor::scalar<uint8_t>(132),
          u8({1, 1, 1, 1}, {0}),
          f32({1}, {0.00172794575f}),
          u8({1}, {255}),
          one(0.00162681262f),
          ir::Tensor::scalar<uint8_t>(123),
          {},
          {}};
  auto y = q.run();
  REQUIRE(y[0].shape() == ir::Shape{1, 1, 7, 7});
  CHECK(ints(y[0]) == std::vector<int>{0,   81,  93,  230, 52,  87,  197, 240, 196, 18,
                                       160, 126, 255, 191, 199, 13,  102, 34,  87,  243,
                                       89,  23,  77,  69,  60,  18,  93,  18,  67,  216,
                                       131, 178, 175, 153, 212, 128, 25,  234, 172, 214,
                                       215, 121, 0,   101, 163, 114, 213, 107, 8});
}

TEST_CASE("QLinearConv with pads, groups, bias and per-channel weight scales", "[quantized]") {
  // x - 10: channel 0 = [[0, 2], [4, 6]], channel 1 = all 10. Padding: one row on top.
  // group 2; w - w_zp: m0 = [[1, 1], [1, 1]], m1 = [[0, -2], [1, -1]].
  // acc m0 = [2, 12] + 3, m1 = [0, -20] + 100 -> [5, 15, 100, 80]
  // M = 0.5 * w_scale / 0.25 = [0.5, 0.2f]: 2.5 -> 2, 7.5 -> 8, 20, 16; + y_zp 100
  QConv q{u8({1, 2, 2, 2}, {10, 12, 14, 16, 20, 20, 20, 20}),
          one(0.5f),
          ir::Tensor::scalar<uint8_t>(10),
          i8({2, 1, 2, 2}, {1, 1, 1, 1, 1, -1, 2, 0}),
          f32({2}, {0.25f, 0.1f}),
          i8({2}, {0, 1}),
          one(0.25f),
          ir::Tensor::scalar<uint8_t>(100),
          i32({2}, {3, 100}),
          {{"group", ir::Attribute::of_int(2)}, {"pads", ints_attr({1, 0, 0, 0})}}};
  auto y = q.run();
  REQUIRE(y[0].shape() == ir::Shape{1, 2, 2, 1});
  REQUIRE(y[0].dtype() == ir::DType::UInt8);
  CHECK(ints(y[0]) == std::vector<int>{102, 108, 120, 116});
}

TEST_CASE("QLinearConv int8 saturates at both limits", "[quantized]") {
  // (127 - -128) * (127 - -128) = 65025 and (127 - -128) * (-128 - 127) = -65025
  QConv q{i8({1, 1, 1, 1}, {127}),
          one(1),
          ir::Tensor::scalar<int8_t>(-128),
          i8({2, 1, 1, 1}, {127, -128}),
          f32({2}, {1, 1}),
          i8({2}, {-128, 127}),
          one(1),
          ir::Tensor::scalar<int8_t>(0),
          {},
          {}};
  CHECK(ints(q.run()[0]) == std::vector<int>{127, -128});
}

TEST_CASE("QLinearConv rejects malformed scales, zero points and bias", "[quantized]") {
  QConv ok{u8({1, 2, 2, 2}, {10, 12, 14, 16, 20, 20, 20, 20}),
           one(0.5f),
           ir::Tensor::scalar<uint8_t>(10),
           i8({2, 1, 2, 2}, {1, 1, 1, 1, 1, -1, 2, 0}),
           f32({2}, {0.25f, 0.1f}),
           i8({2}, {0, 1}),
           one(0.25f),
           ir::Tensor::scalar<uint8_t>(100),
           {},
           {{"group", ir::Attribute::of_int(2)}}};
  REQUIRE(ints(ok.run()[0]) == std::vector<int>{106, 96});  // no pads: acc [12, -20]
  auto fails = [](QConv q) { return thrown_kind([&] { q.run(); }); };
  QConv q = ok;
  q.w_scale = f32({3}, {1, 1, 1});
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.w_zp = ir::Tensor::scalar<int8_t>(0);  // w_scale is per channel: shapes must match
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.x_scale = f32({2}, {1, 1});  // x is per tensor only
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.y_scale = one(0.0f);
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.bias = i32({3}, {0, 0, 0});
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.x_zp = ir::Tensor::scalar<int8_t>(0);
  CHECK(fails(q) == ErrorKind::BadInput);
  q = ok;
  q.bias = f32({2}, {0, 0});
  CHECK(fails(q) == ErrorKind::Unsupported);
}
