// The "npy" dataset: samples from a NumPy .npy file or an .npz archive, labels from an .npy (or
// the same archive). Samples keep their stored dtype, float64 included (the model wrapper
// converts, as it does for uint8). A plain .npy and the stored (uncompressed) entries numpy's
// savez writes are read in batches at file offsets and never loaded whole; a deflated entry
// (savez_compressed) is inflated once into memory.
//
// Untrusted input throughout: header lengths, shapes, zip sizes and offsets are checked against
// the file before anything is allocated, and every error names the file (and npz entry).
#include "datasets/dataset.h"
#include "datasets/datasets.h"
#include "support/error.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>

namespace hone::datasets {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

static_assert(std::endian::native == std::endian::little,
              "npy data is read as stored: little-endian files need a little-endian host");

constexpr uint64_t kMaxHeaderBytes = uint64_t{1} << 20;       // numpy's headers are ~128 bytes
constexpr uint64_t kMaxInflatedBytes = uint64_t{1} << 31;     // a deflated entry lives in memory
constexpr uint64_t kMaxCentralDirectory = uint64_t{1} << 26;  // 64 MiB of zip directory
constexpr uint64_t kMaxDeflateRatio = 1032;                   // deflate's largest expansion
constexpr size_t kChunk = size_t{1} << 20;

// ---------------------------------------------------------------------------------------------
// Files and byte helpers

struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileClose>;

File open_file(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) throw bad_input("cannot open: {}", std::strerror(errno)).with_file(path);
  return f;
}

uint64_t size_of(const std::string& path) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) throw bad_input("cannot read: {}", ec.message()).with_file(path);
  return size;
}

// Exactly n bytes at `offset`; a short read means the file is shorter than its headers say.
void read_at(std::FILE* f, const std::string& path, uint64_t offset, void* dst, size_t n) {
  if (n == 0) return;
  if (fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0 || std::fread(dst, 1, n, f) != n) {
    throw bad_input("truncated: cannot read {} bytes at offset {}", n, offset).with_file(path);
  }
}

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) { return uint32_t{le16(p)} | (uint32_t{le16(p + 2)} << 16); }
uint64_t le64(const uint8_t* p) { return uint64_t{le32(p)} | (uint64_t{le32(p + 4)} << 32); }

// Which file (and npz entry) an array comes from: every error names it.
struct Origin {
  std::string path;
  std::string entry;  // "x.npy" inside an .npz, else empty

  template <typename... Args>
  [[nodiscard]] Error error(fmt::format_string<Args...> f, Args&&... args) const {
    std::string msg = fmt::format(f, std::forward<Args>(args)...);
    if (!entry.empty()) msg = "entry '" + entry + "': " + msg;
    Error e = bad_input("{}", msg);
    e.with_file(path);
    return e;
  }
  std::string name() const { return entry.empty() ? path : path + ":" + entry; }  // "data.npz:x.npy"
};

// ---------------------------------------------------------------------------------------------
// .npy headers: "\x93NUMPY", version, header length, then a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (10, 28, 28), }

class HeaderParser {
 public:
  HeaderParser(std::string_view text, const Origin& origin) : s_(text), origin_(origin) {}

