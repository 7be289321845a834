#include "support/process.h"

#include "support/error.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace hone::support {

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> v;
  for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// posix_spawnp with the given file actions; throws Unsupported when the program is missing.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& cwd, posix_spawn_file_actions_t* fa) {
  if (argv.empty()) throw internal_error("run_process: empty command");
  // In `cwd` by /bin/sh -c 'cd DIR && exec "$@"' (changing the parent's directory around the
  // spawn would race with other threads).
  std::vector<std::string> full = argv;
  if (!cwd.empty()) {
    full = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", cwd.string()};
    full.insert(full.end(), argv.begin(), argv.end());
  }
  // Probe that the program exists (sh would report 127 otherwise).
  if (argv[0].find('/') == std::string::npos) {
    bool found = false;
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');) {
      if (::access((std::filesystem::path(d) / argv[0]).c_str(), X_OK) == 0) found = true;
    }
    if (!found) throw unsupported("program '{}' not found on PATH", argv[0]);
  } else if (::access(argv[0].c_str(), X_OK) != 0 &&
             ::access((cwd / argv[0]).c_str(), X_OK) != 0) {
    throw unsupported("program '{}' not found or not executable", argv[0]);
  }
  auto v = c_argv(full);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, v[0], fa, nullptr, v.data(), environ);
  if (rc != 0) throw unsupported("cannot start '{}': {}", argv[0], std::strerror(rc));
  return pid;
}

// Waits for `pid` up to `timeout_seconds` (polling), then kills it.
int wait_for(pid_t pid, double timeout_seconds, bool& timed_out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      return wait_for(pid);
    }
    ::usleep(2000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

}  // namespace

std::string tail_lines(const std::string& text, int lines) {
  size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n' || text[pos - 1] == ' ')) --pos;
  const size_t end = pos;
  for (int n = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++n == lines) break;
  }
  return text.substr(pos, end - pos);
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                          double timeout_seconds) {
  char out_name[] = "/tmp/hone-out-XXXXXX", err_name[] = "/tmp/hone-err-XXXXXX";
  const int out_fd = ::mkstemp(out_name), err_fd = ::mkstemp(err_name);
  if (out_fd < 0 || err_fd < 0) throw internal_error("mkstemp failed: {}", std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  ProcessResult r;
  try {
    const pid_t pid = spawn(argv, cwd, &fa);
    r.exit_code = timeout_seconds > 0 ? wait_for(pid, timeout_seconds, r.timed_out) : wait_for(pid);
  } catch (...) {
    posix_spawn_file_actions_destroy(&fa);
    ::close(out_fd), ::close(err_fd), ::unlink(out_name), ::unlink(err_name);
    throw;
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_fd), ::close(err_fd);
  r.out = slurp(out_name);
  r.err = slurp(err_name);
  ::unlink(out_name), ::unlink(err_name);
  return r;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                           const std::filesystem::path& stderr_file)
    : program_(argv.empty() ? "" : argv[0]), stderr_file_(stderr_file) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw internal_error("pipe failed: {}", std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  try {
    pid_ = spawn(argv, cwd, &fa);
  } catch (...) {
    posix_spawn_file_actions_destroy(&fa);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) ::close(fd);
    throw;
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  in_ = in_pipe[1];
  out_ = out_pipe[0];
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits early makes write() fail with EPIPE instead
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    ::kill(pid_, SIGTERM);
    wait_for(pid_);
  }
}

void ChildProcess::fail(const std::string& what) {
  std::string log = slurp(stderr_file_);
  throw Error(ErrorKind::CheckFailed,
              fmt::format("'{}' {}{}", program_, what, log.empty() ? "" : "; its stderr ends: " + tail_lines(log, 5)));
}

void ChildProcess::write(const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(in_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail(fmt::format("stopped reading its input ({})", std::strerror(errno)));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void ChildProcess::read(void* data, size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(out_, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) fail("exited or closed its output before writing a whole result");
    p += r;
    n -= static_cast<size_t>(r);
  }
}

int ChildProcess::finish() {
  if (in_ >= 0) ::close(in_), in_ = -1;
  if (out_ >= 0) ::close(out_), out_ = -1;
  const int code = wait_for(pid_);
  pid_ = -1;
  return code;
}

}  // namespace hone::support
