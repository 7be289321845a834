// Datasets: idx (raw and gzip), npy/npz (stored and deflated), random. Test files are written
// here, byte by byte, so every value below is known; tests/data/datasets/ holds two .npz files
// written by numpy 1.24 itself (zip64 local headers, as numpy always writes them):
//   x = (np.arange(30).reshape(5, 2, 3) * 7 % 256).astype(np.uint8); y = np.array([3, 1, 4, 1, 5])
//   np.savez("numpy_savez.npz", x=x, y=y)
//   np.savez_compressed("numpy_savez_compressed.npz", x=x.astype(np.float32) / 2, y=y)
#include "test_paths.h"
#include "datasets/dataset.h"
#include "datasets/datasets.h"
#include "pipeline/component.h"
#include "pipeline/registry.h"
#include "support/error.h"
#include "test_util.h"

#include <catch2/catch.hpp>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

using namespace hone;
using hone::test::TempDir;
using hone::test::bad_input_message;
using namespace hone::datasets;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {


using Bytes = std::vector<uint8_t>;

void write_file(const fs::path& p, const Bytes& b) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  REQUIRE(f.good());
}

Bytes read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

void write_gzip(const fs::path& p, const Bytes& b) {
  fs::create_directories(p.parent_path());
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}
void put_le16(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put_le32(Bytes& b, uint32_t v) {
  put_le16(b, v & 0xFFFF);
  put_le16(b, v >> 16);
}
void append(Bytes& b, const void* p, size_t n) {
  b.insert(b.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
}

Bytes idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes b;
  put_be32(b, magic);
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// n images of 3 x 2 pixels; pixel e of image i is (base + i + 7 e) % 256, so pixel 0 names the
// image. Labels are i % 4.
constexpr int64_t kRows = 3, kCols = 2, kPixels = kRows * kCols;
uint8_t pixel(int base, int64_t i, int64_t e) { return static_cast<uint8_t>((base + i + 7 * e) % 256); }

Bytes images_of(int64_t n, int base) {
  Bytes data;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t e = 0; e < kPixels; ++e) data.push_back(pixel(base, i, e));
  }
  return idx_bytes(0x803, {static_cast<uint32_t>(n), kRows, kCols}, data);
}
Bytes labels_of(int64_t n) {
  Bytes data;
  for (int64_t i = 0; i < n; ++i) data.push_back(static_cast<uint8_t>(i % 4));
  return idx_bytes(0x801, {static_cast<uint32_t>(n)}, data);
}

// A split's two files: gzip-compressed or raw.
void write_split(const fs::path& root, const std::string& prefix, int64_t n, int base, bool gz) {
  const std::string ext = gz ? ".gz" : "";
  auto write = gz ? write_gzip : write_file;
  write(root / (prefix + "-images-idx3-ubyte" + ext), images_of(n, base));
  write(root / (prefix + "-labels-idx1-ubyte" + ext), labels_of(n));
}

pipeline::BuildContext context() {
  pipeline::BuildContext ctx;
  ctx.file = "pipeline.json";
  ctx.json_path = "/dataset/parameters";
  return ctx;
}

std::unique_ptr<Dataset> make(const pipeline::Registration& reg, const json& params,
                              const pipeline::BuildContext& ctx = context()) {
  const json p = pipeline::validate_parameters(reg.spec, params, ctx.json_path);
  return pipeline::create<Dataset>(reg, p, ctx);
}
std::unique_ptr<Dataset> make_idx(const json& params) { return make(idx_dataset_registration(), params); }
std::unique_ptr<Dataset> make_npy(const json& params) { return make(npy_dataset_registration(), params); }


// The first pixel of every sample, in dataset order: which images a dataset holds.
std::vector<int64_t> first_pixels(const Dataset& ds) {
  const Batch b = ds.read(0, ds.size());
  std::vector<int64_t> out;
  for (int64_t i = 0; i < ds.size(); ++i) out.push_back(b.samples.get_as_int64(i * kPixels));
  return out;
}

}  // namespace

TEST_CASE("shuffled_indices is a deterministic permutation", "[datasets]") {
  const auto a = shuffled_indices(100, 7);
  CHECK(a == shuffled_indices(100, 7));
  CHECK(a != shuffled_indices(100, 8));
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
  CHECK(shuffled_indices(0, 1).empty());
  CHECK(shuffled_indices(1, 1) == std::vector<int64_t>{0});
}