  void parse(std::string& descr, bool& fortran_order, ir::Shape& shape) {
    bool seen[3] = {false, false, false};
    expect('{');
    while (!peek('}')) {
      const std::string key = string();
      expect(':');
      if (key == "descr") {
        if (peek('[')) throw origin_.error("structured dtypes (a list 'descr') are not supported");
        descr = string();
        seen[0] = true;
      } else if (key == "fortran_order") {
        fortran_order = boolean();
        seen[1] = true;
      } else if (key == "shape") {
        shape = tuple();
        seen[2] = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!eat(',')) break;
    }
    expect('}');
    if (!seen[0] || !seen[1] || !seen[2]) fail("it needs the keys 'descr', 'fortran_order' and 'shape'");
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool peek(char c) {
    skip_ws();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  void expect(char c) {
    if (!eat(c)) fail(fmt::format("expected '{}'", c));
  }
  std::string string() {
    skip_ws();
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail("expected a quoted string");
    const char quote = s_[i_++];
    const size_t end = s_.find(quote, i_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string out(s_.substr(i_, end - i_));
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_ws();
    if (s_.substr(i_, 4) == "True") {
      i_ += 4;
      return true;
    }
    if (s_.substr(i_, 5) == "False") {
      i_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  ir::Shape tuple() {
    expect('(');
    ir::Shape dims;
    while (!peek(')')) {
      if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') fail("expected a non-negative integer");
      int64_t d = 0;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
        if (d > (int64_t{1} << 48)) fail("dimension too large");
        d = d * 10 + (s_[i_++] - '0');
      }
      if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs: (10L, 28L)
      dims.push_back(d);
      if (!eat(',')) break;
    }
    expect(')');
    return dims;
  }
  [[noreturn]] void fail(const std::string& why) const {
    std::string text(s_.substr(0, 200));
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.pop_back();
    throw origin_.error("malformed .npy header ({} at character {}): {}", why, i_, text);
  }

  std::string_view s_;
  size_t i_ = 0;
  const Origin& origin_;
};

ir::DType parse_descr(const std::string& descr, const Origin& origin) {
  static const std::pair<std::string_view, ir::DType> kTypes[] = {
      {"u1", ir::DType::UInt8},   {"i1", ir::DType::Int8},   {"u2", ir::DType::UInt16},
      {"i2", ir::DType::Int16},   {"i4", ir::DType::Int32},  {"i8", ir::DType::Int64},
      {"f4", ir::DType::Float32}, {"f8", ir::DType::Float64}};
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '|')) {
    for (const auto& [code, dtype] : kTypes) {
      if (descr.substr(1) == code) return dtype;
    }
  }
  const bool big_endian = !descr.empty() && descr[0] == '>';
  throw origin.error("dtype '{}' is not supported{}; supported: |u1 |i1 <u2 <i2 <i4 <i8 <f4 <f8", descr,
                     big_endian ? " (big-endian)" : "");
}

// One array: its dtype, shape and where its C-order data lives: a region of a file (a plain
// .npy or a stored npz entry, read on demand) or an in-memory buffer (an inflated npz entry).
struct NpyArray {
  Origin origin;
  ir::DType dtype = ir::DType::Undefined;
  ir::Shape shape;           // rank >= 1: samples first
  uint64_t data_offset = 0;  // in the file, or in `memory`
  std::shared_ptr<const std::vector<uint8_t>> memory;

  int64_t rows() const { return shape[0]; }
  ir::Shape sample_shape() const { return ir::Shape(shape.begin() + 1, shape.end()); }
  size_t row_bytes() const {
    return static_cast<size_t>(ir::checked_numel(sample_shape())) * ir::dtype_size(dtype);
  }

  // Copies rows idx[0..n) to dst (n * row_bytes() bytes). Consecutive indices are read together,
  // so an unshuffled batch is one read.
  void read_rows(const int64_t* idx, int64_t n, uint8_t* dst) const {
    const size_t rb = row_bytes();
    File f;
    if (!memory) f = open_file(origin.path);
    for (int64_t k = 0; k < n;) {
      int64_t run = 1;
      while (k + run < n && idx[k + run] == idx[k] + run) ++run;
      const uint64_t offset = data_offset + static_cast<uint64_t>(idx[k]) * rb;
      const size_t bytes = static_cast<size_t>(run) * rb;
      if (memory) {
        if (bytes) std::memcpy(dst, memory->data() + offset, bytes);
      } else {
        try {
          read_at(f.get(), origin.path, offset, dst, bytes);
        } catch (const Error& e) {
          throw origin.error("{} (did the file change after it was opened?)", e.detail());
        }
      }
      dst += bytes;
      k += run;
    }
  }
};

// Parses an .npy held in [0, size) of whatever `read` reads from; returns the array with
// data_offset relative to that region.
NpyArray parse_npy(const std::function<void(uint64_t, void*, size_t)>& read, uint64_t size,
                   const Origin& origin) {
  uint8_t pre[12];
  if (size < 10) throw origin.error("not an .npy file: {} bytes is too short for its header", size);
  read(0, pre, 10);
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0) throw origin.error("not an .npy file (bad magic)");
  const int major = pre[6], minor = pre[7];
  if ((major < 1 || major > 3) || minor != 0) {
    throw origin.error(".npy format version {}.{} is not supported (1.0, 2.0, 3.0 are)", major, minor);
  }
  uint64_t header_len = 0, header_start = 10;
  if (major == 1) {
    header_len = le16(pre + 8);
  } else {
    if (size < 12) throw origin.error("truncated .npy header");
    read(10, pre + 10, 2);
    header_len = le32(pre + 8);
    header_start = 12;
  }
  if (header_len > kMaxHeaderBytes) {
    throw origin.error(".npy header length {} exceeds the {}-byte limit", header_len, kMaxHeaderBytes);
  }
  if (header_start + header_len > size) throw origin.error("truncated: the file ends inside the .npy header");
  std::string text(header_len, '\0');
  read(header_start, text.data(), header_len);

  NpyArray a;
  a.origin = origin;
  std::string descr;
  bool fortran_order = false;
  HeaderParser(text, origin).parse(descr, fortran_order, a.shape);
  if (fortran_order) {
    throw origin.error(
        "fortran_order arrays are not supported: save a C-contiguous array "
        "(numpy.ascontiguousarray)");
  }
  a.dtype = parse_descr(descr, origin);
  if (a.shape.empty()) {
    throw origin.error("a 0-d array holds no samples: the first dimension must count them");
  }
  a.data_offset = header_start + header_len;
  int64_t numel = 0;
  try {
    numel = ir::checked_numel(a.shape);
  } catch (const Error& e) {
    throw origin.error("{}", e.detail());
  }
  const uint64_t need = static_cast<uint64_t>(numel) * ir::dtype_size(a.dtype);
  const uint64_t have = size - a.data_offset;
  if (need != have) {
    throw origin.error("shape {} of {} needs {} bytes of data but {} follow the header ({})",
                       ir::shape_str(a.shape), descr, need, have, need > have ? "truncated" : "extra data");
  }
  return a;
}

NpyArray open_npy(const std::string& path) {
  const uint64_t size = size_of(path);
  File f = open_file(path);
  const Origin origin{path, ""};
  return parse_npy([&](uint64_t off, void* dst, size_t n) { read_at(f.get(), path, off, dst, n); }, size,
                   origin);
}

// ---------------------------------------------------------------------------------------------
// .npz: a zip archive of .npy entries. We read the central directory (zip64 included: numpy
// always writes zip64 local headers) and support the two methods numpy uses: stored, deflated.

struct ZipEntry {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed_size = 0, size = 0, local_offset = 0;
};

class NpzArchive {
 public:
  explicit NpzArchive(std::string path) : path_(std::move(path)), size_(size_of(path_)) {
    File f = open_file(path_);
    read_directory(f.get());
  }

