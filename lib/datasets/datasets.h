// The built-in datasets, registered from pipeline/builtins.cpp:
//   idx     the MNIST family's IDX files (Fashion-MNIST from Debian's dataset-fashion-mnist)
//   npy     NumPy .npy arrays and .npz archives
//   random  synthetic float32 samples for latency-only runs (no labels)
// Plus the one shuffling rule every dataset uses, so "seed 3" means the same order everywhere.
#pragma once

#include "pipeline/registry.h"

#include <cstdint>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

namespace hone::datasets {

pipeline::Registration idx_dataset_registration();
pipeline::Registration npy_dataset_registration();
pipeline::Registration random_dataset_registration();

// A permutation of [0, n) determined by `seed`: Fisher-Yates driven by std::mt19937_64.
// Draws below a bound use rejection sampling instead of std::uniform_int_distribution, whose
// algorithm differs between standard libraries: the same seed gives the same order on every
// platform and compiler.
inline std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n > 0 ? n : 0));
  std::iota(p.begin(), p.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  for (size_t i = p.size(); i > 1; --i) {
    const uint64_t bound = i;
    const uint64_t reject_below = (0 - bound) % bound;  // 2^64 mod bound: the biased remainder
    uint64_t r = rng();
    while (r < reject_below) r = rng();
    std::swap(p[i - 1], p[static_cast<size_t>(r % bound)]);
  }
  return p;
}

// Samples to evaluate, in dataset order: shuffle first (when asked), then `limit` takes the head
// (0, or a limit above n, = all) -- so a limited shuffled run is a random subset, not the file's
// first samples.
inline std::vector<int64_t> sample_order(int64_t n, bool shuffle, uint64_t seed, int64_t limit) {
  std::vector<int64_t> order;
  if (shuffle) {
    order = shuffled_indices(n, seed);
  } else {
    order.resize(static_cast<size_t>(n > 0 ? n : 0));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  if (limit > 0 && limit < n) order.resize(static_cast<size_t>(limit));
  return order;
}

// The `limit`, `shuffle` and `seed` parameters of every file-backed dataset (used by
// sample_order), declared once.
inline std::vector<pipeline::ParamSpec> sampling_params() {
  using pipeline::ParamType;
  return {
      {"limit", ParamType::Int, 0, false, 0.0, {}, {}, "evaluate only the first N samples (after shuffling); 0 = all"},
      {"shuffle", ParamType::Bool, false, false, {}, {}, {}, "shuffle the samples (deterministically, from seed)"},
      {"seed", ParamType::Int, 0, false, 0.0, {}, {}, "seed of the shuffle"},
  };
}

}  // namespace hone::datasets
