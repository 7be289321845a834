// The "random" dataset: synthetic float32 samples for latency-only runs (no labels, so no
// accuracy). Every value is a pure function of (seed, sample index, element index) -- a
// counter-based hash, not a stream -- so read(first, count) gives the same samples whatever was
// read before, in any order, from any thread.
#include "datasets/dataset.h"
#include "datasets/datasets.h"
#include "support/error.h"

#include <fmt/format.h>

#include <memory>

namespace hone::datasets {
namespace {

using nlohmann::json;

// splitmix64's step and finaliser: a bijective, well-mixed 64-bit hash.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class RandomDataset final : public Dataset {
 public:
  RandomDataset(int64_t count, uint64_t seed, std::vector<int64_t> shape, double low, double high,
                std::string role)
      : count_(count), seed_(seed), shape_(std::move(shape)), low_(low), high_(high), role_(std::move(role)) {
    numel_ = ir::checked_numel(shape_);
  }

  std::string description() const override {
    return fmt::format("{}random float32 samples of shape {} uniform in [{}, {}] ({} samples, seed {})",
                       role_, ir::shape_str(shape_), low_, high_, count_, seed_);
  }
  int64_t size() const override { return count_; }
  std::vector<int64_t> sample_shape() const override { return shape_; }
  ir::DType sample_dtype() const override { return ir::DType::Float32; }
  const std::vector<int64_t>& labels() const override { return no_labels_; }
  std::string source() const override { return fmt::format("synthetic (random, seed {})", seed_); }

  Batch read(int64_t first, int64_t count) const override {
    if (first < 0 || count < 0 || first > count_ - count) {
      throw bad_input("read of samples [{}, {}) is out of range: the random dataset has {} samples", first,
                      first + count, count_);
    }
    ir::Shape shape = shape_;
    shape.insert(shape.begin(), count);
    Batch b;
    b.samples = ir::Tensor::zeros(ir::DType::Float32, std::move(shape));
    float* out = b.samples.data<float>();
    const uint64_t seed_hash = mix(seed_);
    for (int64_t s = 0; s < count; ++s) {
      const uint64_t sample_hash = mix(seed_hash ^ static_cast<uint64_t>(first + s));
      for (int64_t e = 0; e < numel_; ++e) {
        // The top 24 bits give a uniform float in [0, 1) exactly.
        const double u = static_cast<double>(mix(sample_hash ^ static_cast<uint64_t>(e)) >> 40) * 0x1p-24;
        *out++ = static_cast<float>(low_ + (high_ - low_) * u);
      }
    }
    return b;
  }

  // Synthetic too: the same shape and range under a seed derived from (seed, this seed), never
  // this dataset's own, so calibration and evaluation samples differ.
  std::unique_ptr<Dataset> calibration_set(int64_t count, uint64_t seed) const override {
    if (count < 1) throw bad_input("random dataset: calibration sample count must be >= 1, got {}", count);
    uint64_t derived = mix(mix(seed_ ^ 0x63616c6962726174ull) ^ seed);  // "calibrat"
    if (derived == seed_) ++derived;
    return std::make_unique<RandomDataset>(count, derived, shape_, low_, high_, "calibration (synthetic): ");
  }

 private:
  int64_t count_;
  uint64_t seed_;
  std::vector<int64_t> shape_;
  double low_, high_;
  std::string role_;
  int64_t numel_ = 0;
  std::vector<int64_t> no_labels_;
};

std::unique_ptr<Dataset> make_random(const json& params, const pipeline::BuildContext& ctx) {
  const int64_t count = params.at("count").get<int64_t>();
  const uint64_t seed = params.at("seed").get<uint64_t>();
  std::vector<int64_t> shape = params.at("shape").get<std::vector<int64_t>>();
  const double low = params.at("low").get<double>();
  const double high = params.at("high").get<double>();
  auto error_at = [&](const std::string& param, const std::string& msg) {
    Error e = bad_input("random dataset: {}", msg);
    e.with_file(ctx.file).with_json_path(ctx.json_path + "/" + param);
    return e;
  };

  if (shape.empty()) {
    if (ctx.model_sample_shape.empty()) {
      throw error_at("shape",
                     "the model's input shape is unknown: set shape (one sample's dims, e.g. [1, 28, 28])");
    }
    shape = ctx.model_sample_shape;
    for (int64_t d : shape) {
      if (d < 1) {
        throw error_at("shape", fmt::format("the model's input shape {} has unknown or empty dims: set shape",
                                            ir::shape_str(shape)));
      }
    }
  }
  for (int64_t d : shape) {
    if (d < 1) throw error_at("shape", fmt::format("every dim must be >= 1, got {}", ir::shape_str(shape)));
  }
  try {
    ir::checked_numel(shape);
  } catch (const Error& e) {
    throw error_at("shape", e.detail());
  }
  if (!(low <= high)) throw error_at("high", fmt::format("high ({}) must be >= low ({})", high, low));
  return std::make_unique<RandomDataset>(count, seed, std::move(shape), low, high, "");
}

}  // namespace

pipeline::Registration random_dataset_registration() {
  using pipeline::ParamType;
  pipeline::ComponentSpec spec;
  spec.name = "random";
  spec.description = "synthetic float32 samples for latency-only runs (no labels, so no accuracy)";
  spec.params = {
      {"count", ParamType::Int, 100, false, 1.0, {}, {}, "number of samples"},
      {"seed", ParamType::Int, 0, false, 0.0, {}, {}, "seed: the same seed gives the same samples"},
      {"shape",
       ParamType::IntList,
       json::array(),
       false,
       1.0,
       {},
       {},
       "one sample's shape, e.g. [1, 28, 28]; empty = the model's input shape without its batch dim"},
      {"low", ParamType::Float, 0.0, false, {}, {}, {}, "smallest value"},
      {"high",
       ParamType::Float,
       1.0,
       false,
       {},
       {},
       {},
       "largest value (values are uniform between low and high)"},
  };
  return pipeline::make_registration<Dataset>(std::move(spec), pipeline::Factory<Dataset>(make_random));
}

}  // namespace hone::datasets
