// Activation memory in one arena: every intermediate tensor gets an offset so that tensors alive
// at the same step never overlap. Greedy by size (TensorFlow Lite Micro's GreedyMemoryPlanner,
// "first fit, largest first"): near-optimal for the chain-like lifetimes of inference graphs,
// deterministic, and the arena size is known before anything runs. Shared by the CPU runtime
// and the C backend.
#pragma once

#include <cstdint>
#include <vector>

namespace hone::runtime {

struct BufferRequest {
  int64_t bytes = 0;
  int first_step = 0;  // written by this step (or 0 for a graph input)
  int last_step = 0;   // last step that reads it, inclusive
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // one per request, multiples of the alignment
  int64_t arena_bytes = 0;
};

// Places every request. `alignment` must be a power of two. Zero-byte requests get offset 0.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, int64_t alignment = 64);

// The largest total of aligned bytes alive at one step: no plan can use a smaller arena.
int64_t peak_live_bytes(const std::vector<BufferRequest>& requests, int64_t alignment = 64);

}  // namespace hone::runtime
