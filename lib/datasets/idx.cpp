// The "idx" dataset: the MNIST family's IDX files (MNIST, Fashion-MNIST, KMNIST), gzip or raw.
// A split is two files: images (magic 0x00000803, uint8 [N, rows, cols]) and labels (magic
// 0x00000801, uint8 [N]); big-endian header. Pixels stay uint8 in memory, one copy (47 MB for
// Fashion-MNIST's train split), shared with calibration sets drawn from the same split.
#include "datasets/dataset.h"
#include "datasets/datasets.h"
#include "support/error.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>

namespace hone::datasets {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kDefaultRoot = "/usr/share/datasets/fashion-mnist";
constexpr const char* kInstallHint = " (install it: apt-get install dataset-fashion-mnist)";
// Debian installs its dataset packages here; a missing folder there is a missing package.
constexpr const char* kDebianDatasets = "/usr/share/datasets/";
constexpr const char* kDebianHint = " (Debian's dataset packages install under /usr/share/datasets; "
                                    "Fashion-MNIST: apt-get install dataset-fashion-mnist)";
constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned byte, 3 dims
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned byte, 1 dim
// No IDX file of the family comes near this; it bounds what a header can make us allocate.
constexpr uint64_t kMaxDataBytes = uint64_t{1} << 31;
// Deflate cannot expand more than 1032:1 (one 258-byte match per two 1-bit codes), so a gzip
// file of S bytes holds at most 1032 * S bytes: a tiny file cannot make us allocate 2 GiB.
constexpr uint64_t kMaxDeflateRatio = 1032;

const std::vector<std::string> kFashionClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

struct GzClose {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzClose>;

// Why a read stopped early: gzip corruption (with zlib's reason) or a plain truncation.
[[noreturn]] void throw_short_read(gzFile f, const std::string& path, const std::string& what) {
  int errnum = Z_OK;
  const char* msg = gzerror(f, &errnum);
  // Z_BUF_ERROR is zlib's "unexpected end of file": a truncated gzip stream.
  if (errnum != Z_OK && errnum != Z_BUF_ERROR) {
    throw bad_input("corrupt gzip data while reading {}: {}", what, msg).with_file(path);
  }
  throw bad_input("truncated: the file ends inside {}", what).with_file(path);
}

void read_exact(gzFile f, uint8_t* dst, uint64_t n, const std::string& path, const std::string& what) {
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<uint64_t>(n, uint64_t{1} << 30));
    const int got = gzread(f, dst, chunk);
    if (got <= 0) throw_short_read(f, path, what);
    dst += got;
    n -= static_cast<uint64_t>(got);
  }
}

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

struct IdxFile {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;
};

