#include "support/file_io.h"

#include "support/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace hone::support {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Unique per process and call, so concurrent writers (threads, or two hone processes sharing
// an output directory) never pick the same temp name.
std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  return std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
}

// Closes on scope exit unless released; keeps every early throw from leaking the fd.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the result: close() can be where a deferred write error shows up.
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool write_all(int fd, std::string_view bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

// Best effort: makes the rename itself durable. A failure here does not un-write the file,
// so it is not reported.
void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string read_file(const fs::path& path) {
  const std::string name = path.string();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) throw bad_input("file not found").with_file(name);
    throw bad_input("cannot open for reading: {}", errno_text(err)).with_file(name);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw bad_input("cannot stat: {}", errno_text(errno)).with_file(name);
  }
  // open() succeeds on a directory; read() would then fail with a less helpful EISDIR.
  if (S_ISDIR(st.st_mode)) throw bad_input("is a directory, expected a file").with_file(name);

  std::string out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  // Read until EOF rather than trusting st_size: /proc files and pipes report 0.
  std::array<char, 1 << 16> buf;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw bad_input("read failed: {}", errno_text(errno)).with_file(name);
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<size_t>(n));
  }
  return out;
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  const std::string name = path.string();
  if (!path.has_filename()) {
    throw bad_input("not a file path (ends in a separator)").with_file(name);
  }
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // Same directory as the target: rename() is only atomic within one filesystem.
  const fs::path tmp = dir / (path.filename().string() + ".tmp." + unique_suffix());

  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (fd.get() < 0) {
    throw bad_input("cannot write (directory missing or not writable): {}", errno_text(errno))
        .with_file(name);
  }
  // From here on every failure must remove the temp before throwing.
  auto fail = [&](std::string what, int err) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return bad_input("{}: {}", what, errno_text(err)).with_file(name);
  };
  if (!write_all(fd.get(), bytes)) throw fail("write failed (disk full?)", errno);
  // fsync before rename: otherwise a crash can leave the new name pointing at empty blocks.
  if (::fsync(fd.get()) != 0) throw fail("write failed (fsync)", errno);
  if (fd.close() != 0) throw fail("write failed (close)", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail("cannot replace file", errno);
  fsync_dir(dir);
}

void ensure_writable_dir(const fs::path& dir) {
  const std::string name = dir.string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw bad_input("output directory is not writable: {}", ec.message()).with_file(name);
  // create_directories reports success for an existing path without saying what it is.
  if (!fs::is_directory(dir, ec)) {
    throw bad_input("output directory is not writable: exists and is not a directory")
        .with_file(name);
  }
  // Permission bits, read-only mounts, ACLs and root's overrides make access() unreliable;
  // actually creating a file is the only honest test.
  const fs::path probe = dir / (".hone-write-probe." + unique_suffix());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw bad_input("output directory is not writable: {}", errno_text(errno)).with_file(name);
  }
  ::close(fd);
  fs::remove(probe, ec);
}

// ---- SHA-256, FIPS 180-4 section 6.2 --------------------------------------------------

namespace {

constexpr std::array<uint32_t, 64> kK = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void sha256_block(std::array<uint32_t, 8>& h, const unsigned char* p) {
  std::array<uint32_t, 64> w;
  for (int t = 0; t < 16; ++t) {
    w[t] = (uint32_t{p[4 * t]} << 24) | (uint32_t{p[4 * t + 1]} << 16) |
           (uint32_t{p[4 * t + 2]} << 8) | uint32_t{p[4 * t + 3]};
  }
  for (int t = 16; t < 64; ++t) {
    const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int t = 0; t < 64; ++t) {
    const uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                        kK[t] + w[t];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d;
  h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  std::array<uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t full = bytes.size() / 64 * 64;
  for (size_t i = 0; i < full; i += 64) sha256_block(h, p + i);

  // Padding: 0x80, zeros, then the message length in bits as a big-endian 64-bit number;
  // one block if the tail leaves room for the 9 bytes, else two.
  std::array<unsigned char, 128> tail{};
  const size_t rest = bytes.size() - full;
  if (rest > 0) std::memcpy(tail.data(), p + full, rest);  // p may be null when empty
  tail[rest] = 0x80;
  const size_t tail_len = rest + 9 <= 64 ? 64 : 128;
  const uint64_t bits = static_cast<uint64_t>(bytes.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_len - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  for (size_t i = 0; i < tail_len; i += 64) sha256_block(h, tail.data() + i);

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 8; ++j) out[8 * i + j] = kHex[(h[i] >> (28 - 4 * j)) & 0xf];
  }
  return out;
}

}  // namespace hone::support
