// IR: dtype conversions, Tensor bounds, Graph mutation helpers, ONNX round trip.
#include "ir/graph.h"
#include "ir/onnx_io.h"
#include "runtime/reference/interpreter.h"

#include <catch2/catch.hpp>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

using namespace hone;
namespace fs = std::filesystem;

TEST_CASE("float16 conversion rounds to nearest even and handles the edges", "[ir][dtype]") {
  CHECK(ir::f32_to_f16(1.0f).bits == 0x3c00);
  CHECK(ir::f32_to_f16(-2.0f).bits == 0xc000);
  CHECK(ir::f32_to_f16(65504.0f).bits == 0x7bff);       // largest finite half
  CHECK(ir::f32_to_f16(65520.0f).bits == 0x7c00);       // rounds up to +inf
  CHECK(ir::f32_to_f16(std::ldexp(1.0f, -24)).bits == 0x0001);  // smallest subnormal
  CHECK(ir::f32_to_f16(std::ldexp(1.0f, -25)).bits == 0x0000);  // tie -> even (zero)
  CHECK(ir::f32_to_f16(std::ldexp(3.0f, -25)).bits == 0x0002);  // 1.5 ulp -> tie -> even (2)
  CHECK(ir::f32_to_f16(0.1f).bits == 0x2e66);
  CHECK(ir::f32_to_f16(1.0f + std::ldexp(1.0f, -11)).bits == 0x3c00);  // tie -> even
  CHECK(ir::f32_to_f16(1.0f + std::ldexp(3.0f, -11)).bits == 0x3c02);  // tie -> even (up)
  CHECK(std::isnan(ir::f16_to_f32(ir::f32_to_f16(std::nanf("")))));
  for (uint32_t b = 0; b < 0x7c00; ++b) {  // every finite half survives a round trip
    const ir::Float16 h{static_cast<uint16_t>(b)};
    REQUIRE(ir::f32_to_f16(ir::f16_to_f32(h)).bits == b);
  }
  CHECK(ir::f32_to_bf16(1.0f).bits == 0x3f80);
  CHECK(ir::bf16_to_f32(ir::BFloat16{0x4049}) == Approx(3.140625f));
}

TEST_CASE("Tensor refuses shapes that ask for absurd element counts", "[ir][bounds]") {
  CHECK_THROWS_WITH(ir::checked_numel({1000000, 1000000}), Catch::Contains("more than"));
  CHECK_THROWS_WITH(ir::checked_numel({2, -1}), Catch::Contains("negative dimension"));
  CHECK(ir::checked_numel({}) == 1);
  CHECK(ir::checked_numel({3, 0, 5}) == 0);
  // Empty, but its other dims would overflow any kernel that multiplies them.
  CHECK_THROWS_WITH(ir::checked_numel({0, int64_t{1} << 40, int64_t{1} << 40}), Catch::Contains("more than"));
  auto t = ir::Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.reshaped({3, 2}).get_as_double(5) == 6.0);
  const auto odd = ir::Tensor::from_vector<double>({3}, {std::nan(""), 1e30, -1e30});
  CHECK(odd.get_as_int64(0) == 0);
  CHECK(odd.get_as_int64(1) == INT64_MAX);
  CHECK(odd.get_as_int64(2) == INT64_MIN);
  CHECK_THROWS_AS(t.reshaped({4}), Error);
  CHECK_THROWS_AS(t.data<int32_t>(), Error);
  auto c = t.clone();
  c.data<float>()[0] = 9;
  CHECK(t.data<float>()[0] == 1.0f);  // clone does not alias
}

