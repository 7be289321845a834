#include "plugin/loader.h"

#include "plugin/plugin.h"
#include "support/error.h"

#include <dlfcn.h>

#include <algorithm>
#include <deque>
#include <regex>
#include <set>

namespace hone::plugin {

namespace fs = std::filesystem;

namespace {

struct Record {
  const pipeline::Registry* registry;
  LoadedPlugin plugin;
};

// A deque: load_plugin returns references into it.
std::deque<Record>& records() {
  static std::deque<Record> r;
  return r;
}

Error plugin_error(const std::string& file, const std::string& msg) {
  return bad_input("{}", msg).with_file(file);
}

}  // namespace

const LoadedPlugin& load_plugin(const fs::path& file, pipeline::Registry& registry) {
  const std::string shown_file = file.string();
  std::error_code ec;
  if (!fs::exists(file, ec)) throw plugin_error(shown_file, "no such plugin file");
  if (fs::is_directory(file, ec)) throw plugin_error(shown_file, "is a folder, expected a plugin library (.so)");
  const std::string path = fs::canonical(file, ec).string();
  for (const auto& r : records()) {
    if (r.registry == &registry && r.plugin.file == path) return r.plugin;
  }

  // RTLD_NOW: an unresolved symbol fails here, not in the middle of a run. RTLD_LOCAL: two plugins'
  // private symbols never collide.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    throw plugin_error(shown_file, fmt::format("cannot load plugin: {}", why ? why : "unknown reason"));
  }
  auto entry = reinterpret_cast<hone_plugin_entry_fn>(dlsym(handle, HONE_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    dlclose(handle);  // none of its code has run: safe to unload
    throw plugin_error(shown_file, fmt::format("not a hone plugin: it exports no '{}' (write it with HONE_PLUGIN, "
                                               "docs/plugins.md)", HONE_PLUGIN_ENTRY_SYMBOL));
  }
  // From here on the library stays loaded even when it is rejected: objects it created may still
  // be alive, and hone exits soon after a rejected plugin anyway.
  const hone_plugin_info* info = entry();
  if (!info) throw plugin_error(shown_file, "the plugin's entry point returned no plugin info");
  if (info->api_version != HONE_PLUGIN_API_VERSION) {
    throw plugin_error(shown_file, fmt::format("built for plugin API version {}, this hone supports version {}; "
                                               "rebuild the plugin against this hone's SDK",
                                               info->api_version, HONE_PLUGIN_API_VERSION));
  }
  const std::string name = info->name ? info->name : "";
  if (!std::regex_match(name, std::regex("[A-Za-z0-9_.+-]+"))) {
    throw plugin_error(shown_file, fmt::format("plugin name '{}' is not letters, digits and _.+-", name));
  }
  for (const auto& r : records()) {
    if (r.registry == &registry && r.plugin.name == name) {
      throw plugin_error(shown_file, fmt::format("a plugin named '{}' is already loaded from {}", name, r.plugin.file));
    }
  }
  if (!info->register_components) throw plugin_error(shown_file, "the plugin has no register function");

  LoadedPlugin p;
  p.file = path;
  p.name = name;
  p.version = info->version ? info->version : "";
  p.description = info->description ? info->description : "";

  Registrar registrar;
  char message[512] = {0};
  if (info->register_components(reinterpret_cast<hone_plugin_registrar*>(&registrar), message, sizeof message) != 0) {
    message[sizeof message - 1] = '\0';
    throw plugin_error(shown_file, fmt::format("plugin '{}' failed to register its components: {}", name,
                                               message[0] ? message : "no reason given"));
  }
  // Check everything before adding anything: a rejected plugin leaves the registry as it was.
  const std::string origin = fmt::format("plugin {} {} ({})", p.name, p.version, path);
  std::set<std::pair<int, std::string>> names;
  for (auto& reg : registrar.staged()) {
    const auto kind = reg.spec.kind;
    if (reg.factory.index() != static_cast<size_t>(kind)) {
      throw plugin_error(shown_file, fmt::format("plugin '{}': component '{}' has a factory of another kind than "
                                                 "{} (use make_registration)", name, reg.spec.name,
                                                 pipeline::kind_name(kind)));
    }
    if (reg.spec.name.empty()) {
      throw plugin_error(shown_file, fmt::format("plugin '{}' registers a {} with an empty name", name,
                                                 pipeline::kind_name(kind)));
    }
    if (const auto* old = registry.find(kind, reg.spec.name)) {
      throw plugin_error(shown_file, fmt::format("plugin '{}': {} '{}' is already registered ({})", name,
                                                 pipeline::kind_name(kind), reg.spec.name, old->spec.origin));
    }
    if (!names.insert({static_cast<int>(kind), reg.spec.name}).second) {
      throw plugin_error(shown_file, fmt::format("plugin '{}' registers {} '{}' twice", name,
                                                 pipeline::kind_name(kind), reg.spec.name));
    }
    reg.spec.origin = origin;
  }
  for (auto& reg : registrar.staged()) {
    p.components.push_back(fmt::format("{} {}", pipeline::kind_name(reg.spec.kind), reg.spec.name));
    registry.add(std::move(reg));
  }
  records().push_back({&registry, p});
  return records().back().plugin;
}

void load_plugin_path(const std::string& value, pipeline::Registry& registry) {
  size_t start = 0;
  while (start <= value.size()) {
    const size_t colon = std::min(value.find(':', start), value.size());
    const std::string dir = value.substr(start, colon - start);
    start = colon + 1;
    if (dir.empty()) continue;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      throw bad_input("HONE_PLUGIN_PATH: '{}' is not a folder", dir);
    }
    std::vector<fs::path> libs;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".so" && !fs::is_directory(e.path(), ec)) libs.push_back(e.path());
    }
    std::sort(libs.begin(), libs.end());
    for (const auto& lib : libs) load_plugin(lib, registry);
  }
}

std::vector<LoadedPlugin> loaded_plugins() {
  std::vector<LoadedPlugin> out;
  for (const auto& r : records()) {
    if (r.registry == &pipeline::Registry::global()) out.push_back(r.plugin);
  }
  return out;
}

}  // namespace hone::plugin
