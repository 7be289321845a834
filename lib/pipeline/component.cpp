#include "pipeline/component.h"

#include "support/error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

namespace hone::pipeline {

std::string_view kind_name(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::ModelWrapper: return "model_wrapper";
    case ComponentKind::Dataset: return "dataset";
    case ComponentKind::Optimizer: return "optimizer";
    case ComponentKind::Compiler: return "compiler";
    case ComponentKind::Runtime: return "runtime";
    case ComponentKind::Platform: return "platform";
  }
  return "?";
}

std::optional<ComponentKind> parse_kind(std::string_view word) {
  for (ComponentKind k : kAllKinds) {
    const std::string_view n = kind_name(k);
    if (word == n || (word.size() == n.size() + 1 && word.substr(0, n.size()) == n && word.back() == 's')) {
      return k;
    }
  }
  return std::nullopt;
}

std::string_view param_type_name(ParamType type) {
  switch (type) {
    case ParamType::Bool: return "bool";
    case ParamType::Int: return "int";
    case ParamType::Float: return "float";
    case ParamType::String: return "string";
    case ParamType::Path: return "path";
    case ParamType::IntList: return "list of int";
    case ParamType::FloatList: return "list of float";
    case ParamType::StringList: return "list of string";
  }
  return "?";
}

namespace {

std::string number_str(double v) {
  return v == std::floor(v) && std::fabs(v) < 1e15 ? fmt::format("{}", static_cast<int64_t>(v))
                                                    : fmt::format("{}", v);
}

std::string range_str(const ParamSpec& p) {
  if (p.min && p.max) return fmt::format(" in [{}, {}]", number_str(*p.min), number_str(*p.max));
  if (p.min) return fmt::format(" >= {}", number_str(*p.min));
  if (p.max) return fmt::format(" <= {}", number_str(*p.max));
  return "";
}

std::string choices_str(const ParamSpec& p) {
  std::string s;
  for (const auto& c : p.choices) s += (s.empty() ? "" : ", ") + c;
  return s;
}

// The element rule of a scalar or list parameter.
ParamType element_type(ParamType t) {
  switch (t) {
    case ParamType::IntList: return ParamType::Int;
    case ParamType::FloatList: return ParamType::Float;
    case ParamType::StringList: return ParamType::String;
    default: return t;
  }
}

bool is_list(ParamType t) {
  return t == ParamType::IntList || t == ParamType::FloatList || t == ParamType::StringList;
}

// True when `v` satisfies the element rule of `p` (type, range, choices).
bool element_ok(const ParamSpec& p, const nlohmann::json& v) {
  switch (element_type(p.type)) {
    case ParamType::Bool: return v.is_boolean();
    case ParamType::Int:
    case ParamType::Float: {
      if (element_type(p.type) == ParamType::Int ? !v.is_number_integer() : !v.is_number()) return false;
      const double d = v.get<double>();
      return (!p.min || d >= *p.min) && (!p.max || d <= *p.max);
    }
    case ParamType::String:
    case ParamType::Path:
      if (!v.is_string()) return false;
      return p.choices.empty() ||
             std::find(p.choices.begin(), p.choices.end(), v.get<std::string>()) != p.choices.end();
    default: return false;
  }
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string ParamSpec::expectation() const {
  const ParamType e = element_type(type);
  std::string what;
  switch (e) {
    case ParamType::Bool: what = "true or false"; break;
    case ParamType::Int: what = "an integer" + range_str(*this); break;
    case ParamType::Float: what = "a number" + range_str(*this); break;
    case ParamType::Path: what = "a path"; break;
    default:
      what = choices.empty() ? "a string" : "one of " + choices_str(*this);
      break;
  }
  return is_list(type) ? "a list, each element " + what : what;
}

const ParamSpec* ComponentSpec::param(std::string_view name) const {
  for (const auto& p : params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best.empty() ? "" : fmt::format(" (did you mean '{}'?)", best);
}

std::string shown(const nlohmann::json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

nlohmann::json validate_parameters(const ComponentSpec& spec, const nlohmann::json& params,
                                   const std::string& json_path) {
  if (!params.is_null() && !params.is_object()) {
    throw bad_input("expected an object of parameters, got {}", shown(params)).with_json_path(json_path);
  }
  std::vector<std::string> names;
  for (const auto& p : spec.params) names.push_back(p.name);
  nlohmann::json out = nlohmann::json::object();
  if (params.is_object()) {
    for (const auto& [key, value] : params.items()) {
      const ParamSpec* p = spec.param(key);
      if (!p) {
        std::string hint = names.empty() ? ": it takes no parameters" : did_you_mean(key, names);
        if (hint.empty()) hint = fmt::format("; its parameters: {}", fmt::join(names, ", "));
        throw bad_input("unknown parameter of {} '{}'{}", kind_name(spec.kind), spec.name, hint)
            .with_json_path(json_path + "/" + key);
      }
      if (value.is_null() && !p->required) continue;
      bool ok = is_list(p->type) ? value.is_array() : element_ok(*p, value);
      if (ok && is_list(p->type)) {
        for (const auto& e : value) ok = ok && element_ok(*p, e);
      }
      if (!ok) {
        throw bad_input("expected {}, got {}", p->expectation(), shown(value))
            .with_json_path(json_path + "/" + key);
      }
      out[key] = value;
    }
  }
  for (const auto& p : spec.params) {
    if (out.contains(p.name)) continue;
    if (p.required) {
      throw bad_input("missing required parameter '{}' ({}) of {} '{}'", p.name, p.expectation(),
                      kind_name(spec.kind), spec.name)
          .with_json_path(json_path);
    }
    out[p.name] = p.default_value;
  }
  return out;
}

}  // namespace hone::pipeline
