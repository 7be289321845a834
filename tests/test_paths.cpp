// The one test file compiled with absolute paths (the hone_test_paths library in tests/CMakeLists.txt).
#include "test_paths.h"

namespace hone::test {
const char* source_dir() { return HONE_TEST_SOURCE_DIR; }
const char* build_dir() { return HONE_TEST_BUILD_DIR; }
const char* hone_binary() { return HONE_TEST_BINARY; }
}  // namespace hone::test
