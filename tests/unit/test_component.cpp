// Parameter schemas: validation messages name the JSON path and what was expected.
#include "pipeline/component.h"
#include "support/error.h"

#include <catch2/catch.hpp>

using namespace hone;
using namespace hone::pipeline;
using nlohmann::json;

namespace {
ComponentSpec quantize_spec() {
  ComponentSpec s;
  s.kind = ComponentKind::Optimizer;
  s.name = "quantize_static";
  s.params = {
      {"bits", ParamType::Int, 8, false, 2, 8, {}, "weight bits"},
      {"calibration", ParamType::String, "minmax", false, {}, {}, {"minmax", "ema", "percentile"}, ""},
      {"per_channel", ParamType::Bool, true, false, {}, {}, {}, ""},
      {"percentile", ParamType::Float, 99.99, false, 50.0, 100.0, {}, ""},
      {"exclude", ParamType::StringList, json::array(), false, {}, {}, {}, ""},
      {"model_path", ParamType::Path, nullptr, true, {}, {}, {}, ""},
  };
  return s;
}

std::string error_of(const json& params) {
  try {
    validate_parameters(quantize_spec(), params, "/optimizers/1/parameters");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("validate_parameters fills defaults", "[pipeline][schema]") {
  const json out = validate_parameters(quantize_spec(), {{"model_path", "m.onnx"}, {"bits", 4}}, "/p");
  CHECK(out.at("bits") == 4);
  CHECK(out.at("calibration") == "minmax");
  CHECK(out.at("per_channel") == true);
  CHECK(out.at("exclude") == json::array());
  CHECK(out.at("percentile").get<double>() == Approx(99.99));
}

TEST_CASE("validate_parameters names the JSON path and the expectation", "[pipeline][schema]") {
  CHECK(error_of({{"model_path", "m"}, {"bits", "eight"}}) ==
        "/optimizers/1/parameters/bits: expected an integer in [2, 8], got \"eight\"");
  CHECK(error_of({{"model_path", "m"}, {"bits", 9}}) ==
        "/optimizers/1/parameters/bits: expected an integer in [2, 8], got 9");
  CHECK(error_of({{"model_path", "m"}, {"bits", 4.5}}) ==
        "/optimizers/1/parameters/bits: expected an integer in [2, 8], got 4.5");
  CHECK(error_of({{"model_path", "m"}, {"calibration", "kl"}}) ==
        "/optimizers/1/parameters/calibration: expected one of minmax, ema, percentile, got \"kl\"");
  CHECK(error_of({{"model_path", "m"}, {"exclude", {"a", 3}}}) ==
        "/optimizers/1/parameters/exclude: expected a list, each element a string, got [\"a\",3]");
  CHECK(error_of({{"bits", 4}}) ==
        "/optimizers/1/parameters: missing required parameter 'model_path' (a path) of optimizer "
        "'quantize_static'");
  CHECK(error_of(json::array()) == "/optimizers/1/parameters: expected an object of parameters, got []");
}

TEST_CASE("unknown parameters are errors with a did-you-mean", "[pipeline][schema]") {
  CHECK(error_of({{"model_path", "m"}, {"per_chanel", true}}) ==
        "/optimizers/1/parameters/per_chanel: unknown parameter of optimizer 'quantize_static' "
        "(did you mean 'per_channel'?)");
  CHECK(error_of({{"model_path", "m"}, {"zzz", 1}}) ==
        "/optimizers/1/parameters/zzz: unknown parameter of optimizer 'quantize_static'; its parameters: "
        "bits, calibration, per_channel, percentile, exclude, model_path");
}

TEST_CASE("kind names parse in singular and plural", "[pipeline][schema]") {
  CHECK(parse_kind("optimizers") == ComponentKind::Optimizer);
  CHECK(parse_kind("model_wrapper") == ComponentKind::ModelWrapper);
  CHECK_FALSE(parse_kind("optimizerz").has_value());
  CHECK(kind_name(ComponentKind::Platform) == "platform");
}