  const std::string& path() const { return path_; }
  const ZipEntry* find(const std::string& name) const {
    for (const auto& e : entries_) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }
  std::string entry_names() const {
    std::string s;
    for (const auto& e : entries_) s += (s.empty() ? "" : ", ") + e.name;
    return s.empty() ? "none" : s;
  }

  NpyArray array(const ZipEntry& e) const {
    const Origin origin{path_, e.name};
    if (e.flags & 1) throw origin.error("encrypted zip entries are not supported");
    if (e.local_offset > size_) {
      throw origin.error("local header offset past the end of the archive (corrupt)");
    }
    File f = open_file(path_);
    uint8_t local[30];
    read_at(f.get(), path_, e.local_offset, local, sizeof local);
    if (le32(local) != 0x04034b50) throw origin.error("bad local file header signature (corrupt archive)");
    const uint64_t data = e.local_offset + 30 + le16(local + 26) + le16(local + 28);
    if (data > size_ || e.compressed_size > size_ - data) {
      throw origin.error("its {} bytes of data run past the end of the archive (truncated)",
                         e.compressed_size);
    }

    if (e.method == 0) {  // stored: read in place, after checking the CRC in bounded chunks
      if (e.compressed_size != e.size) {
        throw origin.error("stored entry with differing sizes (corrupt archive)");
      }
      std::vector<uint8_t> buf(std::min<uint64_t>(kChunk, e.size));
      uLong crc = crc32(0, nullptr, 0);
      for (uint64_t done = 0; done < e.size;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), e.size - done));
        read_at(f.get(), path_, data + done, buf.data(), n);
        crc = crc32(crc, buf.data(), static_cast<uInt>(n));
        done += n;
      }
      check_crc(crc, e, origin);
      NpyArray a =
          parse_npy([&](uint64_t off, void* dst, size_t n) { read_at(f.get(), path_, data + off, dst, n); },
                    e.size, origin);
      a.data_offset += data;
      return a;
    }
    if (e.method == 8) {  // deflated: inflate once into memory
      auto buf = std::make_shared<std::vector<uint8_t>>(inflate_entry(f.get(), data, e, origin));
      NpyArray a =
          parse_npy([&](uint64_t off, void* dst, size_t n) { std::memcpy(dst, buf->data() + off, n); },
                    buf->size(), origin);
      a.memory = std::move(buf);
      return a;
    }
    throw origin.error("zip compression method {} is not supported (only stored and deflated)", e.method);
  }

 private:
  [[noreturn]] void corrupt(const std::string& why) const {
    throw bad_input("not a valid .npz (zip) archive: {}", why).with_file(path_);
  }

  void read_directory(std::FILE* f) {
    // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
    const uint64_t tail_size = std::min<uint64_t>(size_, 22 + 65535);
    std::vector<uint8_t> tail(static_cast<size_t>(tail_size));
    read_at(f, path_, size_ - tail_size, tail.data(), tail.size());
    if (tail_size < 22) corrupt("too short");
    // Search backwards: the record is last unless an archive comment follows it.
    size_t eocd = tail.size() - 22;
    while (le32(&tail[eocd]) != 0x06054b50) {
      if (eocd == 0) corrupt("no end of central directory record");
      --eocd;
    }
    const uint8_t* r = &tail[eocd];
    if (le16(r + 4) != 0 || le16(r + 6) != 0) corrupt("multi-disk archives are not supported");
    uint64_t count = le16(r + 10), cd_size = le32(r + 12), cd_offset = le32(r + 16);
    if (count == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
      // zip64: a locator just before the record points at the zip64 end record.
      const uint64_t eocd_pos = size_ - tail_size + eocd;
      if (eocd_pos < 20) corrupt("missing zip64 locator");
      uint8_t loc[20], rec[56];
      read_at(f, path_, eocd_pos - 20, loc, sizeof loc);
      if (le32(loc) != 0x07064b50) corrupt("missing zip64 locator");
      const uint64_t rec_pos = le64(loc + 8);
      if (rec_pos > size_ || size_ - rec_pos < sizeof rec) corrupt("zip64 end record out of range");
      read_at(f, path_, rec_pos, rec, sizeof rec);
      if (le32(rec) != 0x06064b50) corrupt("bad zip64 end record");
      count = le64(rec + 32);
      cd_size = le64(rec + 40);
      cd_offset = le64(rec + 48);
    }
    if (cd_offset > size_ || cd_size > size_ - cd_offset) {
      corrupt("central directory out of range (truncated?)");
    }
    if (cd_size > kMaxCentralDirectory) corrupt("central directory too large");
    std::vector<uint8_t> cd(static_cast<size_t>(cd_size));
    read_at(f, path_, cd_offset, cd.data(), cd.size());

    size_t p = 0;
    for (uint64_t i = 0; i < count; ++i) {
      if (cd.size() - p < 46 || le32(&cd[p]) != 0x02014b50) corrupt("bad central directory entry");
      const uint8_t* h = &cd[p];
      const size_t name_len = le16(h + 28), extra_len = le16(h + 30), comment_len = le16(h + 32);
      if (cd.size() - p - 46 < name_len + extra_len + comment_len) {
        corrupt("central directory entry out of range");
      }
      ZipEntry e;
      e.flags = le16(h + 8);
      e.method = le16(h + 10);
      e.crc = le32(h + 16);
      e.compressed_size = le32(h + 20);
      e.size = le32(h + 24);
      e.local_offset = le32(h + 42);
      e.name.assign(reinterpret_cast<const char*>(h + 46), name_len);
      read_zip64_extra(h + 46 + name_len, extra_len, e);
      entries_.push_back(std::move(e));
      p += 46 + name_len + extra_len + comment_len;
    }
  }

  // Sizes and offset that did not fit 32 bits are 0xFFFFFFFF, with the real values in the
  // zip64 extra field (id 1), in this order, only for the fields that overflowed.
  void read_zip64_extra(const uint8_t* x, size_t len, ZipEntry& e) const {
    while (len >= 4) {
      const uint16_t id = le16(x), n = le16(x + 2);
      if (n > len - 4) corrupt("extra field out of range");
      if (id == 1) {
        size_t q = 4;
        for (uint64_t* field : {&e.size, &e.compressed_size, &e.local_offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (q + 8 > 4u + n) corrupt("short zip64 extra field");
          *field = le64(x + q);
          q += 8;
        }
      }
      x += 4 + n;
      len -= 4 + n;
    }
  }

  void check_crc(uLong crc, const ZipEntry& e, const Origin& origin) const {
    if (crc != e.crc) {
      throw origin.error("CRC-32 mismatch: 0x{:08x}, the archive says 0x{:08x} (corrupt data)", crc, e.crc);
    }
  }

  std::vector<uint8_t> inflate_entry(std::FILE* f, uint64_t data, const ZipEntry& e,
                                     const Origin& origin) const {
    if (e.size > kMaxInflatedBytes) {
      throw origin.error(
          "inflates to {} bytes, more than the {}-byte limit for compressed entries (save it with "
          "numpy.savez, which streams, instead of savez_compressed)",
          e.size, kMaxInflatedBytes);
    }
    if (e.size > e.compressed_size * kMaxDeflateRatio) {
      throw origin.error("claims to inflate {} bytes to {}: impossible for deflate (corrupt archive)",
                         e.compressed_size, e.size);
    }
    // One byte of slack detects data longer than the directory says.
    std::vector<uint8_t> out(static_cast<size_t>(e.size) + 1);
    std::vector<uint8_t> in(std::min<uint64_t>(kChunk, std::max<uint64_t>(e.compressed_size, 1)));
    z_stream z{};
    if (inflateInit2(&z, -15) != Z_OK) throw internal_error("inflateInit2 failed");
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    uint64_t consumed = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      if (z.avail_in == 0) {
        if (consumed == e.compressed_size) {
          throw origin.error("deflate stream ends early (truncated or corrupt)");
        }
        const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), e.compressed_size - consumed));
        read_at(f, path_, data + consumed, in.data(), n);
        consumed += n;
        z.next_in = in.data();
        z.avail_in = static_cast<uInt>(n);
      }
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc == Z_BUF_ERROR && z.avail_out == 0) break;  // output full: too much data
      if (rc != Z_OK && rc != Z_STREAM_END) {
        throw origin.error("corrupt deflate data: {}", z.msg ? z.msg : zError(rc));
      }
    }
    if (rc != Z_STREAM_END || z.total_out != e.size) {
      throw origin.error("inflates to {}{} bytes, the archive says {} (corrupt archive)",
                         rc == Z_STREAM_END ? "" : "more than ", z.total_out, e.size);
    }
    out.resize(static_cast<size_t>(e.size));
    check_crc(crc32(crc32(0, nullptr, 0), out.data(), static_cast<uInt>(out.size())), e, origin);
    return out;
  }

  std::string path_;
  uint64_t size_ = 0;
  std::vector<ZipEntry> entries_;
};

