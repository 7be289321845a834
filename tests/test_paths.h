// Where the tests find the source tree, the build tree and the hone binary. The paths are
// compiled into test_paths.cpp alone, so every other test file compiles to the same object in
// any clone and ccache can reuse it (see docs/architecture.md, "Testing").
#pragma once

namespace hone::test {
const char* source_dir();   // the repository root
const char* build_dir();    // the CMake build folder (build/<preset>)
const char* hone_binary();  // the hone executable under test
}  // namespace hone::test

#define HONE_SOURCE_DIR (::hone::test::source_dir())
#define HONE_BUILD_DIR (::hone::test::build_dir())
#define HONE_BINARY (::hone::test::hone_binary())
