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

}  // namespace hone::datasets