enum class FileKind { Npy, Npz };

FileKind kind_of_file(const std::string& path) {
  File f = open_file(path);
  char magic[6] = {};
  const size_t n = std::fread(magic, 1, sizeof magic, f.get());
  if (n == 6 && std::memcmp(magic, "\x93NUMPY", 6) == 0) return FileKind::Npy;
  if (n >= 4 && std::memcmp(magic, "PK", 2) == 0) return FileKind::Npz;
  throw bad_input("neither an .npy file nor an .npz archive (unknown magic bytes)").with_file(path);
}

// The array at `path`: the file itself for an .npy, entry `key`.npy for an .npz.
NpyArray open_array(const std::string& path, const std::string& key, const std::string& key_param) {
  if (kind_of_file(path) == FileKind::Npy) return open_npy(path);
  const NpzArchive npz(path);
  const ZipEntry* e = npz.find(key + ".npy");
  if (!e) {
    throw bad_input("the archive has no entry '{}.npy' (entries: {}); set {}", key, npz.entry_names(),
                    key_param)
        .with_file(path);
  }
  return npz.array(*e);
}

bool is_integer_label_dtype(ir::DType t) {
  switch (t) {
    case ir::DType::UInt8:
    case ir::DType::Int8:
    case ir::DType::UInt16:
    case ir::DType::Int16:
    case ir::DType::Int32:
    case ir::DType::Int64: return true;
    default: return false;
  }
}

