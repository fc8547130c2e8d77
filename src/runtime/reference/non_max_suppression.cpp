// NonMaxSuppression: per batch and class, greedily keeps the highest-scoring boxes whose score
// is above score_threshold and whose IoU with every box kept before is at most iou_threshold,
// up to max_output_boxes_per_class (0 or absent: none). Boxes are [y1, x1, y2, x2] with any
// two opposite corners (center_point_box 0) or [x_center, y_center, width, height] (1).
// Output: int64 [selected, 3] rows (batch, class, box), by batch, class, then selection
// order. Equal scores keep the lower box index first. The count depends on the data, so
// infer() selects and gives the output's value (planned at run time).
#include <algorithm>

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

// The boxes kept so far, one array per coordinate (and their areas), for any_overlap().
class Kept {
 public:
  int64_t size() const { return static_cast<int64_t>(y1_.size()); }
  void clear() {
    for (std::vector<float>* v : {&y1_, &x1_, &y2_, &x2_, &area_}) v->clear();
  }
  // Keeps b unless iou(kept box, b) > th for some kept box (a box without area overlaps
  // none); returns whether it did.
  bool keep(const Box& b, float th) {
    const float area = (b.y2 - b.y1) * (b.x2 - b.x1);
    if (area > 0 && any_overlap(y1_.data(), x1_.data(), y2_.data(), x2_.data(), area_.data(),
                                size(), b, area, th))
      return false;
    y1_.push_back(b.y1);
    x1_.push_back(b.x1);
    y2_.push_back(b.y2);
    x2_.push_back(b.x2);
    area_.push_back(area);
    return true;
  }

 private:
  std::vector<float> y1_, x1_, y2_, x2_, area_;
};

class NonMaxSuppression final : public Kernel {
 public:
  explicit NonMaxSuppression(const KernelInit& init)
      : node_(init.node), center_(init.node.attr_int("center_point_box", 0) != 0) {}
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
        kept.clear();
        for (int64_t i : order) {
          if (kept.size() >= max_out) break;
          if (kept.keep(box[i], iou_th)) out.insert(out.end(), {b, c, i});
        }
      }
    }
    return out;
  }

  const Node& node_;
  bool center_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "NonMaxSuppression", 10, INT_MAX, NonMaxSuppression);

}  // namespace
}  // namespace edgeopt::rt::ref
