// The reference NonMaxSuppression against a greedy selection written out here the plain way
// (every candidate against every box kept before it), on boxes laid out as torchvision's
// batched NMS lays them out (each class's boxes shifted apart, one class for ONNX), which is
// where the kernel's buckets by x1 skip most kept boxes, and on the awkward cases: flipped
// corners, boxes without area, equal scores, thresholds of 0 and below 0. ONNX's backend node
// tests run it on their fixed cases (ctest onnx_conformance).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "edgeopt/session.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

struct NmsCase {
  int64_t classes, boxes;
  float iou, score;  // score < 0: no score_threshold input
  int64_t max_out;
  bool shifted;  // torchvision's per-class shift of the coordinates
  uint32_t seed;
};

// [y1, x1, y2, x2] with any two opposite corners; scores [classes][boxes].
std::vector<int64_t> greedy_nms(const std::vector<float>& box, const std::vector<float>& score,
                                const NmsCase& c) {
  auto lo = [&](int64_t i, int k) { return std::min(box[i * 4 + k], box[i * 4 + k + 2]); };
  auto hi = [&](int64_t i, int k) { return std::max(box[i * 4 + k], box[i * 4 + k + 2]); };
  // A box without area overlaps none (and none overlaps it), at any threshold.
  auto overlaps = [&](int64_t a, int64_t b) {
    const float area_a = (hi(a, 0) - lo(a, 0)) * (hi(a, 1) - lo(a, 1));
    const float area_b = (hi(b, 0) - lo(b, 0)) * (hi(b, 1) - lo(b, 1));
    if (area_a <= 0 || area_b <= 0) return false;
    const float ih = std::max(0.f, std::min(hi(a, 0), hi(b, 0)) - std::max(lo(a, 0), lo(b, 0)));
    const float iw = std::max(0.f, std::min(hi(a, 1), hi(b, 1)) - std::max(lo(a, 1), lo(b, 1)));
    const float inter = ih * iw;
    return inter / (area_a + area_b - inter) > c.iou;
  };
  std::vector<int64_t> out;
  for (int64_t k = 0; k < c.classes; ++k) {
    const float* s = score.data() + k * c.boxes;
    std::vector<int64_t> order;
    for (int64_t i = 0; i < c.boxes; ++i)
      if (c.score < 0 || s[i] > c.score) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t l, int64_t r) { return s[l] > s[r]; });
    std::vector<int64_t> kept;
    for (int64_t i : order) {
      if (static_cast<int64_t>(kept.size()) >= c.max_out) break;
      bool suppressed = false;
      for (int64_t j : kept) suppressed = suppressed || overlaps(i, j);
      if (suppressed) continue;
      kept.push_back(i);
      out.insert(out.end(), {0, k, i});
    }
  }
  return out;
}

TEST(ReferenceNms, MatchesGreedySelection) {
  const std::vector<NmsCase> cases = {
      {1, 3000, 0.55f, -1.f, 1 << 20, true, 1},  // SSDlite's batched NMS, smaller
      {3, 800, 0.5f, 0.2f, 100, true, 2},       {2, 700, 0.3f, -1.f, 50, false, 3},
      {1, 500, 0.f, -1.f, 1 << 20, true, 4},    {1, 400, -0.1f, 0.5f, 1 << 20, true, 5},
      {4, 300, 1.f, -1.f, 7, false, 6},         {1, 1, 0.5f, -1.f, 10, true, 7},
  };
  for (const NmsCase& c : cases) {
    std::mt19937 rng(c.seed);
    std::uniform_real_distribution<float> pos(0.f, 300.f), unit(0.f, 1.f);
    std::exponential_distribution<float> size(1.f / 30.f);
    std::vector<float> box(static_cast<size_t>(c.boxes * 4)), score;
    for (int64_t i = 0; i < c.boxes; ++i) {
      const float shift = c.shifted ? 400.f * static_cast<float>(rng() % 50) : 0.f;
      const float y = pos(rng) + shift, x = pos(rng) + shift;
      const float h = i % 17 == 0 ? 0.f : size(rng), w = size(rng);  // some without area
      const bool flip = i % 5 == 0;
      box[i * 4 + 0] = flip ? y + h : y;
      box[i * 4 + 1] = flip ? x + w : x;
      box[i * 4 + 2] = flip ? y : y + h;
      box[i * 4 + 3] = flip ? x : x + w;
    }
    for (int64_t i = 0; i < c.classes * c.boxes; ++i)
      score.push_back(std::round(unit(rng) * 50.f) / 50.f);  // equal scores too
    test::ModelBuilder b(11, "nms");
    b.input("boxes", {1, c.boxes, 4}).input("scores", {1, c.classes, c.boxes});
    b.constant("max", Tensor::from_vector<int64_t>({c.max_out}, {1}));
    b.constant("iou", Tensor::from_vector<float>({c.iou}, {1}));
    std::vector<std::string> in = {"boxes", "scores", "max", "iou"};
    if (c.score >= 0) {
      b.constant("score", Tensor::from_vector<float>({c.score}, {1}));
      in.push_back("score");
    }
    b.node("NonMaxSuppression", in, {"selected"});
    b.output("selected", DType::kI64, 2);
    Session s(b.build(), SessionOptions{.providers = {"reference"}});
    const std::vector<Tensor> out =
        s.run({Tensor::from_vector<float>(box, {1, c.boxes, 4}),
               Tensor::from_vector<float>(score, {1, c.classes, c.boxes})});
    const std::vector<int64_t> want = greedy_nms(box, score, c);
    ASSERT_EQ(out[0].numel(), static_cast<int64_t>(want.size())) << "seed " << c.seed;
    const std::vector<int64_t> got(out[0].data<int64_t>(), out[0].data<int64_t>() + want.size());
    EXPECT_EQ(got, want) << "seed " << c.seed;
    EXPECT_GT(want.size(), 0u);
  }
}

}  // namespace
}  // namespace edgeopt