// Labels in file order: integers, shape [N] or [N, 1], N matching the inputs, none negative.
std::vector<int64_t> load_labels(const NpyArray& a, const NpyArray& inputs) {
  if (!is_integer_label_dtype(a.dtype)) {
    throw a.origin.error("labels must be integers, got {}", ir::dtype_name(a.dtype));
  }
  if (a.shape.size() > 2 || (a.shape.size() == 2 && a.shape[1] != 1)) {
    throw a.origin.error("labels must have shape [N] or [N, 1], got {}", ir::shape_str(a.shape));
  }
  if (a.rows() != inputs.rows()) {
    throw a.origin.error("{} labels but {} holds {} samples", a.rows(), inputs.origin.name(), inputs.rows());
  }
  ir::Tensor t = ir::Tensor::zeros(a.dtype, a.shape);
  std::vector<int64_t> all(static_cast<size_t>(a.rows()));
  std::iota(all.begin(), all.end(), int64_t{0});
  a.read_rows(all.data(), a.rows(), static_cast<uint8_t*>(t.raw()));
  for (size_t i = 0; i < all.size(); ++i) {
    all[i] = t.get_as_int64(static_cast<int64_t>(i));
    if (all[i] < 0) throw a.origin.error("label {} at index {} is negative", all[i], i);
  }
  return all;
}

