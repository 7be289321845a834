// hone list [KIND] [-v] [--markdown]: the registered components and their parameters, all
// generated from the registry (docs/components.md is `hone list --markdown`).
#include "commands.h"

#include "pipeline/describe.h"
#include "plugin/loader.h"
#include "support/error.h"

#include <fmt/format.h>

#include <memory>

namespace hone::cli {

CommandFn add_list_command(CLI::App& sub) {
  struct Options {
    std::string kind;
    bool verbose = false;
    bool markdown = false;
  };
  auto opt = std::make_shared<Options>();
  sub.add_option("kind", opt->kind,
                 "Only this kind: model_wrappers, datasets, optimizers, compilers, runtimes, platforms");
  sub.add_flag("-v,--verbose", opt->verbose, "Show every parameter with its type, default and allowed values");
  sub.add_flag("--markdown", opt->markdown, "Print the Markdown reference (docs/components.md)");
  return [opt] {
    const auto& registry = pipeline::Registry::global();
    if (opt->markdown) {
      fmt::print("{}", pipeline::list_markdown(registry));
      return 0;
    }
    std::vector<pipeline::ComponentKind> kinds(std::begin(pipeline::kAllKinds), std::end(pipeline::kAllKinds));
    if (!opt->kind.empty()) {
      const auto k = pipeline::parse_kind(opt->kind);
      if (!k) {
        std::vector<std::string> words;
        for (auto kk : pipeline::kAllKinds) words.push_back(std::string(pipeline::kind_name(kk)) + "s");
        throw bad_input("unknown component kind '{}'{}; kinds: model_wrappers, datasets, optimizers, "
                        "compilers, runtimes, platforms",
                        opt->kind, pipeline::did_you_mean(opt->kind, words));
      }
      kinds = {*k};
    }
    // Loaded plugins first (--plugin, HONE_PLUGIN_PATH); their components carry the origin.
    const auto plugins = plugin::loaded_plugins();
    for (const auto& p : plugins) fmt::print("plugin {} {}: {} ({})\n", p.name, p.version, p.description, p.file);
    if (!plugins.empty()) fmt::print("\n");
    fmt::print("{}", pipeline::list_text(registry, kinds, opt->verbose));
    return 0;
  };
}

}  // namespace hone::cli
