// read_file / write_file_atomic / ensure_writable_dir error messages and atomicity; SHA-256
// against FIPS 180-4 / NIST test vectors.
#include "support/error.h"
#include "support/file_io.h"
#include "test_util.h"

#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace hone;
using hone::test::TempDir;
using hone::test::bad_input_message;
using namespace hone::support;
namespace fs = std::filesystem;

namespace {



}  // namespace

TEST_CASE("write_file_atomic then read_file round-trips binary bytes", "[support][file_io]") {
  TempDir d;
  const fs::path f = d.path / "model.bin";
  const std::string bytes("a\0b\xff\n", 5);
  write_file_atomic(f, bytes);
  CHECK(read_file(f) == bytes);
  // Overwrite with something shorter: no stale tail, and no temp file left behind.
  write_file_atomic(f, "xy");
  CHECK(read_file(f) == "xy");
  CHECK(d.entries() == 1);
  write_file_atomic(f, "");
  CHECK(read_file(f).empty());
  CHECK(fs::file_size(f) == 0);
}

TEST_CASE("read_file reports missing files and directories", "[support][file_io]") {
  TempDir d;
  const std::string missing = bad_input_message([&] { read_file(d.path / "nope.onnx"); });
  CHECK_THAT(missing, Catch::Contains((d.path / "nope.onnx").string()) &&
                          Catch::Contains("file not found"));
  const std::string dir = bad_input_message([&] { read_file(d.path); });
  CHECK_THAT(dir, Catch::Contains(d.path.string()) && Catch::Contains("is a directory"));
}

TEST_CASE("read_file reports unreadable files", "[support][file_io]") {
  if (::geteuid() == 0) return;  // root reads mode-000 files; covered by the directory case
  TempDir d;
  const fs::path f = d.path / "secret";
  write_file_atomic(f, "x");
  fs::permissions(f, fs::perms::none);
  CHECK_THAT(bad_input_message([&] { read_file(f); }), Catch::Contains("cannot open for reading"));
}

TEST_CASE("write_file_atomic into a missing directory fails naming the path", "[support][file_io]") {
  TempDir d;
  const fs::path f = d.path / "no" / "such" / "out.json";
  const std::string msg = bad_input_message([&] { write_file_atomic(f, "{}"); });
  CHECK_THAT(msg, Catch::Contains(f.string()) &&
                      Catch::Contains("cannot write (directory missing or not writable)"));
  CHECK(d.entries() == 0);
}

TEST_CASE("write_file_atomic failure leaves the existing target and no temp", "[support][file_io]") {
  TempDir d;
  // The target is a non-empty directory: the temp is written, then rename() must fail.
  const fs::path target = d.path / "report.json";
  fs::create_directories(target);
  write_file_atomic(target / "inner.txt", "keep me");
  const std::string msg = bad_input_message([&] { write_file_atomic(target, "new"); });
  CHECK_THAT(msg, Catch::Contains(target.string()) && Catch::Contains("cannot replace file"));
  CHECK(d.entries() == 1);  // the temp was removed
  CHECK(read_file(target / "inner.txt") == "keep me");
}

TEST_CASE("write_file_atomic in a read-only directory keeps the old file", "[support][file_io]") {
  if (::geteuid() == 0) return;  // root ignores directory permissions
  TempDir d;
  const fs::path f = d.path / "a.txt";
  write_file_atomic(f, "old");
  fs::permissions(d.path, fs::perms::owner_read | fs::perms::owner_exec);
  const std::string msg = bad_input_message([&] { write_file_atomic(f, "new"); });
  fs::permissions(d.path, fs::perms::owner_all);
  CHECK_THAT(msg, Catch::Contains("not writable"));
  CHECK(read_file(f) == "old");
}

TEST_CASE("ensure_writable_dir creates nested directories", "[support][file_io]") {
  TempDir d;
  const fs::path out = d.path / "a" / "b" / "c";
  ensure_writable_dir(out);
  CHECK(fs::is_directory(out));
  CHECK(std::distance(fs::directory_iterator(out), fs::directory_iterator()) == 0);  // probe gone
  ensure_writable_dir(out);  // existing directory: fine
}

TEST_CASE("ensure_writable_dir rejects a path through a regular file", "[support][file_io]") {
  TempDir d;
  const fs::path file = d.path / "plain";
  write_file_atomic(file, "x");
  const std::string below = bad_input_message([&] { ensure_writable_dir(file / "out"); });
  CHECK_THAT(below, Catch::Contains((file / "out").string()) &&
                        Catch::Contains("output directory is not writable: "));
  const std::string itself = bad_input_message([&] { ensure_writable_dir(file); });
  CHECK_THAT(itself, Catch::Contains(file.string()) &&
                         Catch::Contains("output directory is not writable: "));
}

TEST_CASE("sha256_hex matches the FIPS 180-4 test vectors", "[support][sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 448 bits: the padding needs a second block.
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // 896 bits.
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                   "klmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256_hex around the padding boundaries", "[support][sha256]") {
  // Expected values: python3 -c "import hashlib; print(hashlib.sha256(b'x'*N).hexdigest())"
  CHECK(sha256_hex(std::string(55, 'x')) ==
        "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  CHECK(sha256_hex(std::string(56, 'x')) ==
        "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  CHECK(sha256_hex(std::string(63, 'x')) ==
        "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
  CHECK(sha256_hex(std::string(64, 'x')) ==
        "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
  CHECK(sha256_hex(std::string(65, 'x')) ==
        "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9");
  CHECK(sha256_hex(std::string(119, 'x')) ==
        "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
  CHECK(sha256_hex(std::string(120, 'x')) ==
        "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98");
}
