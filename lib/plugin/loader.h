// Loading plugins (plugin.h) into the registry: from a pipeline's "plugins" list, from
// `--plugin PATH`, and from the folders in HONE_PLUGIN_PATH. Loading never takes hone down: a
// library that does not load, has no entry point, was built for another plugin API, fails to
// register, or registers a name that is already taken is one BadInput naming the file, and
// adds nothing to the registry.
#pragma once

#include "pipeline/registry.h"

#include <filesystem>
#include <string>
#include <vector>

namespace hone::plugin {

struct LoadedPlugin {
  std::string file;  // canonical path
  std::string name, version, description;
  std::vector<std::string> components;  // "optimizer prune_random", in registration order
};

// Loads one plugin library and adds its components to `registry`, each with origin
// "plugin NAME VERSION (FILE)". Loading the same file again is a no-op returning the first load.
// Libraries stay loaded until the process exits (registered factories point into them).
const LoadedPlugin& load_plugin(const std::filesystem::path& file,
                                pipeline::Registry& registry = pipeline::Registry::global());

// Every *.so file in each folder of HONE_PLUGIN_PATH (':'-separated; empty entries ignored), in
// name order. A listed folder that does not exist is a BadInput naming the variable.
void load_plugin_path(const std::string& hone_plugin_path,
                      pipeline::Registry& registry = pipeline::Registry::global());

// Plugins loaded into the global registry so far, in load order.
std::vector<LoadedPlugin> loaded_plugins();

}  // namespace hone::plugin
