// The arena planner: no two tensors alive at the same step share a byte, the arena is known
// exactly, and on chains it reaches the lower bound (peak live bytes).
#include "runtime/memory_planner.h"

#include <catch2/catch.hpp>

#include <random>

using namespace hone::runtime;

namespace {

// Every pair alive at the same time occupies disjoint byte ranges inside the arena.
void require_valid(const std::vector<BufferRequest>& rs, const MemoryPlan& p, int64_t alignment) {
  REQUIRE(p.offsets.size() == rs.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    if (rs[i].bytes == 0) continue;
    CHECK(p.offsets[i] % alignment == 0);
    CHECK(p.offsets[i] + rs[i].bytes <= p.arena_bytes);
    for (size_t j = i + 1; j < rs.size(); ++j) {
      if (rs[j].bytes == 0) continue;
      const bool same_time = rs[i].first_step <= rs[j].last_step && rs[j].first_step <= rs[i].last_step;
      const bool same_bytes = p.offsets[i] < p.offsets[j] + rs[j].bytes && p.offsets[j] < p.offsets[i] + rs[i].bytes;
      INFO(i << " and " << j);
      CHECK_FALSE((same_time && same_bytes));
    }
  }
}

}  // namespace

TEST_CASE("plan_memory: a chain reuses memory two buffers deep", "[memory_planner]") {
  // a -> b -> c -> d: each tensor lives from its producer to its consumer.
  const std::vector<BufferRequest> rs = {{100, 0, 1}, {100, 1, 2}, {100, 2, 3}, {100, 3, 4}};
  const MemoryPlan p = plan_memory(rs, 64);
  require_valid(rs, p, 64);
  CHECK(p.arena_bytes == 256);
  CHECK(p.offsets == std::vector<int64_t>{0, 128, 0, 128});
  CHECK(peak_live_bytes(rs, 64) == 256);
}

TEST_CASE("plan_memory: a residual block keeps the skip tensor alive", "[memory_planner]") {
  // x (0..3) feeds conv1 (step 1) and the add (step 3); y1 (1..2), y2 (2..3), out (3..4).
  const std::vector<BufferRequest> rs = {{1024, 0, 3}, {1024, 1, 2}, {1024, 2, 3}, {1024, 3, 4}};
  const MemoryPlan p = plan_memory(rs, 64);
  require_valid(rs, p, 64);
  CHECK(p.arena_bytes == 3 * 1024);
  CHECK(p.arena_bytes == peak_live_bytes(rs, 64));
}

TEST_CASE("plan_memory: random lifetimes never overlap; zero-size and alignment", "[memory_planner]") {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::vector<BufferRequest> rs;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const int a = static_cast<int>(rng() % 30);
      rs.push_back({static_cast<int64_t>(rng() % 5000), a, a + static_cast<int>(rng() % 8)});
    }
    const int64_t alignment = round % 2 ? 64 : 16;
    const MemoryPlan p = plan_memory(rs, alignment);
    require_valid(rs, p, alignment);
    CHECK(p.arena_bytes >= peak_live_bytes(rs, alignment));
    CHECK(plan_memory(rs, alignment).offsets == p.offsets);  // deterministic
  }
  CHECK(plan_memory({{0, 0, 5}}).arena_bytes == 0);
  CHECK(plan_memory({}).arena_bytes == 0);
}