TEST_CASE("idx reads raw and gzip files with their values", "[datasets]") {
  TempDir dir;
  write_split(dir / "digits", "t10k", 10, 0, false);
  write_split(dir / "fashion-small", "t10k", 10, 0, true);
  for (const std::string folder : {"digits", "fashion-small"}) {
    INFO(folder);
    auto ds = make_idx({{"root", (dir / folder).string()}});
    REQUIRE(ds->size() == 10);
    CHECK(ds->sample_shape() == std::vector<int64_t>{kRows, kCols});
    CHECK(ds->sample_dtype() == ir::DType::UInt8);
    CHECK(ds->labels() == std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1});
    CHECK(ds->description().find("test split") != std::string::npos);
    CHECK(ds->source().find("t10k-images-idx3-ubyte") != std::string::npos);

    const Batch b = ds->read(2, 3);
    CHECK(b.samples.shape() == ir::Shape{3, kRows, kCols});
    CHECK(b.labels == std::vector<int64_t>{2, 3, 0});
    for (int64_t k = 0; k < 3; ++k) {
      for (int64_t e = 0; e < kPixels; ++e) {
        CHECK(b.samples.data<uint8_t>()[k * kPixels + e] == pixel(0, 2 + k, e));
      }
    }
    CHECK(ds->read(10, 0).samples.shape() == ir::Shape{0, kRows, kCols});
    CHECK(bad_input_message([&] { ds->read(8, 3); }).find("out of range") != std::string::npos);
    CHECK(bad_input_message([&] { ds->read(-1, 1); }).find("out of range") != std::string::npos);
  }
  // Class names: Fashion-MNIST's when the folder says so, else none unless given.
  CHECK(make_idx({{"root", (dir / "digits").string()}})->class_names().empty());
  const auto names = make_idx({{"root", (dir / "fashion-small").string()}})->class_names();
  REQUIRE(names.size() == 10);
  CHECK(names[0] == "T-shirt/top");
  CHECK(names[9] == "Ankle boot");
  CHECK(
      make_idx({{"root", (dir / "digits").string()}, {"class_names", {"a", "b", "c", "d"}}})->class_names() ==
      std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(bad_input_message([&] {
          make_idx({{"root", (dir / "digits").string()}, {"class_names", {"a", "b"}}});
        }).find("/dataset/parameters/class_names") != std::string::npos);
}