namespace {
ir::Node node(std::string name, std::string op, std::vector<std::string> in,
              std::vector<std::string> out) {
  ir::Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x -> Relu -> a -> Add(a, w) -> y
ir::Model tiny_model() {
  ir::Model m;
  ir::Graph& g = m.graph;
  g.opset_imports[""] = 13;
  g.inputs = {"x"};
  g.outputs = {"y"};
  ir::ValueInfo vi;
  vi.dtype = ir::DType::Float32;
  vi.shape = std::vector<ir::Dim>{{-1, "N"}, {3, ""}};
  g.values["x"] = vi;
  g.values["y"] = vi;
  g.initializers["w"] = ir::Tensor::from_vector<float>({3}, {0.5f, -1.0f, 2.0f});
  g.add_node(node("relu", "Relu", {"x"}, {"a"}));
  g.add_node(node("add", "Add", {"a", "w"}, {"y"}));
  return m;
}

bool same_graph(const ir::Graph& a, const ir::Graph& b, std::string& why) {
  if (a.inputs != b.inputs) return why = "inputs differ", false;
  if (a.outputs != b.outputs) return why = "outputs differ", false;
  if (a.opset_imports != b.opset_imports) return why = "opsets differ", false;
  if (a.nodes.size() != b.nodes.size()) return why = "node counts differ", false;
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const ir::Node& x = *a.nodes[i];
    const ir::Node& y = *b.nodes[i];
    if (x.name != y.name || x.op_type != y.op_type || x.domain != y.domain ||
        x.inputs != y.inputs || x.outputs != y.outputs || x.attrs != y.attrs) {
      return why = "node " + x.name + " differs", false;
    }
  }
  if (a.initializers.size() != b.initializers.size()) return why = "initializer counts differ", false;
  for (const auto& [k, t] : a.initializers) {
    const ir::Tensor* o = b.initializer(k);
    if (!o || !o->identical(t)) return why = "initializer " + k + " differs", false;
  }
  for (const auto& io : {a.inputs, a.outputs}) {
    for (const auto& v : io) {
      const ir::ValueInfo* va = a.value_info(v);
      const ir::ValueInfo* vb = b.value_info(v);
      if ((va == nullptr) != (vb == nullptr) || (va && !(*va == *vb))) {
        return why = "value info of " + v + " differs", false;
      }
    }
  }
  return true;
}
}  // namespace

TEST_CASE("Graph mutation helpers keep names unique and uses consistent", "[ir][graph]") {
  ir::Model m = tiny_model();
  ir::Graph& g = m.graph;
  CHECK(g.producer("a")->name == "relu");
  CHECK(g.consumers("a").size() == 1);
  CHECK(g.unique_name("a") == "a_1");
  CHECK(g.unique_name("fresh") == "fresh");
  const std::string w2 = g.add_initializer("w", ir::Tensor::scalar(1.0f));
  CHECK(w2 == "w_1");
  CHECK(g.is_initializer("w_1"));

  // Bypass the Relu: Add reads x directly, then the Relu is dead and removed.
  g.replace_all_uses("a", "x");
  CHECK(g.nodes[1]->inputs[0] == "x");
  g.remove_node(g.producer("a"));
  g.remove_unused();
  CHECK(g.nodes.size() == 1);
  CHECK_FALSE(g.is_initializer("w_1"));  // nothing reads it
}

TEST_CASE("topological_sort orders nodes and reports cycles and dangling inputs", "[ir][graph]") {
  ir::Model m = tiny_model();
  std::swap(m.graph.nodes[0], m.graph.nodes[1]);
  m.graph.topological_sort();
  CHECK(m.graph.nodes[0]->name == "relu");

  ir::Graph cyc;
  cyc.inputs = {"x"};
  cyc.add_node(node("p", "Add", {"x", "q_out"}, {"p_out"}));
  cyc.add_node(node("q", "Relu", {"p_out"}, {"q_out"}));
  CHECK_THROWS_WITH(cyc.topological_sort(), Catch::Contains("cycle"));

  ir::Graph dangling;
  dangling.inputs = {"x"};
  dangling.add_node(node("p", "Add", {"x", "ghost"}, {"y"}));
  CHECK_THROWS_WITH(dangling.topological_sort(), Catch::Contains("ghost"));
}

TEST_CASE("An exported model passes the checker and reloads as the same graph", "[ir][onnx]") {
  const ir::Model m = tiny_model();
  const fs::path path = fs::temp_directory_path() / "hone_test_tiny.onnx";
  ir::save_onnx(m, path.string());
  const ir::Model back = ir::load_onnx(path.string());
  std::string why;
  CHECK(same_graph(m.graph, back.graph, why));
  INFO(why);
  // Shape inference filled the intermediate value.
  REQUIRE(back.graph.value_info("a") != nullptr);
  CHECK(back.graph.value_info("a")->dtype == ir::DType::Float32);
  fs::remove(path);
}

TEST_CASE("save_onnx refuses an invalid graph and leaves the old file intact", "[ir][onnx]") {
  const fs::path path = fs::temp_directory_path() / "hone_test_keep.onnx";
  ir::save_onnx(tiny_model(), path.string());
  const auto size_before = fs::file_size(path);
  ir::Model bad = tiny_model();
  bad.graph.nodes[0]->op_type = "NoSuchOp";
  CHECK_THROWS_AS(ir::save_onnx(bad, path.string()), Error);
  CHECK(fs::file_size(path) == size_before);
  CHECK_NOTHROW(ir::load_onnx(path.string()));
  fs::remove(path);
}

