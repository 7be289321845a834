// Progress lines (pure formatting) and the Log mode's 10% steps.
#include "support/progress.h"

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

using namespace hone::support;

TEST_CASE("format_progress log lines", "[support][progress]") {
  // 3000 items in 4 s: 750/s, 7000 left -> 9.33 s.
  CHECK(format_progress("evaluate", 3000, 10000, 4.0, 0) ==
        "evaluate: 3000/10000 (30%), 750.0/s, ETA 9.3 s");
  CHECK(format_progress("evaluate", 0, 10000, 0.0, 0) == "evaluate: 0/10000 (0%), ETA ?");
  CHECK(format_progress("evaluate", 0, 10000, 2.0, 0) == "evaluate: 0/10000 (0%), 0.0/s, ETA ?");
  // Complete: the elapsed time replaces the ETA. 10000 / 12.34 = 810.37.
  CHECK(format_progress("evaluate", 10000, 10000, 12.34, 0) ==
        "evaluate: 10000/10000 (100%), 810.4/s, in 12.3 s");
  // Unknown total: count and rate only.
  CHECK(format_progress("calibrate", 42, 0, 2.0, 0) == "calibrate: 42, 21.0/s");
}

TEST_CASE("format_progress durations switch units", "[support][progress]") {
  CHECK(format_progress("x", 1, 1001, 1.0, 0) == "x: 1/1001 (0%), 1.0/s, ETA 16m40s");
  CHECK(format_progress("x", 1, 10001, 1.0, 0) == "x: 1/10001 (0%), 1.0/s, ETA 2h46m");
  CHECK(format_progress("x", 1, 60, 1.0, 0) == "x: 1/60 (1%), 1.0/s, ETA 59.0 s");
}

TEST_CASE("format_progress bars", "[support][progress]") {
  CHECK(format_progress("evaluate", 3000, 10000, 4.0, 10) ==
        "evaluate [###       ] 3000/10000 (30%), 750.0/s, ETA 9.3 s");
  CHECK(format_progress("q", 0, 4, 0.0, 4) == "q [    ] 0/4 (0%), ETA ?");
  CHECK(format_progress("q", 4, 4, 2.0, 4) == "q [####] 4/4 (100%), 2.0/s, in 2.0 s");
  // More than the total (a caller counting samples past a partial last batch): clamped bar.
  CHECK(format_progress("q", 6, 4, 2.0, 4) == "q [####] 6/4 (100%), 3.0/s, in 2.0 s");
}

TEST_CASE("Progress::auto_mode", "[support][progress]") {
  CHECK(Progress::auto_mode(true) == Progress::Mode::Off);
  CHECK(Progress::auto_mode(false) != Progress::Mode::Off);
}

TEST_CASE("Progress in Log mode logs every 10% and the end once", "[support][progress]") {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "progress-test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger->set_pattern("%v");
  spdlog::set_default_logger(logger);
  {
    Progress p("evaluate", 100, Progress::Mode::Log);
    for (int64_t i = 1; i <= 100; ++i) p.update(i);
    p.finish();
    p.finish();  // idempotent; the destructor adds nothing either
  }
  {
    Progress off("quiet", 100, Progress::Mode::Off);
    for (int64_t i = 1; i <= 100; ++i) off.update(i);
  }
  spdlog::set_default_logger(previous);

  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 10);
  CHECK_THAT(lines[0], Catch::StartsWith("evaluate: 10/100 (10%), "));
  CHECK_THAT(lines[8], Catch::StartsWith("evaluate: 90/100 (90%), "));
  CHECK_THAT(lines[9], Catch::StartsWith("evaluate: 100/100 (100%), ") && Catch::Contains(", in "));
}

TEST_CASE("Progress in Bar mode redraws one line and ends it once", "[support][progress]") {
  // Point stderr at a temp file for the duration of the bar.
  std::FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(::fileno(capture), STDERR_FILENO);
  {
    Progress p("calibrate", 4, Progress::Mode::Bar);
    p.update(4);  // within the first 100 ms: no redraw yet
    p.finish();
    p.finish();
  }
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);

  std::string text(4096, '\0');
  std::rewind(capture);
  text.resize(std::fread(text.data(), 1, text.size(), capture));
  std::fclose(capture);
  CHECK_THAT(text, Catch::StartsWith("\rcalibrate [" + std::string(30, '#') + "] 4/4 (100%), "));
  CHECK_THAT(text, Catch::EndsWith("\033[K\n"));
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}
