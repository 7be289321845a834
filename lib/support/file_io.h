// Whole-file reads, crash-safe writes and content hashes: the I/O every artifact writer
// (models, reports, generated C) shares, so each one gets the same atomicity and the same
// error messages.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace hone::support {

// The whole file as bytes. BadInput naming the file if it is missing, a directory or unreadable.
std::string read_file(const std::filesystem::path& path);

// Replaces `path` with `bytes` atomically: the bytes go to a temp file in the same directory
// (same filesystem, so rename is atomic), are fsync'ed, then renamed over the target. Readers
// see the old file or the new one, never a partial one; on failure the temp is removed, the
// old file is untouched, and BadInput names the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Creates `dir` (and parents) if needed and proves it is writable by creating and removing a
// probe file, so a run fails at start rather than after an hour of evaluation.
// BadInput "output directory is not writable: <reason>" naming the dir.
void ensure_writable_dir(const std::filesystem::path& dir);

// SHA-256 (FIPS 180-4) of `bytes` as 64 lowercase hex digits: content ids for artifacts.
std::string sha256_hex(std::string_view bytes);

}  // namespace hone::support
