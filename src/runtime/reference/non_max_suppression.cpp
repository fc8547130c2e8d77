// NonMaxSuppression: per batch and class, greedily keeps the highest-scoring boxes whose score
// is above score_threshold and whose IoU with every box kept before is at most iou_threshold,
// up to max_output_boxes_per_class (0 or absent: none). Boxes are [y1, x1, y2, x2] with any
// two opposite corners (center_point_box 0) or [x_center, y_center, width, height] (1).
// Output: int64 [selected, 3] rows (batch, class, box), by batch, class, then selection
// order. Equal scores keep the lower box index first. The count depends on the data, so
// infer() selects and gives the output's value (planned at run time).
#include <algorithm>
#include <cmath>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

struct Box {
  float y1, x1, y2, x2;  // y1 <= y2, x1 <= x2
};

Box corners(const float* b, bool center) {
  if (center) {
    const float hw = b[2] / 2, hh = b[3] / 2;
    return {b[1] - hh, b[0] - hw, b[1] + hh, b[0] + hw};
  }
  return {std::min(b[0], b[2]), std::min(b[1], b[3]), std::max(b[0], b[2]), std::max(b[1], b[3])};
}

// Whether iou(box k, b) > th for any of the n boxes given by coordinate (area_b: b's area, > 0).
// Branch-free over blocks of 32 boxes, so that it runs in vector lanes (16 or 8 boxes per
// instruction in the AVX-512 and AVX2 clones).
EDGEOPT_VECTOR_CLONES
bool any_overlap(const float* y1, const float* x1, const float* y2, const float* x2,
                 const float* area, int64_t n, Box b, float area_b, float th) {
  constexpr int64_t kBlock = 32;
  for (int64_t k0 = 0; k0 < n; k0 += kBlock) {
    const int64_t k1 = std::min(n, k0 + kBlock);
    int hit = 0;
    for (int64_t k = k0; k < k1; ++k) {
      const float ih = std::max(0.f, std::min(y2[k], b.y2) - std::max(y1[k], b.y1));
      const float iw = std::max(0.f, std::min(x2[k], b.x2) - std::max(x1[k], b.x1));
      const float inter = ih * iw;
      // The union is at least area_b > 0 (inter <= area[k]): no division by zero.
      const float iou = inter / (area[k] + area_b - inter);
      hit |= (area[k] > 0) & (iou > th);
    }
    if (hit) return true;
  }
  return false;
}

// The boxes kept so far, one array per coordinate (and their areas) for any_overlap(), in
// buckets by x1. A box can only overlap the kept boxes whose x-interval meets its own, and no
// box is wider than the widest candidate (w), so with buckets at least w wide a box checks the
// buckets of x1 - w to x2 alone: torchvision's batched NMS (one class, the boxes of each class
// shifted apart) keeps thousands of boxes, and each new one checked all of them (SSDlite: 27000
// candidates, 11354 kept).
class Kept {
 public:
  // Before a class: the candidates' boxes (`order` indexes `box`) and the IoU threshold. Below
  // 0 a box overlaps even one it does not touch: then one bucket.
  void reset(const std::vector<Box>& box, const std::vector<int64_t>& order, float th) {
    float lo = 0, hi = 0, w = 0;
    for (size_t k = 0; k < order.size(); ++k) {
      const Box& b = box[order[k]];
      lo = k ? std::min(lo, b.x1) : b.x1;
      hi = k ? std::max(hi, b.x1) : b.x1;
      w = std::max(w, b.x2 - b.x1);
    }
    lo_ = lo;
    // At most kMaxBuckets buckets; a span that is not finite (inf, NaN coordinates) gets one.
    const float span = hi - lo;
    cell_ = std::max(w, span / kMaxBuckets);
    int64_t n = 1;
    if (th >= 0 && cell_ > 0 && std::isfinite(span) && std::isfinite(cell_))
      n = std::min<int64_t>(kMaxBuckets, static_cast<int64_t>(span / cell_) + 1);
    if (n == 1) cell_ = 0;
    if (static_cast<int64_t>(buckets_.size()) < n) buckets_.resize(static_cast<size_t>(n));
    used_ = n;
    for (int64_t k = 0; k < n; ++k) buckets_[k].clear();
    count_ = 0;
  }
  int64_t size() const { return count_; }
  // Keeps b unless iou(kept box, b) > th for some kept box (a box without area overlaps
  // none); returns whether it did.
  bool keep(const Box& b, float th) {
    const float area = (b.y2 - b.y1) * (b.x2 - b.x1);
    if (area > 0) {
      // One bucket more on each side than the geometry needs: rounding of x1 - w.
      const int64_t first = std::max<int64_t>(0, bucket(b.x1 - cell_) - 1);
      const int64_t last = std::min<int64_t>(used_ - 1, bucket(b.x2) + 1);
      for (int64_t k = first; k <= last; ++k) {
        const Bucket& c = buckets_[k];
        if (any_overlap(c.y1.data(), c.x1.data(), c.y2.data(), c.x2.data(), c.area.data(),
                        static_cast<int64_t>(c.y1.size()), b, area, th))
          return false;
      }
    }
    Bucket& c = buckets_[std::clamp<int64_t>(bucket(b.x1), 0, used_ - 1)];
    c.y1.push_back(b.y1);
    c.x1.push_back(b.x1);
    c.y2.push_back(b.y2);
    c.x2.push_back(b.x2);
    c.area.push_back(area);
    ++count_;
    return true;
  }