struct Where {
  std::string file, json_path;
};

// Adds "which pipeline parameter" to errors about the file it names.
template <typename F>
auto for_param(const Where& where, const std::string& param, F&& f) {
  try {
    return f();
  } catch (Error& e) {
    e.with_json_path(where.json_path + "/" + param);
    throw;
  }
}

class NpyDataset final : public Dataset {
 public:
  NpyDataset(NpyArray inputs, std::vector<int64_t> order, std::vector<int64_t> labels,
             std::vector<std::string> class_names, std::optional<NpyArray> calibration, std::string source,
             std::string what, Where where)
      : inputs_(std::move(inputs)),
        order_(std::move(order)),
        labels_(std::move(labels)),
        class_names_(std::move(class_names)),
        calibration_(std::move(calibration)),
        source_(std::move(source)),
        what_(std::move(what)),
        where_(std::move(where)) {}

  std::string description() const override {
    return fmt::format("npy {} ({})", inputs_.origin.name(), what_);
  }
  int64_t size() const override { return static_cast<int64_t>(order_.size()); }
  std::vector<int64_t> sample_shape() const override { return inputs_.sample_shape(); }
  ir::DType sample_dtype() const override { return inputs_.dtype; }
  const std::vector<int64_t>& labels() const override { return labels_; }
  std::vector<std::string> class_names() const override { return class_names_; }
  std::string source() const override { return source_; }

