// Arena layout from tensor lifetimes (greedy by size, as TFLite's arena planner): tensors whose
// lifetimes overlap never share bytes; the arena is as small as the greedy order finds.
#pragma once

#include <cstddef>
#include <vector>

namespace edgeopt::rt {

struct Lifetime {
  size_t bytes = 0;
  int first = 0;  // step that writes it
  int last = 0;   // last step that reads it (inclusive)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // per lifetime, 64-byte aligned
  size_t arena_bytes = 0;
};

MemoryPlan plan_memory(const std::vector<Lifetime>& lifetimes);

}  // namespace edgeopt::rt
