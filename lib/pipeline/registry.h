// The component registry: every model wrapper, dataset, optimizer pass, compiler, runtime and
// platform hone knows, each with its parameter schema (ComponentSpec) and a typed factory.
// Built-ins are added from the one list in pipeline/builtins.cpp; plugins (a later issue) call
// Registry::add the same way, so `hone list`, validation and docs see them alike.
#pragma once

#include "pipeline/component.h"
#include "support/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace hone::datasets { class Dataset; }
namespace hone::models { class ModelWrapper; }
namespace hone::passes { class Pass; }
namespace hone::compilers { class Compiler; }
namespace hone::runtime { class RuntimeComponent; }
namespace hone::platforms { class Platform; }

namespace hone::pipeline {

// What a factory may know besides its validated parameters.
struct BuildContext {
  std::filesystem::path base_dir;   // the pipeline file's folder (Path parameters are already
                                    // resolved against it; kept for components that need it)
  std::string file;                 // the pipeline file, for error messages
  std::string json_path;            // this component's "/dataset/parameters", for error messages
  // The model's input without its batch dimension, e.g. {1, 28, 28}; set before the dataset is
  // built so synthetic datasets can match it. Empty when not known.
  std::vector<int64_t> model_sample_shape;
  int64_t model_classes = 0;        // outputs per sample of a classifier; 0 when not a classifier
};

template <typename T>
using Factory = std::function<std::unique_ptr<T>(const nlohmann::json& params, const BuildContext&)>;

// The alternative's index equals the ComponentKind's value.
using AnyFactory =
    std::variant<Factory<models::ModelWrapper>, Factory<datasets::Dataset>, Factory<passes::Pass>,
                 Factory<compilers::Compiler>, Factory<runtime::RuntimeComponent>,
                 Factory<platforms::Platform>>;

struct Registration {
  ComponentSpec spec;
  AnyFactory factory;
};

template <typename T> constexpr ComponentKind kind_of();
template <> constexpr ComponentKind kind_of<models::ModelWrapper>() { return ComponentKind::ModelWrapper; }
template <> constexpr ComponentKind kind_of<datasets::Dataset>() { return ComponentKind::Dataset; }
template <> constexpr ComponentKind kind_of<passes::Pass>() { return ComponentKind::Optimizer; }
template <> constexpr ComponentKind kind_of<compilers::Compiler>() { return ComponentKind::Compiler; }
template <> constexpr ComponentKind kind_of<runtime::RuntimeComponent>() { return ComponentKind::Runtime; }
template <> constexpr ComponentKind kind_of<platforms::Platform>() { return ComponentKind::Platform; }

// Builds a Registration, setting spec.kind from the factory's interface type.
template <typename T>
Registration make_registration(ComponentSpec spec, Factory<T> factory) {
  spec.kind = kind_of<T>();
  return Registration{std::move(spec), AnyFactory(std::in_place_index<static_cast<size_t>(kind_of<T>())>,
                                                  std::move(factory))};
}

class Registry {
 public:
  // The process-wide registry, with every built-in component added on first use.
  static Registry& global();

  // Throws BadInput when (kind, name) is already taken: "optimizer 'x' is already registered
  // (built-in)".
  void add(Registration r);

  const Registration* find(ComponentKind kind, std::string_view name) const;
  // In registration order.
  std::vector<const Registration*> list(ComponentKind kind) const;
  std::vector<std::string> names(ComponentKind kind) const;

  // Like find, but throws BadInput "unknown dataset 'idxx' (did you mean 'idx'?); known: ...".
  const Registration& get(ComponentKind kind, std::string_view name) const;

 private:
  std::vector<Registration> entries_;
};

// Creates the component `r` registers from already-validated parameters. T must be the
// interface of r's kind (an internal error otherwise).
template <typename T>
std::unique_ptr<T> create(const Registration& r, const nlohmann::json& params, const BuildContext& ctx) {
  constexpr size_t index = static_cast<size_t>(kind_of<T>());
  const auto* factory = std::get_if<index>(&r.factory);
  if (!factory) throw internal_error("component '{}' is not a {}", r.spec.name, kind_name(kind_of<T>()));
  return (*factory)(params, ctx);
}

// The one list of built-in components (pipeline/builtins.cpp).
void register_builtins(Registry& registry);

}  // namespace hone::pipeline