  Batch read(int64_t first, int64_t count) const override {
    if (first < 0 || count < 0 || first > size() - count) {
      throw inputs_.origin.error("read of samples [{}, {}) is out of range: the dataset has {} samples",
                                 first, first + count, size());
    }
    ir::Shape shape = inputs_.sample_shape();
    shape.insert(shape.begin(), count);
    Batch b;
    b.samples = ir::Tensor::zeros(inputs_.dtype, std::move(shape));
    inputs_.read_rows(order_.data() + first, count, static_cast<uint8_t*>(b.samples.raw()));
    if (!labels_.empty()) b.labels.assign(labels_.begin() + first, labels_.begin() + first + count);
    return b;
  }

  // From calibration_inputs only, never from the evaluated inputs: `count` samples drawn with
  // `seed`, unlabeled.
  std::unique_ptr<Dataset> calibration_set(int64_t count, uint64_t seed) const override {
    if (!calibration_) {
      throw bad_input("dataset 'npy' has no calibration data: set calibration_inputs")
          .with_file(where_.file)
          .with_json_path(where_.json_path + "/calibration_inputs");
    }
    if (count < 1) throw bad_input("npy dataset: calibration sample count must be >= 1, got {}", count);
    std::vector<int64_t> order = shuffled_indices(calibration_->rows(), seed);
    order.resize(std::min(order.size(), static_cast<size_t>(count)));
    std::string what = fmt::format("calibration: {} of {} samples, drawn with seed {}", order.size(),
                                   calibration_->rows(), seed);
    return std::make_unique<NpyDataset>(*calibration_, std::move(order), std::vector<int64_t>{}, class_names_,
                                        std::nullopt, calibration_->origin.name(), std::move(what), where_);
  }

 private:
  NpyArray inputs_;
  std::vector<int64_t> order_;
  std::vector<int64_t> labels_;  // dataset order; empty when unlabeled
  std::vector<std::string> class_names_;
  std::optional<NpyArray> calibration_;
  std::string source_;
  std::string what_;
  Where where_;
};

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