 private:
  static constexpr int64_t kMaxBuckets = 4096;
  struct Bucket {
    std::vector<float> y1, x1, y2, x2, area;
    void clear() {
      for (std::vector<float>* v : {&y1, &x1, &y2, &x2, &area}) v->clear();
    }
  };
  // The bucket of x1 = x, unclamped (any x when there is one bucket: 0).
  int64_t bucket(float x) const {
    if (cell_ == 0) return 0;
    const float k = std::floor((x - lo_) / cell_);
    // Far outside (or NaN): past either end, clamped by the callers.
    if (!(k > -2)) return -2;
    if (k > static_cast<float>(used_ + 1)) return used_ + 1;
    return static_cast<int64_t>(k);
  }
  std::vector<Bucket> buckets_;
  int64_t used_ = 1, count_ = 0;
  float lo_ = 0, cell_ = 0;
};

class NonMaxSuppression final : public NodeKernel {
 public:
  explicit NonMaxSuppression(const KernelInit& init)
      : NodeKernel(init), center_(init.node.attr_int("center_point_box", 0) != 0) {}
  void infer(InferContext& ctx) override {
    const Shape& bs = ctx.shape(0);
    const Shape& ss = ctx.shape(1);
    if (bs.size() != 3 || bs[2] != 4 || ss.size() != 3 || ss[0] != bs[0] || ss[2] != bs[1])
      fail_input("node ", node_.describe(), ": boxes ", shape_str(bs), " and scores ",
                 shape_str(ss), " must be [batches, boxes, 4] and [batches, classes, boxes]");
    if (ctx.dtype(0) != DType::kF32 || ctx.dtype(1) != DType::kF32)
      fail_unsupported("node ", node_.describe(), ": only float32 boxes and scores");
    std::vector<const Tensor*> in;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
      in.push_back(ctx.has_input(i) ? &ctx.value(i) : nullptr);
    const std::vector<int64_t> sel = select(in);
    Tensor out(DType::kI64, {static_cast<int64_t>(sel.size() / 3), 3});
    std::copy(sel.begin(), sel.end(), out.data<int64_t>());
    ctx.set_output_value(0, std::move(out));
  }
  void run(RunContext& ctx) override {
    const std::vector<int64_t> sel = select(ctx.in);
    std::copy(sel.begin(), sel.end(), ctx.output(0).data<int64_t>());
  }

 private:
  std::vector<int64_t> select(const std::vector<const Tensor*>& in) const {
    auto has = [&](size_t i) { return i < in.size() && in[i]; };
    const Tensor& boxes = *in[0];
    const Tensor& scores = *in[1];
    const int64_t max_out = has(2) ? in[2]->get_i64(0) : 0;
    const float iou_th = has(3) ? static_cast<float>(in[3]->get_f64(0)) : 0.f;
    const bool has_score_th = has(4);
    const float score_th = has_score_th ? static_cast<float>(in[4]->get_f64(0)) : 0.f;
    const int64_t batches = boxes.shape()[0], n = boxes.shape()[1], classes = scores.shape()[1];
    std::vector<int64_t> out;
    std::vector<int64_t> order;
    Kept kept;
    std::vector<Box> box(n);
    for (int64_t b = 0; b < batches && max_out > 0; ++b) {
      const float* bx = boxes.data<float>() + b * n * 4;
      for (int64_t i = 0; i < n; ++i) box[i] = corners(bx + i * 4, center_);
      for (int64_t c = 0; c < classes; ++c) {
        const float* s = scores.data<float>() + (b * classes + c) * n;
        // Only boxes above the threshold can be kept: sort those alone.
        order.clear();
        for (int64_t i = 0; i < n; ++i)
          if (!has_score_th || s[i] > score_th) order.push_back(i);
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t l, int64_t r) { return s[l] > s[r]; });
        kept.reset(box, order, iou_th);
        for (int64_t i : order) {
          if (kept.size() >= max_out) break;
          if (kept.keep(box[i], iou_th)) out.insert(out.end(), {b, c, i});
        }
      }
    }
    return out;
  }

  bool center_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "NonMaxSuppression", 10, INT_MAX, NonMaxSuppression);

}  // namespace
}  // namespace edgeopt::rt::ref
