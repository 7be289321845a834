// Subcommands of the hone CLI. Each command file defines add_<name>_command, which declares
// its options on a CLI11 subcommand and returns the function that runs it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace hone::cli {

using CommandFn = std::function<int()>;

struct CommandList {
  std::vector<std::pair<CLI::App*, CommandFn>> commands;
  int run_selected() const {
    for (const auto& [sub, fn] : commands) {
      if (sub->parsed()) return fn();
    }
    return 2;
  }
};

CommandFn add_run_command(CLI::App& sub);
CommandFn add_validate_command(CLI::App& sub);
CommandFn add_list_command(CLI::App& sub);
CommandFn add_optimize_command(CLI::App& sub);
CommandFn add_inspect_command(CLI::App& sub);
CommandFn add_report_command(CLI::App& sub);
CommandFn add_compare_command(CLI::App& sub);
CommandFn add_targets_command(CLI::App& sub);

// The one list of subcommands: name, one-line description, and the function adding it.
inline void register_commands(CLI::App& app, CommandList& list) {
  struct Entry {
    const char* name;
    const char* description;
    CommandFn (*add)(CLI::App&);
  };
  static const Entry kCommands[] = {
      {"run", "Run a pipeline: optimize, compile, evaluate on every target, write measurements",
       &add_run_command},
      {"validate", "Check a pipeline file without running it", &add_validate_command},
      {"optimize", "Apply optimizer passes to a model and write the result (no pipeline needed)",
       &add_optimize_command},
      {"list", "List components (model wrappers, datasets, optimizers, ...) and their parameters",
       &add_list_command},
      {"inspect", "Show a model's inputs, outputs, operators, parameters, MACs and memory",
       &add_inspect_command},
      {"report", "Compare measurement files side by side: summary table, charts, Markdown or HTML",
       &add_report_command},
      {"targets", "Print a pipeline's targets for CI: a list, a GitHub Actions matrix or GitLab jobs (docs/ci.md)",
       &add_targets_command},
      {"compare", "Check a candidate measurement against a baseline with thresholds (a CI gate; JUnit output)",
       &add_compare_command},
  };
  for (const auto& e : kCommands) {
    CLI::App* sub = app.add_subcommand(e.name, e.description);
    list.commands.emplace_back(sub, e.add(*sub));
  }
}

}  // namespace hone::cli