TEST_CASE("idx split, limit and shuffle", "[datasets]") {
  TempDir dir;
  write_split(dir.path, "t10k", 50, 0, false);
  write_split(dir.path, "train", 80, 100, true);
  const std::string root = dir.path.string();

  auto train = make_idx({{"root", root}, {"split", "train"}});
  CHECK(train->size() == 80);
  CHECK(first_pixels(*train)[5] == 105);
  CHECK(train->description().find("train split") != std::string::npos);

  auto limited = make_idx({{"root", root}, {"limit", 7}});
  CHECK(limited->size() == 7);
  CHECK(first_pixels(*limited) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(make_idx({{"root", root}, {"limit", 500}})->size() == 50);

  const auto a = first_pixels(*make_idx({{"root", root}, {"shuffle", true}, {"seed", 1}}));
  const auto b = first_pixels(*make_idx({{"root", root}, {"shuffle", true}, {"seed", 1}}));
  const auto c = first_pixels(*make_idx({{"root", root}, {"shuffle", true}, {"seed", 2}}));
  CHECK(a == b);
  CHECK(a != c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
  // Labels follow their samples; limit takes the head of the shuffled order.
  auto shuffled = make_idx({{"root", root}, {"shuffle", true}, {"seed", 1}, {"limit", 10}});
  CHECK(first_pixels(*shuffled) == std::vector<int64_t>(a.begin(), a.begin() + 10));
  for (int64_t i = 0; i < 10; ++i) {
    CHECK(shuffled->labels()[static_cast<size_t>(i)] == a[static_cast<size_t>(i)] % 4);
  }
  // A batch read anywhere equals the same rows of a full read.
  const Batch all = shuffled->read(0, 10), part = shuffled->read(4, 3);
  CHECK(std::memcmp(part.samples.raw(), all.samples.data<uint8_t>() + 4 * kPixels, 3 * kPixels) == 0);
}

TEST_CASE("idx calibration never uses evaluated samples", "[datasets]") {
  TempDir dir;
  write_split(dir.path, "t10k", 20, 0, true);
  write_split(dir.path, "train", 60, 100, false);
  const std::string root = dir.path.string();

  SECTION("the test split calibrates from the train files") {
    auto test = make_idx({{"root", root}});
    auto cal = test->calibration_set(25, 3);
    CHECK(cal->size() == 25);
    CHECK(cal->description().find("train split") != std::string::npos);
    CHECK(cal->source().find("train-images-idx3-ubyte") != std::string::npos);
    const auto px = first_pixels(*cal);
    CHECK(std::set<int64_t>(px.begin(), px.end()).size() == 25);
    for (int64_t p : px) CHECK((p >= 100 && p < 160));
    CHECK(first_pixels(*test->calibration_set(25, 3)) == px);
    CHECK(first_pixels(*test->calibration_set(25, 4)) != px);
    CHECK(test->calibration_set(1000, 3)->size() == 60);
  }
  SECTION("the train split calibrates from the samples it does not evaluate") {
    for (bool shuffle : {false, true}) {
      auto train =
          make_idx({{"root", root}, {"split", "train"}, {"limit", 45}, {"shuffle", shuffle}, {"seed", 9}});
      auto cal = train->calibration_set(100, 1);
      CHECK(cal->size() == 15);
      const auto eval = first_pixels(*train), calib = first_pixels(*cal);
      std::set<int64_t> all(eval.begin(), eval.end());
      for (int64_t p : calib) CHECK(all.insert(p).second);  // disjoint
      CHECK(all.size() == 60);                              // and together every train sample
      auto small = train->calibration_set(5, 1);
      CHECK(small->size() == 5);
      CHECK(first_pixels(*small) == std::vector<int64_t>(calib.begin(), calib.begin() + 5));
    }
  }
  SECTION("no train samples left is an error naming the reason") {
    auto train = make_idx({{"root", root}, {"split", "train"}});
    const std::string msg = bad_input_message([&] { train->calibration_set(10, 0); });
    CHECK(msg.find("/dataset/parameters/limit") != std::string::npos);
    CHECK(msg.find("evaluates all 60 samples") != std::string::npos);
  }
  SECTION("a test split without train files") {
    fs::remove(dir / "train-images-idx3-ubyte");
    auto test = make_idx({{"root", root}});
    const std::string msg = bad_input_message([&] { test->calibration_set(10, 0); });
    CHECK(msg.find("calibration data comes from the train split") != std::string::npos);
    CHECK(msg.find("train-images-idx3-ubyte") != std::string::npos);
  }
}

TEST_CASE("idx rejects broken files with the file's name", "[datasets]") {
  TempDir dir;
  const std::string root = dir.path.string();
  const fs::path images = dir / "t10k-images-idx3-ubyte", labels = dir / "t10k-labels-idx1-ubyte";
  auto error = [&] { return bad_input_message([&] { make_idx({{"root", root}}); }); };
  write_file(labels, labels_of(4));

  SECTION("missing files name the root and the file") {
    const std::string msg = error();
    CHECK(msg.find(root) != std::string::npos);
    CHECK(msg.find("no t10k-images-idx3-ubyte[.gz] in " + root) != std::string::npos);
    CHECK(msg.find("t10k-labels") == std::string::npos);
    CHECK(msg.find("/dataset/parameters/root") != std::string::npos);
    CHECK(msg.find("apt-get") == std::string::npos);  // not the default root
    const std::string gone = bad_input_message([&] { make_idx({{"root", root + "/nowhere"}}); });
    CHECK(gone.find("does not exist") != std::string::npos);
  }
  SECTION("bad magic") {
    write_file(images, idx_bytes(0x802, {4, kRows, kCols}, Bytes(24)));
    const std::string msg = error();
    CHECK(msg.find(images.string()) != std::string::npos);
    CHECK(msg.find("bad magic number 0x00000802") != std::string::npos);
  }
  SECTION("labels magic in the images file") {
    write_file(images, labels_of(4));
    CHECK(error().find("bad magic") != std::string::npos);
  }
  SECTION("truncated raw file") {
    Bytes b = images_of(4, 0);
    b.resize(b.size() - 1);
    write_file(images, b);
    const std::string msg = error();
    CHECK(msg.find(images.string()) != std::string::npos);
    CHECK(msg.find("truncated") != std::string::npos);
  }
  SECTION("extra data after a raw file") {
    Bytes b = images_of(4, 0);
    b.push_back(0);
    write_file(images, b);
    CHECK(error().find("extra data") != std::string::npos);
  }
  SECTION("a header asking for far more than the file holds allocates nothing") {
    write_file(images, idx_bytes(0x803, {60000, 28, 28}, Bytes(10)));
    CHECK(error().find("truncated") != std::string::npos);
    write_gzip(images.string() + ".gz", idx_bytes(0x803, {60000, 28, 28}, Bytes(10)));
    CHECK(error().find("cannot hold that much") != std::string::npos);
    write_gzip(images.string() + ".gz", idx_bytes(0x803, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, Bytes(10)));
    CHECK(error().find("more than 2147483648 bytes") != std::string::npos);
  }
  SECTION("truncated gzip file") {
    write_gzip(images.string() + ".gz", images_of(4, 0));
    Bytes b = read_file(images.string() + ".gz");
    b.resize(b.size() - 12);  // cuts into the data, loses the trailer
    write_file(images.string() + ".gz", b);
    const std::string msg = error();
    CHECK(msg.find(images.string() + ".gz") != std::string::npos);
    CHECK(msg.find("truncated") != std::string::npos);
  }
  SECTION("gzip file without its trailer") {
    write_gzip(images.string() + ".gz", images_of(4, 0));
    Bytes b = read_file(images.string() + ".gz");
    b.resize(b.size() - 8);
    write_file(images.string() + ".gz", b);
    CHECK(error().find(images.string() + ".gz") != std::string::npos);
  }
  SECTION("corrupt gzip data (CRC)") {
    write_gzip(images.string() + ".gz", images_of(4, 0));
    Bytes b = read_file(images.string() + ".gz");
    b[b.size() - 8] ^= 0xFF;  // the trailer's CRC-32
    write_file(images.string() + ".gz", b);
    const std::string msg = error();
    CHECK(msg.find(images.string() + ".gz") != std::string::npos);
    CHECK(msg.find("corrupt gzip data") != std::string::npos);
  }
  SECTION("corrupt deflate stream") {
    write_gzip(images.string() + ".gz", images_of(200, 0));
    Bytes b = read_file(images.string() + ".gz");
    for (size_t i = 12; i < b.size() - 8; i += 3) b[i] ^= 0x5A;
    write_file(images.string() + ".gz", b);
    CHECK(error().find(images.string() + ".gz") != std::string::npos);
  }
  SECTION("a .gz name on a raw file") {
    write_file(images.string() + ".gz", images_of(4, 0));
    CHECK(error().find("not a gzip file") != std::string::npos);
  }
  SECTION("image and label counts differ") {
    write_file(images, images_of(5, 0));
    const std::string msg = error();
    CHECK(msg.find(images.string()) != std::string::npos);
    CHECK(msg.find("5 images but " + labels.string() + " has 4 labels") != std::string::npos);
  }
}

TEST_CASE("idx on Debian's Fashion-MNIST", "[datasets][fashion-mnist]") {
  const std::string root = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(root)) {
    WARN("skipped: " << root << " is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  auto test = make_idx({});  // the default root and split
  REQUIRE(test->size() == 10000);
  CHECK(test->sample_shape() == std::vector<int64_t>{28, 28});
  CHECK(test->class_names().size() == 10);
  std::vector<int64_t> per_class(10, 0);
  for (int64_t label : test->labels()) {
    REQUIRE((label >= 0 && label < 10));
    ++per_class[static_cast<size_t>(label)];
  }
  CHECK(per_class == std::vector<int64_t>(10, 1000));
  const Batch b = test->read(9990, 10);
  CHECK(b.samples.shape() == ir::Shape{10, 28, 28});

  auto train = make_idx({{"split", "train"}});
  CHECK(train->size() == 60000);
  auto cal = test->calibration_set(100, 0);
  CHECK(cal->size() == 100);
  CHECK(cal->description().find("train split") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// npy / npz

namespace {

// An .npy file: header padded to a multiple of 64 bytes, as numpy writes it.
Bytes npy_bytes(const std::string& descr, const std::string& shape, const void* data, size_t n, int major = 1,
                bool fortran = false) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                  ", 'shape': " + shape + ", }";
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  if (major == 1) {
    put_le16(b, static_cast<uint32_t>(h.size()));
  } else {
    put_le32(b, static_cast<uint32_t>(h.size()));
  }
  append(b, h.data(), h.size());
  append(b, data, n);
  return b;
}
template <typename T>
Bytes npy_of(const std::string& descr, const std::string& shape, const std::vector<T>& v, int major = 1) {
  return npy_bytes(descr, shape, v.data(), v.size() * sizeof(T), major);
}

Bytes raw_deflate(const Bytes& in) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = const_cast<Bytes::value_type*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Member {
  std::string name;
  Bytes data;
  bool deflate = false;
};

// A minimal zip archive (no zip64, no data descriptors) of stored or deflated members.
Bytes make_zip(const std::vector<Member>& members) {
  Bytes out, cd;
  for (const Member& m : members) {
    const Bytes payload = m.deflate ? raw_deflate(m.data) : m.data;
    const uint32_t crc = static_cast<uint32_t>(crc32(0, m.data.data(), static_cast<uInt>(m.data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    for (Bytes* b : {&out, &cd}) {
      put_le32(*b, b == &out ? 0x04034b50 : 0x02014b50);
      if (b == &cd) put_le16(*b, 20);  // version made by
      put_le16(*b, 20);                // version needed
      put_le16(*b, 0);                 // flags
      put_le16(*b, m.deflate ? 8 : 0);
      put_le32(*b, 0);  // time, date
      put_le32(*b, crc);
      put_le32(*b, static_cast<uint32_t>(payload.size()));
      put_le32(*b, static_cast<uint32_t>(m.data.size()));
      put_le16(*b, static_cast<uint32_t>(m.name.size()));
      put_le16(*b, 0);  // extra length
      if (b == &cd) {
        put_le16(*b, 0);  // comment length
        put_le16(*b, 0);  // disk
        put_le16(*b, 0);  // internal attributes
        put_le32(*b, 0);  // external attributes
        put_le32(*b, offset);
      }
      append(*b, m.name.data(), m.name.size());
    }
    out.insert(out.end(), payload.begin(), payload.end());
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), cd.begin(), cd.end());
  put_le32(out, 0x06054b50);
  put_le32(out, 0);  // disks
  put_le16(out, static_cast<uint32_t>(members.size()));
  put_le16(out, static_cast<uint32_t>(members.size()));
  put_le32(out, static_cast<uint32_t>(cd.size()));
  put_le32(out, cd_offset);
  put_le16(out, 0);
  return out;
}

// 6 samples of 2 x 2 float32: sample i holds i + 0.25 e. Labels 5 - i.
std::vector<float> float_samples(int n = 6, float base = 0) {
  std::vector<float> v;
  for (int i = 0; i < n; ++i) {
    for (int e = 0; e < 4; ++e) v.push_back(base + static_cast<float>(i) + 0.25f * static_cast<float>(e));
  }
  return v;
}
const std::vector<int64_t> kNpyLabels = {5, 4, 3, 2, 1, 0};

std::vector<double> values_of(const ir::Tensor& t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t.numel(); ++i) out.push_back(t.get_as_double(i));
  return out;
}

}  // namespace

TEST_CASE("npy reads every supported dtype and header version", "[datasets]") {
  TempDir dir;
  auto check = [&](const Bytes& file, ir::DType dtype, const std::vector<double>& want) {
    write_file(dir / "x.npy", file);
    auto ds = make_npy({{"inputs", (dir / "x.npy").string()}});
    CHECK(ds->size() == 3);
    CHECK(ds->sample_shape() == std::vector<int64_t>{2});
    CHECK(ds->sample_dtype() == dtype);
    CHECK(ds->labels().empty());
    const Batch b = ds->read(0, 3);
    CHECK(b.samples.shape() == ir::Shape{3, 2});
    CHECK(values_of(b.samples) == want);
    CHECK(values_of(ds->read(1, 2).samples) == std::vector<double>(want.begin() + 2, want.end()));
  };
  const std::vector<double> want = {0, 1, 100, 2, 3, 4};
  check(npy_of<uint8_t>("|u1", "(3, 2)", {0, 1, 100, 2, 3, 4}), ir::DType::UInt8, want);
  check(npy_of<int8_t>("|i1", "(3, 2)", {0, 1, 100, 2, 3, 4}), ir::DType::Int8, want);
  check(npy_of<int8_t>("|i1", "(3,2)", {0, -1, -100, 2, 3, 4}), ir::DType::Int8, {0, -1, -100, 2, 3, 4});
  check(npy_of<uint16_t>("<u2", "(3, 2)", {0, 1, 100, 2, 3, 60000}), ir::DType::UInt16,
        {0, 1, 100, 2, 3, 60000});
  check(npy_of<int16_t>("<i2", "(3, 2)", {0, 1, 100, 2, 3, -4}), ir::DType::Int16, {0, 1, 100, 2, 3, -4});
  check(npy_of<int32_t>("<i4", "(3, 2)", {0, 1, 100, 2, 3, -4}), ir::DType::Int32, {0, 1, 100, 2, 3, -4});
  check(npy_of<int64_t>("<i8", "(3L, 2L)", {0, 1, 100, 2, 3, -4}), ir::DType::Int64, {0, 1, 100, 2, 3, -4});
  check(npy_of<float>("<f4", "(3, 2)", {0, 1, 100, 2, 3, -4.5f}), ir::DType::Float32,
        {0, 1, 100, 2, 3, -4.5});
  // float64 stays float64.
  check(npy_of<double>("<f8", "(3, 2)", {0, 1, 100, 2, 3, 0.1}), ir::DType::Float64, {0, 1, 100, 2, 3, 0.1});
  check(npy_of<float>("<f4", "(3, 2)", {0, 1, 100, 2, 3, 4}, 2), ir::DType::Float32, want);
  check(npy_of<float>("<f4", "(3, 2)", {0, 1, 100, 2, 3, 4}, 3), ir::DType::Float32, want);
  // One-dimensional inputs: scalar samples.
  write_file(dir / "s.npy", npy_of<float>("<f4", "(4,)", {1, 2, 3, 4}));
  auto scalars = make_npy({{"inputs", (dir / "s.npy").string()}});
  CHECK(scalars->sample_shape().empty());
  CHECK(values_of(scalars->read(1, 2).samples) == std::vector<double>{2, 3});
}

TEST_CASE("npy labels, limit, shuffle and class names", "[datasets]") {
  TempDir dir;
  const std::string x = (dir / "x.npy").string(), y = (dir / "y.npy").string();
  write_file(x, npy_of("<f4", "(6, 2, 2)", float_samples()));
  write_file(y, npy_of("<i8", "(6,)", kNpyLabels));

  auto ds = make_npy({{"inputs", x}, {"labels", y}});
  CHECK(ds->size() == 6);
  CHECK(ds->sample_shape() == std::vector<int64_t>{2, 2});
  CHECK(ds->labels() == kNpyLabels);
  CHECK(ds->source() == x + ", " + y);
  Batch b = ds->read(1, 2);
  CHECK(b.labels == std::vector<int64_t>{4, 3});
  CHECK(values_of(b.samples) == std::vector<double>{1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75});

  // [N, 1] int32 labels work too.
  write_file(y, npy_of<int32_t>("<i4", "(6, 1)", {5, 4, 3, 2, 1, 0}));
  CHECK(make_npy({{"inputs", x}, {"labels", y}})->labels() == kNpyLabels);

  CHECK(make_npy({{"inputs", x}, {"labels", y}, {"limit", 2}})->labels() == std::vector<int64_t>{5, 4});
  auto s1 = make_npy({{"inputs", x}, {"labels", y}, {"shuffle", true}, {"seed", 4}});
  auto s2 = make_npy({{"inputs", x}, {"labels", y}, {"shuffle", true}, {"seed", 4}});
  CHECK(s1->labels() == s2->labels());
  CHECK(values_of(s1->read(0, 6).samples) == values_of(s2->read(0, 6).samples));
  std::vector<int64_t> sorted = s1->labels();
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  // Every sample still carries its own label (sample i starts with value i, label 5 - i).
  const Batch all = s1->read(0, 6);
  for (int64_t k = 0; k < 6; ++k) {
    CHECK(all.samples.data<float>()[k * 4] == static_cast<float>(5 - all.labels[static_cast<size_t>(k)]));
  }
  // Unshuffled reads of a shuffled dataset agree with the full read.
  const std::vector<double> all_values = values_of(all.samples);
  CHECK(values_of(s1->read(2, 3).samples) ==
        std::vector<double>(all_values.begin() + 8, all_values.begin() + 20));
  auto other = make_npy({{"inputs", x}, {"labels", y}, {"shuffle", true}, {"seed", 5}});
  auto third = make_npy({{"inputs", x}, {"labels", y}, {"shuffle", true}, {"seed", 6}});
  CHECK((other->labels() != s1->labels() || third->labels() != s1->labels()));

  CHECK(make_npy({{"inputs", x}, {"labels", y}, {"class_names", {"a", "b", "c", "d", "e", "f"}}})
            ->class_names()
            .size() == 6);
  CHECK(bad_input_message([&] {
          make_npy({{"inputs", x}, {"labels", y}, {"class_names", {"a", "b"}}});
        }).find("class_names has 2 entries") != std::string::npos);
}

TEST_CASE("npy rejects bad labels naming the file", "[datasets]") {
  TempDir dir;
  const std::string x = (dir / "x.npy").string(), y = (dir / "y.npy").string();
  write_file(x, npy_of("<f4", "(6, 2, 2)", float_samples()));
  auto error = [&] { return bad_input_message([&] { make_npy({{"inputs", x}, {"labels", y}}); }); };

  write_file(y, npy_of<int64_t>("<i8", "(6,)", {0, 1, 2, -3, 4, 5}));
  std::string msg = error();
  CHECK(msg.find(y) != std::string::npos);
  CHECK(msg.find("label -3 at index 3 is negative") != std::string::npos);
  CHECK(msg.find("/dataset/parameters/labels") != std::string::npos);

  write_file(y, npy_of<int64_t>("<i8", "(5,)", {0, 1, 2, 3, 4}));
  CHECK(error().find("5 labels but " + x + " holds 6 samples") != std::string::npos);
  write_file(y, npy_of<float>("<f4", "(6,)", {0, 1, 2, 3, 4, 5}));
  CHECK(error().find("labels must be integers, got float32") != std::string::npos);
  write_file(y, npy_of<int64_t>("<i8", "(3, 2)", {0, 1, 2, 3, 4, 5}));
  CHECK(error().find("shape [N] or [N, 1]") != std::string::npos);
}

TEST_CASE("npy rejects broken files naming the file", "[datasets]") {
  TempDir dir;
  const std::string x = (dir / "x.npy").string();
  auto error = [&](const Bytes& file) {
    write_file(x, file);
    const std::string msg = bad_input_message([&] { make_npy({{"inputs", x}}); });
    CHECK(msg.find(x) != std::string::npos);
    CHECK(msg.find("/dataset/parameters/inputs") != std::string::npos);
    return msg;
  };
  const std::vector<float> v = float_samples();
  CHECK(error(npy_bytes("<f4", "(6, 2, 2)", v.data(), 4 * 24, 1, true)).find("fortran_order") !=
        std::string::npos);
  CHECK(error(npy_of("<f4", "(6, 2, 2)", std::vector<float>(v.begin(), v.end() - 1))).find("truncated") !=
        std::string::npos);
  CHECK(error(npy_of("<f4", "(5, 2, 2)", v)).find("extra data") != std::string::npos);
  CHECK(error(npy_of("<f4", "(1000000000, 4)", v)).find("needs 16000000000 bytes") != std::string::npos);
  CHECK(error(npy_of("<f4", "(100000000000, 100000000000)", v)).find("more than") != std::string::npos);
  CHECK(error(npy_of("<f4", "()", v)).find("0-d array") != std::string::npos);
  CHECK(error(npy_of("<f4", "(6, 2, 2", v)).find("malformed .npy header") != std::string::npos);
  CHECK(error(npy_of(">f4", "(6, 2, 2)", v)).find("big-endian") != std::string::npos);
  CHECK(error(npy_of("<c8", "(3, 2, 2)", v)).find("dtype '<c8' is not supported") != std::string::npos);
  CHECK(error(npy_of("<f4", "(6, 2, 2)", v, 4)).find("version 4.0") != std::string::npos);
  CHECK(error(Bytes{'h', 'e', 'l', 'l', 'o', '!', '!'}).find("neither an .npy file nor an .npz") !=
        std::string::npos);
  Bytes big_header = npy_of("<f4", "(6, 2, 2)", v, 2);
  big_header[10] = 0xFF;  // header length ~16 MiB
  CHECK(error(big_header).find("header length") != std::string::npos);
  Bytes short_header = npy_of("<f4", "(6, 2, 2)", v);
  short_header.resize(40);
  CHECK(error(short_header).find("truncated") != std::string::npos);
  const std::string missing = bad_input_message([&] { make_npy({{"inputs", (dir / "nope.npy").string()}}); });
  CHECK(missing.find("nope.npy") != std::string::npos);
}

TEST_CASE("npz archives: stored and deflated entries", "[datasets]") {
  TempDir dir;
  const Bytes x = npy_of("<f4", "(6, 2, 2)", float_samples());
  const Bytes y = npy_of("<i8", "(6,)", kNpyLabels);
  for (bool deflate : {false, true}) {
    INFO("deflate " << deflate);
    const std::string path = (dir / "d.npz").string();
    write_file(path, make_zip({{"x.npy", x, deflate}, {"y.npy", y, deflate}, {"images.npy", x, deflate}}));
    auto ds = make_npy({{"inputs", path}});
    CHECK(ds->size() == 6);
    CHECK(ds->labels() == kNpyLabels);
    CHECK(ds->description().find("x.npy") != std::string::npos);
    CHECK(values_of(ds->read(5, 1).samples) == std::vector<double>{5, 5.25, 5.5, 5.75});
    auto shuffled = make_npy({{"inputs", path}, {"shuffle", true}, {"seed", 3}});
    const Batch b = shuffled->read(0, 6);
    for (int64_t k = 0; k < 6; ++k) {
      CHECK(b.samples.data<float>()[k * 4] == static_cast<float>(5 - b.labels[static_cast<size_t>(k)]));
    }
    // Other keys; an archive without the labels entry is unlabeled.
    auto images = make_npy({{"inputs", path}, {"inputs_key", "images"}, {"labels_key", "none"}});
    CHECK(images->size() == 6);
    CHECK(images->labels().empty());
    const std::string msg = bad_input_message([&] { make_npy({{"inputs", path}, {"inputs_key", "img"}}); });
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find("no entry 'img.npy' (entries: x.npy, y.npy, images.npy); set inputs_key") !=
          std::string::npos);

    // A labels archive next to an .npy of inputs.
    write_file(dir / "x.npy", x);
    write_file(dir / "labels.npz", make_zip({{"target.npy", y, deflate}}));
    CHECK(make_npy({{"inputs", (dir / "x.npy").string()},
                    {"labels", (dir / "labels.npz").string()},
                    {"labels_key", "target"}})
              ->labels() == kNpyLabels);
  }
}

TEST_CASE("npz archives written by numpy", "[datasets]") {
  const std::string data = std::string(HONE_SOURCE_DIR) + "/tests/data/datasets/";
  auto stored = make_npy({{"inputs", data + "numpy_savez.npz"}});
  CHECK(stored->size() == 5);
  CHECK(stored->sample_shape() == std::vector<int64_t>{2, 3});
  CHECK(stored->sample_dtype() == ir::DType::UInt8);
  CHECK(stored->labels() == std::vector<int64_t>{3, 1, 4, 1, 5});
  const Batch b = stored->read(0, 5);
  for (int64_t i = 0; i < 30; ++i) CHECK(b.samples.get_as_int64(i) == i * 7 % 256);

  auto compressed = make_npy({{"inputs", data + "numpy_savez_compressed.npz"}, {"limit", 2}});
  CHECK(compressed->sample_dtype() == ir::DType::Float32);
  CHECK(compressed->labels() == std::vector<int64_t>{3, 1});
  const Batch c = compressed->read(1, 1);
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(c.samples.get_as_double(i) == static_cast<double>((6 + i) * 7 % 256) / 2);
  }
}

TEST_CASE("npz corruption is reported with the archive's name", "[datasets]") {
  TempDir dir;
  const std::string path = (dir / "d.npz").string();
  const Bytes x = npy_of("<f4", "(6, 2, 2)", float_samples());
  auto error = [&](const Bytes& file) {
    write_file(path, file);
    const std::string msg = bad_input_message([&] { make_npy({{"inputs", path}}); });
    CHECK(msg.find(path) != std::string::npos);
    return msg;
  };
  Bytes stored = make_zip({{"x.npy", x, false}});
  stored[30 + 5 + x.size() - 1] ^= 0x01;  // the last data byte of x.npy
  CHECK(error(stored).find("entry 'x.npy': CRC-32 mismatch") != std::string::npos);

  Bytes deflated = make_zip({{"x.npy", x, true}});
  const Bytes payload = raw_deflate(x);
  deflated[30 + 5 + payload.size() / 2] ^= 0x10;
  CHECK(error(deflated).find("entry 'x.npy'") != std::string::npos);

  Bytes truncated = make_zip({{"x.npy", x, true}});
  truncated.resize(truncated.size() - 30);
  CHECK(error(truncated).find("not a valid .npz") != std::string::npos);

  Bytes lying = make_zip({{"x.npy", x, true}});
  const size_t cd = 30 + 5 + payload.size();
  auto set_size = [&](uint32_t v) {  // the central directory's uncompressed size
    for (int i = 0; i < 4; ++i) lying[cd + 24 + static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  };
  set_size(0x80000001u);  // over 2 GiB
  CHECK(error(lying).find("limit") != std::string::npos);
  set_size(0x01000000u);  // 16 MiB from a few hundred bytes
  CHECK(error(lying).find("impossible for deflate") != std::string::npos);

  Bytes method = make_zip({{"x.npy", x, false}});
  method[30 + 5 + x.size() + 10] = 12;  // the central directory's method: bzip2
  CHECK(error(method).find("compression method 12 is not supported") != std::string::npos);
}

TEST_CASE("npy calibration comes only from calibration_inputs", "[datasets]") {
  TempDir dir;
  const std::string x = (dir / "x.npy").string(), cal = (dir / "cal.npz").string();
  write_file(x, npy_of("<f4", "(6, 2, 2)", float_samples()));
  auto plain = make_npy({{"inputs", x}});
  const std::string msg = bad_input_message([&] { plain->calibration_set(10, 0); });
  CHECK(msg.find("dataset 'npy' has no calibration data: set calibration_inputs") != std::string::npos);
  CHECK(msg.find("/dataset/parameters/calibration_inputs") != std::string::npos);

  write_file(cal, make_zip({{"x.npy", npy_of("<f4", "(10, 2, 2)", float_samples(10, 100)), true}}));
  auto ds = make_npy({{"inputs", x}, {"calibration_inputs", cal}});
  auto c = ds->calibration_set(4, 1);
  CHECK(c->size() == 4);
  CHECK(c->labels().empty());
  CHECK(c->sample_shape() == std::vector<int64_t>{2, 2});
  std::set<float> firsts;
  const Batch b = c->read(0, 4);
  for (int64_t k = 0; k < 4; ++k) firsts.insert(b.samples.data<float>()[k * 4]);
  CHECK(firsts.size() == 4);
  for (float f : firsts) CHECK((f >= 100 && f < 110));
  CHECK(values_of(ds->calibration_set(4, 1)->read(0, 4).samples) == values_of(b.samples));
  CHECK(values_of(ds->calibration_set(4, 2)->read(0, 4).samples) != values_of(b.samples));
  CHECK(ds->calibration_set(50, 1)->size() == 10);

  write_file(cal, npy_of("<f4", "(6, 4)", float_samples()));
  CHECK(bad_input_message([&] {
          make_npy({{"inputs", x}, {"calibration_inputs", cal}});
        }).find("must match") != std::string::npos);
  CHECK(bad_input_message([&] {
          make_npy({{"inputs", x}, {"calibration_inputs", x}});
        }).find("inputs file itself") != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// random

TEST_CASE("random samples are a pure function of seed and position", "[datasets]") {
  const auto reg = random_dataset_registration();
  pipeline::BuildContext ctx = context();
  ctx.model_sample_shape = {1, 4, 4};
  auto ds = make(reg, {{"count", 10}, {"seed", 3}, {"low", -2.0}, {"high", 2.0}}, ctx);
  CHECK(ds->size() == 10);
  CHECK(ds->sample_shape() == std::vector<int64_t>{1, 4, 4});
  CHECK(ds->sample_dtype() == ir::DType::Float32);
  CHECK(ds->labels().empty());
  const Batch all = ds->read(0, 10);
  CHECK(all.samples.shape() == ir::Shape{10, 1, 4, 4});
  CHECK(all.labels.empty());
  const auto v = values_of(all.samples);
  double lo = 10, hi = -10;
  for (double d : v) {
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK((lo >= -2 && hi <= 2));
  CHECK((lo < -1 && hi > 1));  // spread over the range
  CHECK(std::set<double>(v.begin(), v.end()).size() > 150);
  // Any read, in any order, gives the same samples.
  const auto part = values_of(ds->read(6, 3).samples);
  CHECK(part == std::vector<double>(v.begin() + 6 * 16, v.begin() + 9 * 16));
  CHECK(
      values_of(
          make(reg, {{"count", 10}, {"seed", 3}, {"low", -2.0}, {"high", 2.0}}, ctx)->read(0, 10).samples) ==
      v);
  CHECK(
      values_of(
          make(reg, {{"count", 10}, {"seed", 4}, {"low", -2.0}, {"high", 2.0}}, ctx)->read(0, 10).samples) !=
      v);

  auto shaped = make(reg, {{"shape", {3, 5}}}, ctx);
  CHECK(shaped->sample_shape() == std::vector<int64_t>{3, 5});
  CHECK(shaped->size() == 100);

  auto cal = ds->calibration_set(4, 0);
  CHECK(cal->size() == 4);
  CHECK(cal->sample_shape() == ds->sample_shape());
  CHECK(cal->description().find("synthetic") != std::string::npos);
  CHECK(values_of(cal->read(0, 1).samples) != std::vector<double>(v.begin(), v.begin() + 16));
  CHECK(values_of(ds->calibration_set(4, 0)->read(0, 4).samples) == values_of(cal->read(0, 4).samples));
}

TEST_CASE("random needs a known shape", "[datasets]") {
  const auto reg = random_dataset_registration();
  std::string msg = bad_input_message([&] { make(reg, json::object()); });
  CHECK(msg.find("/dataset/parameters/shape") != std::string::npos);
  CHECK(msg.find("set shape") != std::string::npos);
  pipeline::BuildContext ctx = context();
  ctx.model_sample_shape = {1, -1, 28};
  CHECK(bad_input_message([&] { make(reg, json::object(), ctx); }).find("unknown or empty dims") !=
        std::string::npos);
  CHECK(bad_input_message([&] {
          make(reg, {{"shape", {2, 0}}});
        }).find("/dataset/parameters/shape") != std::string::npos);
  CHECK(bad_input_message([&] {
          make(reg, {{"shape", {2}}, {"low", 1.0}, {"high", 0.5}});
        }).find("/dataset/parameters/high") != std::string::npos);
}