// Reads one IDX file whole. zlib reads raw files transparently, so both kinds share this path;
// a file named .gz must really be gzip, though.
IdxFile read_idx(const fs::path& file, uint32_t want_magic) {
  const std::string path = file.string();
  std::error_code ec;
  const uint64_t file_size = fs::file_size(file, ec);
  if (ec) throw bad_input("cannot read: {}", ec.message()).with_file(path);
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) throw bad_input("cannot open: {}", std::strerror(errno)).with_file(path);
  const bool compressed = gzdirect(f.get()) == 0;
  if (file.extension() == ".gz" && !compressed) {
    throw bad_input("not a gzip file (the name ends in .gz)").with_file(path);
  }

  uint8_t head[4];
  read_exact(f.get(), head, 4, path, "the IDX header");
  const uint32_t magic = big_endian32(head);
  if (magic != want_magic) {
    throw bad_input("bad magic number 0x{:08x}: expected 0x{:08x} (IDX {})", magic, want_magic,
                    want_magic == kImagesMagic ? "uint8 images [N, rows, cols]" : "uint8 labels [N]")
        .with_file(path);
  }
  IdxFile out;
  const size_t rank = head[3];
  std::vector<uint8_t> dim_bytes(rank * 4);
  read_exact(f.get(), dim_bytes.data(), dim_bytes.size(), path, "the IDX header");
  uint64_t bytes = 1;
  for (size_t i = 0; i < rank; ++i) {
    const uint32_t d = big_endian32(&dim_bytes[i * 4]);
    out.dims.push_back(d);
    if (d != 0 && bytes > kMaxDataBytes / d) {
      throw bad_input("IDX header asks for more than {} bytes of data", kMaxDataBytes).with_file(path);
    }
    bytes *= d;
  }
  std::string dims_str;
  for (uint32_t d : out.dims) dims_str += (dims_str.empty() ? "" : " x ") + std::to_string(d);

  // Check the claimed size against the file before allocating anything.
  const uint64_t header = 4 + 4 * rank;
  if (!compressed && file_size != header + bytes) {
    throw bad_input(
        "IDX header says {} ({} bytes of data) but the file holds {} bytes after the "
        "{}-byte header ({})",
        dims_str, bytes, file_size - header, header,
        file_size < header + bytes ? "truncated" : "extra data at the end")
        .with_file(path);
  }
  if (compressed && header + bytes > file_size * kMaxDeflateRatio) {
    throw bad_input(
        "IDX header says {} ({} bytes of data) but a gzip file of {} bytes cannot "
        "hold that much (truncated or corrupt)",
        dims_str, bytes, file_size)
        .with_file(path);
  }
  out.data.resize(bytes);
  read_exact(f.get(), out.data.data(), bytes, path, fmt::format("the data ({} bytes expected)", bytes));

  // The stream must end here. Reading past the data also makes zlib check the gzip trailer's
  // CRC, so corruption anywhere in the stream surfaces now rather than going unnoticed.
  uint8_t extra;
  const int got = gzread(f.get(), &extra, 1);
  int errnum = Z_OK;
  const char* msg = gzerror(f.get(), &errnum);
  if (got < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR)) {
    throw bad_input("corrupt gzip data: {}", msg).with_file(path);
  }
  if (errnum == Z_BUF_ERROR) throw bad_input("truncated gzip stream (no trailer)").with_file(path);
  if (got > 0) {
    throw bad_input("extra data after the {} bytes the IDX header ({}) describes", bytes, dims_str)
        .with_file(path);
  }
  return out;
}

// Both files of one split, parsed and cross-checked.
struct IdxSplit {
  std::string split;
  fs::path images_path, labels_path;
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, file order
  std::vector<uint8_t> labels;  // count
};

// Where pipeline errors point: the pipeline file and this dataset's parameters object.
struct Where {
  std::string file, json_path;
};

std::string split_prefix(const std::string& split) { return split == "test" ? "t10k" : "train"; }

std::shared_ptr<const IdxSplit> load_split(const fs::path& root, const std::string& split,
                                           const Where& where) {
  const std::string prefix = split_prefix(split);
  const std::string bases[2] = {prefix + "-images-idx3-ubyte", prefix + "-labels-idx1-ubyte"};
  fs::path found[2];
  std::string missing;
  std::error_code ec;
  for (int i = 0; i < 2; ++i) {
    for (const std::string& name : {bases[i] + ".gz", bases[i]}) {
      if (fs::is_regular_file(root / name, ec)) {
        found[i] = root / name;
        break;
      }
    }
    if (found[i].empty()) missing += fmt::format("{}{}[.gz]", missing.empty() ? "" : " and ", bases[i]);
  }
  if (!missing.empty()) {
    const bool is_default = root == fs::path(kDefaultRoot);
    const bool is_debian = root.string().rfind(kDebianDatasets, 0) == 0;
    const std::string problem =
        fs::is_directory(root, ec)
            ? fmt::format("no {} in {}", missing, root.string())
            : fmt::format("{} does not exist (it should hold {})", root.string(), missing);
    throw bad_input("idx dataset, {} split: {}{}", split, problem,
                    is_default ? kInstallHint : is_debian ? kDebianHint : "")
        .with_file(where.file)
        .with_json_path(where.json_path + "/root");
  }

  auto s = std::make_shared<IdxSplit>();
  s->split = split;
  s->images_path = found[0];
  s->labels_path = found[1];
  IdxFile images = read_idx(found[0], kImagesMagic);
  IdxFile labels = read_idx(found[1], kLabelsMagic);
  if (images.dims[0] != labels.dims[0]) {
    throw bad_input("{} images but {} has {} labels", images.dims[0], found[1].string(), labels.dims[0])
        .with_file(found[0].string());
  }
  s->count = images.dims[0];
  s->rows = images.dims[1];
  s->cols = images.dims[2];
  s->pixels = std::move(images.data);
  s->labels = std::move(labels.data);
  return s;
}

