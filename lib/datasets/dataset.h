// Datasets: where evaluation and calibration samples come from. A dataset yields raw samples in
// their stored dtype (uint8 pixels stay uint8; the model wrapper turns them into model input),
// in batches, so a 70,000-image dataset is never held as float copies.
#pragma once

#include "ir/tensor.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hone::datasets {

struct Batch {
  ir::Tensor samples;           // [count, sample_shape...] in sample_dtype()
  std::vector<int64_t> labels;  // count entries; empty when the dataset has no labels
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  // One line for logs and provenance: "idx test split of /usr/share/datasets/fashion-mnist
  // (10000 of 10000 samples, shuffled with seed 0)".
  virtual std::string description() const = 0;
  // Number of samples (after limit).
  virtual int64_t size() const = 0;
  // One sample's shape, e.g. {28, 28} for idx images, {1, 28, 28} for a random dataset made for
  // an NCHW model.
  virtual std::vector<int64_t> sample_shape() const = 0;
  virtual ir::DType sample_dtype() const = 0;
  // Labels of every sample in dataset order (size() entries); empty when unlabeled.
  virtual const std::vector<int64_t>& labels() const = 0;
  // Human-readable class names when the dataset knows them (Fashion-MNIST does); else empty.
  virtual std::vector<std::string> class_names() const { return {}; }
  // Where the samples come from (file paths), for error messages and provenance.
  virtual std::string source() const = 0;

  // Samples [first, first + count), in dataset order. Throws BadInput when the range is out of
  // bounds or the file turns out to be unreadable.
  virtual Batch read(int64_t first, int64_t count) const = 0;

  // Samples for calibrating quantization: up to `count` samples drawn with `seed` from training
  // data and never from the samples this dataset evaluates. Throws BadInput naming the reason
  // when the dataset cannot provide such samples (e.g. an npy dataset without
  // calibration files).
  virtual std::unique_ptr<Dataset> calibration_set(int64_t count, uint64_t seed) const = 0;
};

}  // namespace hone::datasets
