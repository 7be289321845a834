#include "runtime/memory_planner.h"

#include "support/error.h"

#include <algorithm>
#include <numeric>

namespace hone::runtime {

namespace {

int64_t align_up(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

bool overlap_in_time(const BufferRequest& a, const BufferRequest& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, int64_t alignment) {
  HONE_ASSERT(alignment > 0 && (alignment & (alignment - 1)) == 0);
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by earlier start, then index, so the plan is deterministic.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (requests[a].bytes != requests[b].bytes) return requests[a].bytes > requests[b].bytes;
    return requests[a].first_step < requests[b].first_step;
  });
  std::vector<size_t> placed;
  std::vector<std::pair<int64_t, int64_t>> busy;  // [begin, end) of placed buffers alive with this one
  for (const size_t i : order) {
    const BufferRequest& r = requests[i];
    HONE_ASSERT(r.bytes >= 0 && r.first_step <= r.last_step);
    if (r.bytes == 0) continue;
    const int64_t size = align_up(r.bytes, alignment);
    busy.clear();
    for (const size_t j : placed) {
      if (overlap_in_time(r, requests[j])) {
        busy.emplace_back(plan.offsets[j], plan.offsets[j] + align_up(requests[j].bytes, alignment));
      }
    }
    std::sort(busy.begin(), busy.end());
    // First gap from the bottom that fits.
    int64_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (begin - offset >= size) break;
      offset = std::max(offset, end);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
    placed.push_back(i);
  }
  return plan;
}

int64_t peak_live_bytes(const std::vector<BufferRequest>& requests, int64_t alignment) {
  int last = 0;
  for (const auto& r : requests) last = std::max(last, r.last_step);
  std::vector<int64_t> live(static_cast<size_t>(last) + 2, 0);
  for (const auto& r : requests) {
    if (r.bytes == 0) continue;
    live[static_cast<size_t>(r.first_step)] += align_up(r.bytes, alignment);
    live[static_cast<size_t>(r.last_step) + 1] -= align_up(r.bytes, alignment);
  }
  int64_t cur = 0, peak = 0;
  for (const int64_t d : live) {
    cur += d;
    peak = std::max(peak, cur);
  }
  return peak;
}

}  // namespace hone::runtime
