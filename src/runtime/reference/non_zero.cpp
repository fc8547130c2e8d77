// NonZero: the coordinates of the nonzero elements as int64 (rank, count), in row-major
// order. The output shape depends on the data, so the node is planned at run time.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

// f(i) for every nonzero element i in order, each read as its own type (floats compare with 0,
// so -0 is zero; f16 and bf16 by their bits without the sign; the rest by their bits).
template <class F>
void for_each_nonzero(const Tensor& t, F&& f) {
  const int64_t n = t.numel();
  auto scan = [&](auto* p, auto mask) {
    for (int64_t i = 0; i < n; ++i)
      if (p[i] & mask) f(i);
  };
  switch (t.dtype()) {
    case DType::kString:
      for (int64_t i = 0; i < n; ++i)
        if (!t.strings()[i].empty()) f(i);
      return;
    case DType::kF32:
      for (int64_t i = 0; i < n; ++i)
        if (t.data<float>()[i] != 0) f(i);
      return;
    case DType::kF64:
      for (int64_t i = 0; i < n; ++i)
        if (t.data<double>()[i] != 0) f(i);
      return;
    case DType::kF16:
    case DType::kBF16:
      return scan(static_cast<const uint16_t*>(t.raw()), uint16_t{0x7fff});
    default:
      break;
  }
  switch (dtype_size(t.dtype())) {
    case 1:
      return scan(static_cast<const uint8_t*>(t.raw()), uint8_t{0xff});
    case 2:
      return scan(static_cast<const uint16_t*>(t.raw()), uint16_t{0xffff});
    case 4:
      return scan(static_cast<const uint32_t*>(t.raw()), ~uint32_t{0});
    default:
      return scan(static_cast<const uint64_t*>(t.raw()), ~uint64_t{0});
  }
}

class NonZero final : public Kernel {
 public:
  explicit NonZero(const KernelInit&) {}
  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.value(0);
    int64_t count = 0;
    for_each_nonzero(x, [&](int64_t) { ++count; });
    ctx.set_output(0, DType::kI64, {x.rank(), count});
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int r = x.rank();
    const int64_t count = y.shape()[1];
    int64_t* out = y.data<int64_t>();
    int64_t c = 0;
    for_each_nonzero(x, [&](int64_t i) {  // i's coordinates, last dimension first
      for (int d = r - 1; d >= 0; --d) {
        out[d * count + c] = i % x.shape()[d];
        i /= x.shape()[d];
      }
      ++c;
    });
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "NonZero", 1, INT_MAX, NonZero);

}  // namespace
}  // namespace edgeopt::rt::ref
