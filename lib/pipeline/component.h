// Self-describing pipeline components. Every component (model wrapper, dataset, optimizer pass,
// compiler, runtime, platform) declares its parameters once, as a ComponentSpec; that one
// declaration drives JSON validation, defaults, `hone list [-v]` and the docs. Plugins declare
// theirs the same way.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hone::pipeline {

enum class ComponentKind { ModelWrapper, Dataset, Optimizer, Compiler, Runtime, Platform };
inline constexpr ComponentKind kAllKinds[] = {
    ComponentKind::ModelWrapper, ComponentKind::Dataset, ComponentKind::Optimizer,
    ComponentKind::Compiler,     ComponentKind::Runtime, ComponentKind::Platform};

// "model_wrapper", "dataset", "optimizer", "compiler", "runtime", "platform": the pipeline's keys.
std::string_view kind_name(ComponentKind kind);
// Accepts the singular or plural ("optimizers", "platforms").
std::optional<ComponentKind> parse_kind(std::string_view word);

enum class ParamType { Bool, Int, Float, String, Path, IntList, FloatList, StringList };
std::string_view param_type_name(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::String;
  nlohmann::json default_value;     // null when there is no default
  bool required = false;
  std::optional<double> min;        // inclusive range for numbers (each element of a list)
  std::optional<double> max;
  std::vector<std::string> choices; // allowed values of a string (each element of a list)
  std::string description;

  // "an integer in [2, 8]", "one of minmax, ema", "a path": what validation says it expected.
  std::string expectation() const;
};

struct ComponentSpec {
  ComponentKind kind = ComponentKind::Optimizer;
  std::string name;
  std::string description;
  std::vector<ParamSpec> params;
  std::string origin = "built-in";  // a plugin's file for plugin components
  // Optimizers only: false when listing the pass twice in one pipeline makes no sense (a
  // second run is a no-op the user did not mean, or would compound, like quantizing twice).
  bool repeatable = true;
  // Facts besides the parameters that `hone list -v` and the docs show, in order: a platform's
  // ("architecture", "aarch64, Linux"), ("run", ...).
  std::vector<std::pair<std::string, std::string>> details;

  const ParamSpec* param(std::string_view name) const;
};

// Checks a component's "parameters" object against its spec and returns it with every default
// filled in. `json_path` is the JSON pointer of that object ("/optimizers/1/parameters"); errors
// are BadInput naming the member: "/optimizers/1/parameters/bits: expected an integer in [2, 8],
// got \"eight\"". Unknown members are errors with a did-you-mean suggestion.
nlohmann::json validate_parameters(const ComponentSpec& spec, const nlohmann::json& params,
                                   const std::string& json_path);

// A JSON value as an error message quotes it: its JSON text, cut to 60 characters.
std::string shown(const nlohmann::json& v);

// " (did you mean 'bits'?)" when a candidate is within a small edit distance, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace hone::pipeline