struct IdxSettings {
  fs::path root;
  bool shuffle = false;
  uint64_t seed = 0;
  std::vector<std::string> class_names;
  Where where;
};

class IdxDataset final : public Dataset {
 public:
  // `order` lists the file indices of this dataset's samples, in dataset order; `what` is the
  // parenthesised part of the description.
  IdxDataset(std::shared_ptr<const IdxSplit> data, IdxSettings settings, std::vector<int64_t> order,
             std::string what)
      : data_(std::move(data)),
        settings_(std::move(settings)),
        order_(std::move(order)),
        what_(std::move(what)) {
    labels_.reserve(order_.size());
    for (int64_t i : order_) labels_.push_back(data_->labels[static_cast<size_t>(i)]);
  }

  std::string description() const override {
    return fmt::format("idx {} split of {} ({})", data_->split, settings_.root.string(), what_);
  }
  int64_t size() const override { return static_cast<int64_t>(order_.size()); }
  std::vector<int64_t> sample_shape() const override { return {data_->rows, data_->cols}; }
  ir::DType sample_dtype() const override { return ir::DType::UInt8; }
  const std::vector<int64_t>& labels() const override { return labels_; }
  std::vector<std::string> class_names() const override { return settings_.class_names; }
  std::string source() const override {
    return data_->images_path.string() + ", " + data_->labels_path.string();
  }

  Batch read(int64_t first, int64_t count) const override {
    if (first < 0 || count < 0 || first > size() - count) {
      throw bad_input("read of samples [{}, {}) is out of range: the dataset has {} samples", first,
                      first + count, size())
          .with_file(data_->images_path.string());
    }
    Batch b;
    b.samples = ir::Tensor::zeros(ir::DType::UInt8, {count, data_->rows, data_->cols});
    const size_t sample_bytes = static_cast<size_t>(data_->rows * data_->cols);
    uint8_t* dst = b.samples.data<uint8_t>();
    for (int64_t k = 0; k < count; ++k) {
      const size_t src = static_cast<size_t>(order_[static_cast<size_t>(first + k)]);
      if (sample_bytes) {
        std::memcpy(dst + k * sample_bytes, data_->pixels.data() + src * sample_bytes, sample_bytes);
      }
    }
    b.labels.assign(labels_.begin() + first, labels_.begin() + first + count);
    return b;
  }

  // Calibration samples never overlap the evaluated ones: the test split calibrates from the
  // train split; the train split calibrates from its samples outside this dataset (e.g. the
  // permutation's tail after `limit`). Either pool is then shuffled with `seed`.
  std::unique_ptr<Dataset> calibration_set(int64_t count, uint64_t seed) const override {
    if (count < 1) throw bad_input("idx dataset: calibration sample count must be >= 1, got {}", count);
    std::shared_ptr<const IdxSplit> train = data_;
    std::vector<int64_t> pool;
    std::string pool_what;
    if (data_->split != "train") {
      try {
        train = load_split(settings_.root, "train", settings_.where);
      } catch (Error& e) {
        throw Error(e.kind(), "calibration data comes from the train split: " + e.detail(), e.context());
      }
      pool.resize(static_cast<size_t>(train->count));
      std::iota(pool.begin(), pool.end(), int64_t{0});
      pool_what = fmt::format("{} train samples", train->count);
    } else {
      std::vector<bool> evaluated(static_cast<size_t>(data_->count), false);
      for (int64_t i : order_) evaluated[static_cast<size_t>(i)] = true;
      for (int64_t i = 0; i < data_->count; ++i) {
        if (!evaluated[static_cast<size_t>(i)]) pool.push_back(i);
      }
      if (pool.empty()) {
        throw bad_input(
            "idx dataset: no calibration data: this dataset evaluates all {} samples of "
            "the train split, and calibration never uses evaluated samples; set limit "
            "below {} or evaluate the test split",
            data_->count, data_->count)
            .with_file(settings_.where.file)
            .with_json_path(settings_.where.json_path + "/limit");
      }
      pool_what = fmt::format("{} train samples not evaluated", pool.size());
    }
    const std::vector<int64_t> perm = shuffled_indices(static_cast<int64_t>(pool.size()), seed);
    const size_t n = std::min(pool.size(), static_cast<size_t>(count));
    std::vector<int64_t> order(n);
    for (size_t k = 0; k < n; ++k) order[k] = pool[static_cast<size_t>(perm[k])];
    return std::make_unique<IdxDataset>(
        train, settings_, std::move(order),
        fmt::format("calibration: {} of the {}, drawn with seed {}", n, pool_what, seed));
  }

