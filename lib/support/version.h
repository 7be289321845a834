// hone's version and the git commit it was built from (generated at build time by
// cmake/version.cmake, so a new commit recompiles one file only).
#pragma once

namespace hone {
const char* version();     // "0.1.0"
const char* git_commit();  // "948d49e1a2b3", or "unknown" outside a git checkout
}  // namespace hone
