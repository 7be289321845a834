// Progress reporting for long loops (calibration, evaluation): a redrawn bar on a terminal,
// a log line every 10% when stderr is a file or pipe (CI logs stay readable), nothing when
// --quiet. Not thread-safe: one loop, one Progress.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace hone::support {

// One progress line, pure so it can be tested:
//   width > 0:  "evaluate [######              ] 3000/10000 (30%), 812.4/s, ETA 8.6 s"
//   width == 0: "evaluate: 3000/10000 (30%), 812.4/s, ETA 8.6 s"
// `width` is the bar's width in characters. Once done >= total the ETA becomes the elapsed
// time ("in 12.3 s"); a total <= 0 (unknown) prints just the count and rate. The rate is
// omitted until some time has passed; the ETA is "?" until some items are done.
// Durations: "8.6 s" under a minute, "2m05s" under an hour, then "1h02m".
std::string format_progress(std::string_view label, int64_t done, int64_t total,
                            double elapsed_seconds, int width);

class Progress {
 public:
  enum class Mode { Off, Bar, Log };
  // Off when quiet, Bar when stderr is a terminal, else Log.
  static Mode auto_mode(bool quiet);

  Progress(std::string label, int64_t total, Mode mode);
  ~Progress();  // calls finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Record that `done` items are complete. Cheap enough to call per sample: it reads the
  // clock, and redraws (Bar) at most ~10 times a second or logs (Log) only when a new 10%
  // step is crossed.
  void update(int64_t done);
  // Print the final state (Bar: redraw and end the line; Log: one last line). Idempotent.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  double elapsed() const;
  void draw();

  std::string label_;
  int64_t total_;
  Mode mode_;
  int64_t done_ = 0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  int64_t logged_step_ = 0;  // highest 10% step already logged
  bool finished_ = false;
};

}  // namespace hone::support