std::unique_ptr<Dataset> make_npy(const json& params, const pipeline::BuildContext& ctx) {
  const Where where{ctx.file, ctx.json_path};
  const std::string inputs_path = params.at("inputs").get<std::string>();
  const std::string labels_path = params.at("labels").get<std::string>();
  const std::string inputs_key = params.at("inputs_key").get<std::string>();
  const std::string labels_key = params.at("labels_key").get<std::string>();
  const std::string calibration_path = params.at("calibration_inputs").get<std::string>();
  const int64_t limit = params.at("limit").get<int64_t>();
  const bool shuffle = params.at("shuffle").get<bool>();
  const uint64_t seed = params.at("seed").get<uint64_t>();
  std::vector<std::string> class_names = params.at("class_names").get<std::vector<std::string>>();

  NpyArray inputs =
      for_param(where, "inputs", [&] { return open_array(inputs_path, inputs_key, "inputs_key"); });
  std::string source = inputs.origin.name();

  // Labels: the labels file when given, else the archive's labels_key entry when there is one.
  std::vector<int64_t> file_labels;
  if (!labels_path.empty()) {
    file_labels = for_param(where, "labels", [&] {
      return load_labels(open_array(labels_path, labels_key, "labels_key"), inputs);
    });
  } else if (!inputs.origin.entry.empty()) {
    const NpzArchive npz(inputs_path);
    if (const ZipEntry* e = npz.find(labels_key + ".npy")) {
      file_labels = for_param(where, "inputs", [&] { return load_labels(npz.array(*e), inputs); });
    }
  }
  if (!file_labels.empty() && !labels_path.empty()) source += ", " + labels_path;
  if (!class_names.empty()) {
    for (size_t i = 0; i < file_labels.size(); ++i) {
      if (file_labels[i] >= static_cast<int64_t>(class_names.size())) {
        throw bad_input("label {} of sample {} has no class name: class_names has {} entries", file_labels[i],
                        i, class_names.size())
            .with_file(ctx.file)
            .with_json_path(ctx.json_path + "/class_names");
      }
    }
  }

  std::optional<NpyArray> calibration;
  if (!calibration_path.empty()) {
    calibration = for_param(where, "calibration_inputs", [&] {
      if (same_file(calibration_path, inputs_path)) {
        throw bad_input(
            "calibration_inputs is the inputs file itself: calibration must not see the "
            "evaluated samples")
            .with_file(calibration_path);
      }
      NpyArray c = open_array(calibration_path, inputs_key, "inputs_key");
      if (c.sample_shape() != inputs.sample_shape() || c.dtype != inputs.dtype) {
        throw c.origin.error("calibration samples are {} {}, the inputs are {} {}: they must match",
                             ir::dtype_name(c.dtype), ir::shape_str(c.sample_shape()),
                             ir::dtype_name(inputs.dtype), ir::shape_str(inputs.sample_shape()));
      }
      return c;
    });
  }

  std::vector<int64_t> order = sample_order(inputs.rows(), shuffle, seed, limit);
  std::vector<int64_t> labels;
  if (!file_labels.empty()) {
    labels.reserve(order.size());
    for (int64_t i : order) labels.push_back(file_labels[static_cast<size_t>(i)]);
  }
  std::string what = fmt::format("{} of {} samples, {}{}", order.size(), inputs.rows(),
                                 shuffle ? fmt::format("shuffled with seed {}", seed) : "in file order",
                                 file_labels.empty() ? ", unlabeled" : "");
  return std::make_unique<NpyDataset>(std::move(inputs), std::move(order), std::move(labels),
                                      std::move(class_names), std::move(calibration), std::move(source),
                                      std::move(what), where);
}

}  // namespace

pipeline::Registration npy_dataset_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "npy";
  spec.description =
      "NumPy .npy arrays or .npz archives: samples [N, ...] in their stored dtype, integer labels [N]";
  spec.params = {
      {"inputs",
       ParamType::Path,
       nullptr,
       true,
       {},
       {},
       {},
       "an .npy file of samples [N, ...], or an .npz archive"},
      {"labels",
       ParamType::Path,
       "",
       false,
       {},
       {},
       {},
       "an .npy (or .npz) of integer labels [N]; empty = the inputs archive's labels_key entry, if any"},
      {"inputs_key",
       ParamType::String,
       "x",
       false,
       {},
       {},
       {},
       "the .npz entry (without .npy) holding the samples"},
      {"labels_key",
       ParamType::String,
       "y",
       false,
       {},
       {},
       {},
       "the .npz entry (without .npy) holding the labels; absent from an inputs archive = unlabeled"},
      {"calibration_inputs",
       ParamType::Path,
       "",
       false,
       {},
       {},
       {},
       "an .npy (or .npz, entry inputs_key) of calibration samples, distinct from the evaluated ones; "
       "empty = no calibration data"},
      {"class_names",
       ParamType::StringList,
       json::array(),
       false,
       {},
       {},
       {},
       "names of the classes by label"},
  };
  const auto sampling = sampling_params();
  spec.params.insert(spec.params.end(), sampling.begin(), sampling.end());
  return pipeline::make_registration<Dataset>(std::move(spec), pipeline::Factory<Dataset>(make_npy));
}

}  // namespace hone::datasets