 private:
  std::shared_ptr<const IdxSplit> data_;
  IdxSettings settings_;
  std::vector<int64_t> order_;
  std::vector<int64_t> labels_;
  std::string what_;
};

bool contains_fashion(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name.find("fashion") != std::string::npos;
}

std::unique_ptr<Dataset> make_idx(const json& params, const pipeline::BuildContext& ctx) {
  IdxSettings s;
  s.root = fs::path(params.at("root").get<std::string>()).lexically_normal();
  if (!s.root.has_filename()) s.root = s.root.parent_path();  // "root/" names the same folder
  s.shuffle = params.at("shuffle").get<bool>();
  s.seed = params.at("seed").get<uint64_t>();
  s.where = {ctx.file, ctx.json_path};
  const std::string split = params.at("split").get<std::string>();
  const int64_t limit = params.at("limit").get<int64_t>();
  s.class_names = params.at("class_names").get<std::vector<std::string>>();
  if (s.class_names.empty() && contains_fashion(s.root.filename().string())) {
    s.class_names = kFashionClassNames;
  }

  std::shared_ptr<const IdxSplit> data = load_split(s.root, split, s.where);
  if (!s.class_names.empty()) {
    for (size_t i = 0; i < data->labels.size(); ++i) {
      if (data->labels[i] >= s.class_names.size()) {
        throw bad_input("label {} of sample {} in {} has no class name: class_names has {} entries",
                        data->labels[i], i, data->labels_path.string(), s.class_names.size())
            .with_file(ctx.file)
            .with_json_path(ctx.json_path + "/class_names");
      }
    }
  }

  const std::vector<int64_t> order = sample_order(data->count, s.shuffle, s.seed, limit);
  std::string what = fmt::format("{} of {} samples, {}", order.size(), data->count,
                                 s.shuffle ? fmt::format("shuffled with seed {}", s.seed) : "in file order");
  return std::make_unique<IdxDataset>(std::move(data), std::move(s), std::move(order), std::move(what));
}

}  // namespace

pipeline::Registration idx_dataset_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "idx";
  spec.description =
      "MNIST-family IDX files (gzip or raw), e.g. Fashion-MNIST; uint8 images [rows, cols] with labels";
  spec.params = {
      {"root",
       ParamType::Path,
       kDefaultRoot,
       false,
       {},
       {},
       {},
       "folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"},
      {"split",
       ParamType::String,
       "test",
       false,
       {},
       {},
       {"train", "test"},
       "which split to evaluate; calibration always draws from train samples not evaluated"},
      {"class_names",
       ParamType::StringList,
       json::array(),
       false,
       {},
       {},
       {},
       "names of the classes by label; empty = Fashion-MNIST's names when the root folder's name "
       "contains 'fashion', else none"},
  };
  const auto sampling = sampling_params();
  spec.params.insert(spec.params.end(), sampling.begin(), sampling.end());
  return pipeline::make_registration<Dataset>(std::move(spec), pipeline::Factory<Dataset>(make_idx));
}

}  // namespace hone::datasets
