// Small helpers shared by unit tests: a scratch folder and "what did the BadInput say".
#pragma once

#include "support/error.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <unistd.h>

namespace hone::test {

// A fresh, empty folder per instance, removed with everything in it at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("hone-test." + std::to_string(::getpid()) + "." + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  size_t entries() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(path),
                                             std::filesystem::directory_iterator()));
  }
};

// The what() of the BadInput that `f` throws; fails the test when it throws nothing.
template <typename F>
std::string bad_input_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    return e.what();
  }
  FAIL("expected a BadInput error");
  return "";
}

}  // namespace hone::test
