// The plugin ABI: what a shared library exports so hone can load its components (installed as
// <hone/plugin.h>; guide: docs/plugins.md).
//
// A plugin exports one C symbol, `hone_plugin_entry`, returning a plain struct: the plugin API
// version it was built against, its name and version, and a function that adds its components
// (optimizer passes, compilers, runtimes, datasets, model wrappers, platforms) to hone's registry,
// each with its ComponentSpec, exactly like the built-ins in pipeline/builtins.cpp. Write it with
// the HONE_PLUGIN macro:
//
//   #include <hone/plugin.h>
//   static void register_components(hone::plugin::Registrar& r) {
//     r.add(hone::pipeline::make_registration<hone::passes::Pass>(spec, factory));
//   }
//   HONE_PLUGIN("my_plugin", "1.0.0", "What it adds", register_components)
//
// The entry point and the register function are the C boundary: nothing is thrown across them
// (the macro catches and reports). Everything after that is C++: hone calls the factories and the
// components' virtual functions directly, so a plugin must be built with this SDK's headers
// (HONE_PLUGIN_API_VERSION), and the same C++ standard library as hone (Debian 12's libstdc++).
#pragma once

#include "pipeline/registry.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <utility>
#include <vector>

// Bumped whenever a header of the SDK changes in a way that breaks plugins built before.
#define HONE_PLUGIN_API_VERSION 1

extern "C" {

// Opaque to C: hone's collector for the components a plugin registers.
struct hone_plugin_registrar;

struct hone_plugin_info {
  uint32_t api_version;     // HONE_PLUGIN_API_VERSION the plugin was compiled with
  const char* name;         // "prune_random": letters, digits, _ . + -
  const char* version;      // the plugin's own version, "1.0.0"
  const char* description;  // one line
  // Adds the plugin's components. Returns 0, or non-zero with a NUL-terminated message in
  // error[0, error_size). Called once, on the thread that loads the plugin.
  int (*register_components)(hone_plugin_registrar* registrar, char* error, size_t error_size);
};

// The one symbol hone looks up (dlsym) in a plugin library.
typedef const hone_plugin_info* (*hone_plugin_entry_fn)(void);
#define HONE_PLUGIN_ENTRY_SYMBOL "hone_plugin_entry"

}  // extern "C"

namespace hone::plugin {

// Collects a plugin's registrations. hone adds them to its registry only when the register
// function returned 0 and none of the names clashes, so a failing plugin adds nothing.
class Registrar {
 public:
  void add(pipeline::Registration r) { staged_.push_back(std::move(r)); }
  std::vector<pipeline::Registration>& staged() { return staged_; }

 private:
  std::vector<pipeline::Registration> staged_;
};

namespace detail {
// Runs the plugin's register function, turning any exception into the error message.
template <typename Fn>
int call_register(hone_plugin_registrar* r, char* error, size_t error_size, Fn&& fn) noexcept {
  try {
    fn(*reinterpret_cast<Registrar*>(r));
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(error, error_size, "%s", e.what());
  } catch (...) {
    std::snprintf(error, error_size, "%s", "unknown exception");
  }
  return 1;
}
}  // namespace detail

}  // namespace hone::plugin

// Defines the entry point. REGISTER_FN is `void (hone::plugin::Registrar&)`.
#define HONE_PLUGIN(NAME, VERSION, DESCRIPTION, REGISTER_FN)                                       \
  static int hone_plugin_register_(hone_plugin_registrar* r, char* error, size_t error_size) {    \
    return ::hone::plugin::detail::call_register(r, error, error_size, REGISTER_FN);              \
  }                                                                                                \
  extern "C" __attribute__((visibility("default"))) const hone_plugin_info* hone_plugin_entry(void) { \
    static const hone_plugin_info info = {HONE_PLUGIN_API_VERSION, NAME, VERSION, DESCRIPTION,     \
                                          &hone_plugin_register_};                                 \
    return &info;                                                                                  \
  }
