// Human-readable descriptions of the registry, all generated from the components' specs:
// `hone list [kind] [-v]` and docs/components.md (`hone list --markdown`).
#pragma once

#include "pipeline/registry.h"

#include <string>
#include <vector>

namespace hone::pipeline {

// One section per kind; with `verbose`, every parameter with type, default, allowed values and
// description under its component.
std::string list_text(const Registry& registry, const std::vector<ComponentKind>& kinds, bool verbose);

// The reference of every component and its parameters, plus the measurements block.
std::string list_markdown(const Registry& registry);

// A default as written in JSON ("\"test\"", "0", "[]"), or "(required)" / "(none)".
std::string default_str(const ParamSpec& p);

}  // namespace hone::pipeline