TEST_CASE("Import rejects bad tensors with a message naming them", "[ir][onnx]") {
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(3);
  p.add_dims(3);
  p.set_raw_data(std::string(10, '\0'));
  CHECK_THROWS_WITH(ir::tensor_from_proto(p), Catch::Contains("'w'") && Catch::Contains("36"));
  p.clear_dims();
  p.add_dims(1000000);
  p.add_dims(1000000);
  CHECK_THROWS_WITH(ir::tensor_from_proto(p), Catch::Contains("more than"));
  p.clear_raw_data();
  p.clear_dims();
  p.add_dims(2);
  p.add_float_data(1.0f);
  CHECK_THROWS_WITH(ir::tensor_from_proto(p), Catch::Contains("float_data"));
}

TEST_CASE("External data is read from files next to the model, within bounds", "[ir][onnx]") {
  const fs::path dir = fs::temp_directory_path() / "hone_test_external";
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "weights.bin", std::ios::binary);
    const float v[4] = {1, 2, 3, 4};
    f.write("pad!", 4);
    f.write(reinterpret_cast<const char*>(v), sizeof v);
  }
  onnx::TensorProto p;
  p.set_name("w");
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.add_dims(4);
  p.set_data_location(onnx::TensorProto::EXTERNAL);
  auto add_kv = [&](const char* k, const char* v) {
    auto* e = p.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add_kv("location", "weights.bin");
  add_kv("offset", "4");
  add_kv("length", "16");
  const ir::Tensor t = ir::tensor_from_proto(p, dir.string());
  CHECK(t.get_as_double(3) == 4.0);
  p.mutable_external_data(1)->set_value("8");  // would read past the end of the file
  CHECK_THROWS_WITH(ir::tensor_from_proto(p, dir.string()), Catch::Contains("does not match"));
  p.mutable_external_data(0)->set_value("../etc/passwd");
  CHECK_THROWS_WITH(ir::tensor_from_proto(p, dir.string()), Catch::Contains("relative path"));
  fs::remove_all(dir);
}

// Every ONNX backend test model hone can load survives export -> load unchanged, and where the
// reference interpreter runs it, gives bit-identical outputs before and after.
TEST_CASE("Round trip over every conformance model: same graph, bit-identical outputs",
          "[ir][onnx][roundtrip]") {
  const fs::path root = "/usr/share/libonnx-testdata/data";
  if (!fs::exists(root)) {
    WARN("libonnx-testdata is not installed; skipping");
    return;
  }
  int loaded = 0;
  int executed = 0;
  for (const char* group : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    for (const auto& entry : fs::directory_iterator(root / group)) {
      const fs::path model_path = entry.path() / "model.onnx";
      ir::Model m;
      try {
        m = ir::load_onnx(model_path.string());
      } catch (const Error& e) {
        continue;  // unsupported here (e.g. subgraphs); the conformance runner reports these
      }
      ++loaded;
      INFO(model_path.string());
      const ir::Model back = ir::load_onnx_bytes(ir::serialize_onnx(m), "roundtrip", "");
      std::string why;
      CHECK(same_graph(m.graph, back.graph, why));
      if (!why.empty()) FAIL_CHECK(why);

      std::vector<ir::Tensor> inputs;
      std::vector<ir::Tensor> out1, out2;
      try {
        const fs::path set = entry.path() / "test_data_set_0";
        for (int i = 0; fs::exists(set / ("input_" + std::to_string(i) + ".pb")); ++i) {
          inputs.push_back(ir::load_tensor_pb((set / ("input_" + std::to_string(i) + ".pb")).string()));
        }
        out1 = runtime::ReferenceInterpreter(m.graph).run(inputs);
      } catch (const Error&) {
        continue;  // not executable by the reference interpreter (op, dtype or input type)
      }
      out2 = runtime::ReferenceInterpreter(back.graph).run(inputs);
      ++executed;
      REQUIRE(out1.size() == out2.size());
      for (size_t i = 0; i < out1.size(); ++i) CHECK(out1[i].identical(out2[i]));
    }
  }
  CHECK(loaded > 800);
  INFO("executed " << executed);
  CHECK(executed > 0);
}
