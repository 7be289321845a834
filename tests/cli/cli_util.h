// Run the hone binary from a test and capture exit code, stdout and stderr.
#pragma once

#include "test_paths.h"
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace hone::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  int err_lines() const {
    int n = 0;
    for (char c : err) n += c == '\n';
    return n;
  }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Runs `command` through the shell (quote paths yourself), capturing stdout and stderr.
inline CommandResult run_command(const std::string& command) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() / ("hone_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path out = dir / ("out" + std::to_string(counter));
  const fs::path err = dir / ("err" + std::to_string(counter++));
  // fmt, not operator+: GCC 12 -O3 raises a false -Wrestrict on chained string concatenation.
  const std::string cmd = fmt::format("{} >'{}' 2>'{}' </dev/null", command, out.string(), err.string());
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// `args` is appended to the hone binary's path as shell words (quote paths yourself).
inline CommandResult run_hone(const std::string& args) { return run_command(fmt::format("'{}' {}", HONE_BINARY, args)); }

// A fresh, empty folder for one test: <tmp>/hone_cli_<suite>_<pid>/<name>.
inline std::filesystem::path scratch_dir(const std::string& suite, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path d = fs::temp_directory_path() / ("hone_cli_" + suite + "_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline std::string quote(const std::filesystem::path& p) { return fmt::format("'{}'", p.string()); }

}  // namespace hone::test
