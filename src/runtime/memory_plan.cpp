#include "memory_plan.h"

#include <algorithm>
#include <numeric>

namespace edgeopt::rt {

MemoryPlan plan_memory(const std::vector<Lifetime>& lt) {
  constexpr size_t kAlign = 64;
  MemoryPlan plan;
  plan.offsets.assign(lt.size(), 0);
  std::vector<size_t> order(lt.size());
  std::iota(order.begin(), order.end(), 0);
  // Largest first; ties by earlier start for a deterministic layout.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return lt[a].bytes != lt[b].bytes ? lt[a].bytes > lt[b].bytes : lt[a].first < lt[b].first;
  });
  struct Placed {
    size_t offset, end;
    int first, last;
  };
  std::vector<Placed> placed;
  for (size_t idx : order) {
    const Lifetime& t = lt[idx];
    const size_t size = (t.bytes + kAlign - 1) / kAlign * kAlign;
    if (size == 0) continue;
    // Blocks alive at the same time, by offset; take the first gap that fits.
    std::vector<const Placed*> live;
    for (const Placed& p : placed)
      if (p.first <= t.last && t.first <= p.last) live.push_back(&p);
    std::sort(live.begin(), live.end(),
              [](const Placed* a, const Placed* b) { return a->offset < b->offset; });
    size_t offset = 0;
    for (const Placed* p : live) {
      if (p->offset >= offset + size) break;
      offset = std::max(offset, p->end);
    }
    placed.push_back({offset, offset + size, t.first, t.last});
    plan.offsets[idx] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
  }
  return plan;
}

}  // namespace edgeopt::rt
