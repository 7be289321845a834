#include "pipeline/registry.h"

#include "support/error.h"

namespace hone::pipeline {

Registry& Registry::global() {
  static Registry* registry = [] {
    auto* r = new Registry();
    register_builtins(*r);
    return r;
  }();
  return *registry;
}

void Registry::add(Registration r) {
  if (r.factory.index() != static_cast<size_t>(r.spec.kind)) {
    throw internal_error("component '{}': factory does not match kind {}", r.spec.name,
                         kind_name(r.spec.kind));
  }
  if (r.spec.name.empty()) throw bad_input("a {} component has an empty name", kind_name(r.spec.kind));
  if (const Registration* old = find(r.spec.kind, r.spec.name)) {
    throw bad_input("{} '{}' is already registered ({})", kind_name(r.spec.kind), r.spec.name,
                    old->spec.origin);
  }
  entries_.push_back(std::move(r));
}

const Registration* Registry::find(ComponentKind kind, std::string_view name) const {
  for (const auto& e : entries_) {
    if (e.spec.kind == kind && e.spec.name == name) return &e;
  }
  return nullptr;
}

std::vector<const Registration*> Registry::list(ComponentKind kind) const {
  std::vector<const Registration*> out;
  for (const auto& e : entries_) {
    if (e.spec.kind == kind) out.push_back(&e);
  }
  return out;
}

std::vector<std::string> Registry::names(ComponentKind kind) const {
  std::vector<std::string> out;
  for (const auto* e : list(kind)) out.push_back(e->spec.name);
  return out;
}

const Registration& Registry::get(ComponentKind kind, std::string_view name) const {
  if (const Registration* r = find(kind, name)) return *r;
  const std::vector<std::string> known = names(kind);
  std::string list;
  for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
  throw bad_input("unknown {} type '{}'{}; known: {}", kind_name(kind), name,
                  did_you_mean(name, known), list.empty() ? "none" : list);
}

}  // namespace hone::pipeline
