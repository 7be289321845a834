#include "support/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

namespace hone::support {

namespace {

constexpr int kBarWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f} s", s);
  const auto total = static_cast<int64_t>(std::llround(s));
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
}

}  // namespace

std::string format_progress(std::string_view label, int64_t done, int64_t total,
                            double elapsed_seconds, int width) {
  const bool known = total > 0;
  std::string out(label);
  if (width > 0 && known) {
    const int64_t filled = std::clamp<int64_t>(done * width / total, 0, width);
    out += " [" + std::string(static_cast<size_t>(filled), '#') +
           std::string(static_cast<size_t>(width - filled), ' ') + "] ";
  } else {
    out += ": ";
  }
  if (known) {
    const int64_t percent = std::clamp<int64_t>(done * 100 / total, 0, 100);
    out += fmt::format("{}/{} ({}%)", done, total, percent);
  } else {
    out += std::to_string(done);
  }
  const bool timed = elapsed_seconds > 0;
  if (timed) out += fmt::format(", {:.1f}/s", static_cast<double>(done) / elapsed_seconds);
  if (!known) return out;
  if (done >= total) {
    out += ", in " + format_duration(std::max(elapsed_seconds, 0.0));
  } else if (timed && done > 0) {
    const double per_item = elapsed_seconds / static_cast<double>(done);
    out += ", ETA " + format_duration(static_cast<double>(total - done) * per_item);
  } else {
    out += ", ETA ?";
  }
  return out;
}

Progress::Mode Progress::auto_mode(bool quiet) {
  if (quiet) return Mode::Off;
  return ::isatty(STDERR_FILENO) ? Mode::Bar : Mode::Log;
}

Progress::Progress(std::string label, int64_t total, Mode mode)
    : label_(std::move(label)), total_(total), mode_(mode), start_(Clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  try {
    finish();
  } catch (...) {
    // A destructor must not throw; losing the last progress line is harmless.
  }
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

void Progress::draw() {
  // \r returns to the line start; ESC[K clears what a longer previous line left behind.
  const std::string line = format_progress(label_, done_, total_, elapsed(), kBarWidth);
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
}

void Progress::update(int64_t done) {
  done_ = done;
  if (mode_ == Mode::Off || finished_) return;
  if (mode_ == Mode::Bar) {
    const auto now = Clock::now();
    if (now - last_draw_ < kRedrawInterval) return;
    last_draw_ = now;
    draw();
    return;
  }
  // Log: steps 1..9 here; the 100% line is finish()'s, so it is never printed twice.
  if (total_ <= 0) return;
  const int64_t step = std::min<int64_t>(done * 10 / total_, 9);
  if (step <= logged_step_) return;
  logged_step_ = step;
  spdlog::info("{}", format_progress(label_, done_, total_, elapsed(), 0));
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (mode_ == Mode::Bar) {
    draw();
    std::fputc('\n', stderr);
    std::fflush(stderr);
  } else if (mode_ == Mode::Log) {
    spdlog::info("{}", format_progress(label_, done_, total_, elapsed(), 0));
  }
}

}  // namespace hone::support
