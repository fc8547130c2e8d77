// The activation arena planner (src/runtime/memory_plan.h) on random and edge-case lifetimes:
// blocks alive at the same step never share a byte, every offset is 64-byte aligned, and the
// arena lies between the peak of bytes alive at one step and the sum of all blocks (both
// computed here from the lifetimes, by brute force over the steps).
#include "runtime/memory_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace edgeopt::rt {
namespace {

constexpr size_t kAlign = 64;

size_t aligned(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

bool overlap_in_time(const Lifetime& a, const Lifetime& b) {
  return a.first <= b.last && b.first <= a.last;
}

// Checks the plan against the lifetimes it was made for; returns the peak of aligned bytes
// alive at one step.
size_t check_plan(const std::vector<Lifetime>& lts, const MemoryPlan& plan) {
  EXPECT_EQ(plan.offsets.size(), lts.size());
  size_t sum = 0;
  for (size_t i = 0; i < lts.size(); ++i) {
    EXPECT_EQ(plan.offsets[i] % kAlign, 0u) << "block " << i;
    if (lts[i].bytes == 0) continue;
    EXPECT_LE(plan.offsets[i] + lts[i].bytes, plan.arena_bytes) << "block " << i;
    sum += aligned(lts[i].bytes);
    for (size_t j = 0; j < i; ++j) {
      if (lts[j].bytes == 0 || !overlap_in_time(lts[i], lts[j])) continue;
      const bool apart = plan.offsets[i] + lts[i].bytes <= plan.offsets[j] ||
                         plan.offsets[j] + lts[j].bytes <= plan.offsets[i];
      EXPECT_TRUE(apart) << "blocks " << j << " [" << plan.offsets[j] << ", +" << lts[j].bytes
                         << ") and " << i << " [" << plan.offsets[i] << ", +" << lts[i].bytes
                         << ") are alive together at steps " << std::max(lts[i].first, lts[j].first)
                         << ".." << std::min(lts[i].last, lts[j].last);
    }
  }
  size_t peak = 0;
  int last_step = 0;
  for (const Lifetime& l : lts) last_step = std::max(last_step, l.last);
  for (int step = 0; step <= last_step; ++step) {
    size_t live = 0;
    for (const Lifetime& l : lts)
      if (l.first <= step && step <= l.last) live += aligned(l.bytes);
    peak = std::max(peak, live);
  }
  EXPECT_GE(plan.arena_bytes, peak);
  EXPECT_LE(plan.arena_bytes, sum);
  return peak;
}

TEST(MemoryPlan, RandomLifetimesNeverOverlapAndFitBetweenPeakAndSum) {
  std::mt19937 gen(2024);
  for (int round = 0; round < 300; ++round) {
    const int steps = 1 + static_cast<int>(gen() % 40);
    const size_t count = gen() % 60;
    std::vector<Lifetime> lts;
    for (size_t k = 0; k < count; ++k) {
      Lifetime l;
      // Mostly small and unaligned, sometimes zero, sometimes large.
      const int kind = static_cast<int>(gen() % 10);
      l.bytes = kind == 0 ? 0 : kind < 8 ? gen() % 1000 : gen() % 200000;
      l.first = static_cast<int>(gen() % steps);
      l.last = l.first + static_cast<int>(gen() % (steps - l.first));
      lts.push_back(l);
    }
    SCOPED_TRACE("round " + std::to_string(round));
    check_plan(lts, plan_memory(lts));
  }
}

// Steps of a chain: each tensor is read by the next step only, as in a plain CNN. Two blocks
// are enough whatever the length: the arena is the two largest neighbours.
TEST(MemoryPlan, ChainReusesMemory) {
  std::vector<Lifetime> lts;
  for (int i = 0; i < 20; ++i) lts.push_back({static_cast<size_t>(4096 + 64 * i), i, i + 1});
  const MemoryPlan plan = plan_memory(lts);
  check_plan(lts, plan);
  EXPECT_EQ(plan.arena_bytes, aligned(4096 + 64 * 19) + aligned(4096 + 64 * 18));
}

TEST(MemoryPlan, EmptyAndZeroSizedBlocksTakeNoSpace) {
  EXPECT_EQ(plan_memory({}).arena_bytes, 0u);
  EXPECT_TRUE(plan_memory({}).offsets.empty());
  const std::vector<Lifetime> zeros{{0, 0, 3}, {0, 1, 2}, {0, 2, 2}};
  const MemoryPlan plan = plan_memory(zeros);
  EXPECT_EQ(plan.arena_bytes, 0u);
  EXPECT_EQ(plan.offsets, (std::vector<size_t>{0, 0, 0}));
  const std::vector<Lifetime> mixed{{0, 0, 3}, {100, 1, 2}, {0, 2, 2}};
  EXPECT_EQ(check_plan(mixed, plan_memory(mixed)), aligned(100));
  EXPECT_EQ(plan_memory(mixed).arena_bytes, aligned(100));
}

TEST(MemoryPlan, OneBlockIsAlignedUp) {
  for (size_t bytes : {1u, 63u, 64u, 65u, 1000u}) {
    const MemoryPlan plan = plan_memory({{bytes, 0, 0}});
    ASSERT_EQ(plan.offsets.size(), 1u);
    EXPECT_EQ(plan.offsets[0], 0u);
    EXPECT_EQ(plan.arena_bytes, aligned(bytes)) << bytes;
  }
}

// Every block alive at every step: nothing can share, the arena is the sum.
TEST(MemoryPlan, AllOverlappingIsTheSum) {
  std::vector<Lifetime> lts;
  size_t sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    lts.push_back({100 * i + 7, static_cast<int>(i % 3), 5});
    sum += aligned(100 * i + 7);
  }
  const MemoryPlan plan = plan_memory(lts);
  check_plan(lts, plan);
  EXPECT_EQ(plan.arena_bytes, sum);
}

// Disjoint in time: everything at offset 0, the arena is the largest block.
TEST(MemoryPlan, DisjointLifetimesShareOffsetZero) {
  const std::vector<Lifetime> lts{{300, 0, 0}, {5000, 1, 2}, {64, 3, 3}, {4999, 4, 9}};
  const MemoryPlan plan = plan_memory(lts);
  check_plan(lts, plan);
  EXPECT_EQ(plan.offsets, (std::vector<size_t>{0, 0, 0, 0}));
  EXPECT_EQ(plan.arena_bytes, aligned(5000));
}

// A gap between two live blocks is taken when the newcomer fits in it.
TEST(MemoryPlan, SmallBlockFillsAGap) {
  // a and c alive throughout; b dies at step 1, d (smaller than b) starts at step 2.
  const std::vector<Lifetime> lts{{1024, 0, 4}, {512, 0, 1}, {1024, 0, 4}, {256, 2, 4}};
  const MemoryPlan plan = plan_memory(lts);
  check_plan(lts, plan);
  EXPECT_EQ(plan.arena_bytes, 1024u + 1024u + 512u);
}

}  // namespace
}  // namespace edgeopt::rt
