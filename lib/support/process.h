// Child processes: a build command run to completion (outputs captured), and a long-lived
// program fed through its stdin and read from its stdout (the `executable` runtime's model
// binary, natively or under an emulator). POSIX only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace hone::support {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  bool timed_out = false;  // killed after the timeout (exit_code is then 128 + SIGKILL)
  std::string out, err;
};

// Runs argv[0] (looked up on PATH) in `cwd` to completion, or until `timeout_seconds` (> 0) have
// passed, when it is killed. Throws Unsupported "program 'x' not found" when it cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {},
                          double timeout_seconds = 0);

// The last `lines` lines of `text`, for error messages.
std::string tail_lines(const std::string& text, int lines = 10);

class ChildProcess {
 public:
  // Starts argv in `cwd`; its stderr goes to `stderr_file`. Throws like run_process.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
               const std::filesystem::path& stderr_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Writes all bytes to the child's stdin; reads exactly n bytes from its stdout. Both throw
  // CheckFailed naming the program and its stderr's tail when the child has exited or closed
  // the pipe.
  void write(const void* data, size_t n);
  void read(void* data, size_t n);
  // Closes stdin and waits; returns the exit code.
  int finish();

 private:
  [[noreturn]] void fail(const std::string& what);
  std::string program_;
  std::filesystem::path stderr_file_;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
};

}  // namespace hone::support
