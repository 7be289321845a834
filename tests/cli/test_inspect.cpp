// `hone inspect`: output on a valid model, and one line + exit 2 on every kind of bad model file.
#include "cli_util.h"

#include "ir/graph.h"
#include "ir/onnx_io.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

using namespace hone;
using hone::test::quote;
using hone::test::run_hone;
namespace fs = std::filesystem;

namespace {

fs::path fixture_dir() {
  const fs::path d = fs::temp_directory_path() / ("hone_cli_fixtures_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// x[1,2,4,4] -> Conv(w[3,2,3,3], b[3], pad 1) -> Relu -> y[1,3,4,4]
ir::Model conv_model() {
  ir::Model m;
  ir::Graph& g = m.graph;
  g.opset_imports[""] = 13;
  g.inputs = {"x"};
  g.outputs = {"y"};
  ir::ValueInfo vx;
  vx.dtype = ir::DType::Float32;
  vx.shape = std::vector<ir::Dim>{{1, ""}, {2, ""}, {4, ""}, {4, ""}};
  g.values["x"] = vx;
  ir::ValueInfo vy = vx;
  (*vy.shape)[1].value = 3;
  g.values["y"] = vy;
  std::vector<float> w(3 * 2 * 3 * 3, 0.5f);
  w[0] = 0.0f;
  w[1] = 0.0f;
  g.initializers["w"] = ir::Tensor::from_vector<float>({3, 2, 3, 3}, w);
  g.initializers["b"] = ir::Tensor::from_vector<float>({3}, {0, 1, 2});
  ir::Node conv;
  conv.name = "conv";
  conv.op_type = "Conv";
  conv.inputs = {"x", "w", "b"};
  conv.outputs = {"c"};
  conv.attrs["pads"] = ir::Attribute::of_ints({1, 1, 1, 1});
  conv.attrs["kernel_shape"] = ir::Attribute::of_ints({3, 3});
  g.add_node(conv);
  ir::Node relu;
  relu.name = "relu";
  relu.op_type = "Relu";
  relu.inputs = {"c"};
  relu.outputs = {"y"};
  g.add_node(relu);
  return m;
}

fs::path write_bytes(const std::string& name, const std::string& bytes) {
  const fs::path p = fixture_dir() / name;
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

// A serialized model with one initializer replaced by `tensor`.
fs::path model_with_initializer(const std::string& name, const onnx::TensorProto& tensor) {
  onnx::ModelProto proto = ir::to_proto(conv_model());
  for (auto& init : *proto.mutable_graph()->mutable_initializer()) {
    if (init.name() == tensor.name()) init = tensor;
  }
  return write_bytes(name, proto.SerializeAsString());
}

void check_bad_input(const test::CommandResult& r, const std::string& file, const std::string& what) {
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err_lines() == 1);
  CHECK_THAT(r.err, Catch::Contains(file));
  CHECK_THAT(r.err, Catch::Contains(what));
  CHECK(r.out.empty());
}

}  // namespace

TEST_CASE("hone inspect --json reports parameters, MACs and shapes of a small model", "[cli][inspect]") {
  const fs::path path = fixture_dir() / "conv.onnx";
  ir::save_onnx(conv_model(), path.string());
  const auto r = run_hone("inspect --json " + quote(path));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  // Conv: 3*2*3*3 weights + 3 biases = 57 parameters; MACs = Cout*Hout*Wout*(Cin/g)*kH*kW
  // = 3*4*4*2*3*3 = 864.
  CHECK(j.dump().find("\"conv\"") != std::string::npos);
  CHECK(j.at("totals").at("parameters").get<int64_t>() == 57);
  CHECK(j.at("totals").at("macs").get<int64_t>() == 864);
  // 3 of the 57 parameters are zero: w[0], w[1] and b[0].
  CHECK(j.at("totals").at("zero_weight_fraction").get<double>() == Approx(3.0 / 57.0));
}

TEST_CASE("hone inspect prints a readable table", "[cli][inspect]") {
  const fs::path path = fixture_dir() / "conv_table.onnx";
  ir::save_onnx(conv_model(), path.string());
  const auto r = run_hone("inspect " + quote(path));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Conv"));
  CHECK_THAT(r.out, Catch::Contains("864"));
  CHECK(r.err.empty());
}

TEST_CASE("hone inspect: bad model files exit 2 with one line naming the problem", "[cli][inspect][bad-input]") {
  const fs::path good = fixture_dir() / "good.onnx";
  ir::save_onnx(conv_model(), good.string());
  const std::string bytes = test::slurp(good);

  SECTION("missing file") {
    const auto r = run_hone("inspect /nonexistent/model.onnx");
    check_bad_input(r, "/nonexistent/model.onnx", "no such file");
  }
  SECTION("truncated file") {
    const fs::path p = write_bytes("truncated.onnx", bytes.substr(0, bytes.size() / 2));
    check_bad_input(run_hone("inspect " + quote(p)), p.string(), "not an ONNX model");
  }
  SECTION("not an ONNX file at all") {
    const fs::path p = write_bytes("notes.onnx", "these are not the weights you are looking for\n");
    check_bad_input(run_hone("inspect " + quote(p)), p.string(), "ONNX");
  }
  SECTION("empty file") {
    const fs::path p = write_bytes("empty.onnx", "");
    check_bad_input(run_hone("inspect " + quote(p)), p.string(), "empty");
  }
  SECTION("initializer whose data size contradicts its shape") {
    onnx::TensorProto t;
    t.set_name("w");
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : {3, 2, 3, 3}) t.add_dims(d);
    t.set_raw_data(std::string(10, '\0'));
    const fs::path p = model_with_initializer("size_mismatch.onnx", t);
    const auto r = run_hone("inspect " + quote(p));
    check_bad_input(r, p.string(), "'w'");
  }
  SECTION("a tensor that claims 10^12 elements") {
    onnx::TensorProto t;
    t.set_name("w");
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : {1000000, 1000000, 1, 1}) t.add_dims(d);
    t.set_raw_data(std::string(16, '\0'));
    const fs::path p = model_with_initializer("huge.onnx", t);
    check_bad_input(run_hone("inspect " + quote(p)), p.string(), "'w'");
  }
  SECTION("an unknown operator") {
    onnx::ModelProto proto = ir::to_proto(conv_model());
    proto.mutable_graph()->mutable_node(1)->set_op_type("Frobnicate");
    const fs::path p = write_bytes("unknown_op.onnx", proto.SerializeAsString());
    check_bad_input(run_hone("inspect " + quote(p)), p.string(), "Frobnicate");
  }
  SECTION("usage: no model given") {
    const auto r = run_hone("inspect");
    CHECK(r.exit_code == 2);
    CHECK(r.err_lines() == 1);
  }
}
