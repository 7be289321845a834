// hone: the command-line tool. Only this layer chooses exit codes:
//   0 ok, 1 a check ran and failed, 2 bad input or usage, 3 internal error.
#include "commands.h"

#include "plugin/loader.h"

#include "support/error.h"
#include "support/version.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int exit_code(hone::ErrorKind kind) {
  switch (kind) {
    case hone::ErrorKind::BadInput:
    case hone::ErrorKind::Unsupported: return 2;
    case hone::ErrorKind::CheckFailed: return 1;
    case hone::ErrorKind::Internal: return 3;
  }
  return 3;
}

// Errors are one line on stderr, whatever the message contains.
void print_error(const char* prefix, std::string msg) {
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  fmt::print(stderr, "hone: {}{}\n", prefix, msg);
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("hone");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%^[%l]%$ %v");
  spdlog::set_level(spdlog::level::info);

  CLI::App app{"hone: take a trained neural network to a deployable artifact, and prove what each step did"};
  app.set_version_flag("--version", std::string(hone::version()) + " (" + hone::git_commit() + ")");
  app.require_subcommand(1);
  // Plugins: --plugin (repeatable, before or after the subcommand) and the folders in
  // HONE_PLUGIN_PATH, loaded before any command runs (a pipeline's own "plugins" load with it).
  std::vector<std::string> plugins;
  app.add_option("--plugin", plugins, "Load a plugin library (repeatable; also HONE_PLUGIN_PATH, docs/plugins.md)")
      ->type_name("PATH")
      ->allow_extra_args(false);
  app.fallthrough();
  hone::cli::CommandList commands;
  hone::cli::register_commands(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error("usage error: ", e.what());
    return 2;
  }

  try {
    if (const char* path = std::getenv("HONE_PLUGIN_PATH")) hone::plugin::load_plugin_path(path);
    for (const auto& p : plugins) hone::plugin::load_plugin(p);
    return commands.run_selected();
  } catch (const hone::Error& e) {
    print_error(e.kind() == hone::ErrorKind::Internal ? "internal error: " : "error: ", e.what());
    return exit_code(e.kind());
  } catch (const std::bad_alloc&) {
    print_error("error: ", "out of memory");
    return 2;
  } catch (const std::exception& e) {
    print_error("internal error: ", e.what());
    return 3;
  }
}
