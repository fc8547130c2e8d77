// BitShift on unsigned integers with numpy broadcasting: y = x << s or x >> s (attribute
// direction = "LEFT" | "RIGHT"). A shift by the bit width or more gives 0 (numpy's result;
// in C it is undefined).
#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

class BitShift final : public BinaryKernel {
 public:
  explicit BitShift(const KernelInit& init) : BinaryKernel(init) {
    const std::string dir = init.node.attr_string("direction", "");
    if (dir != "LEFT" && dir != "RIGHT")
      fail_input("node ", init.node.describe(), ": attribute direction is '", dir,
                 "', expected LEFT or RIGHT");
    left_ = dir == "LEFT";
  }

  void run(RunContext& ctx) override {
    visit_integer(ctx.input(0).dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_unsigned_v<T>) {
        constexpr T kBits = sizeof(T) * 8;
        if (left_)
          apply<T, T, T>(ctx, [](T x, T s) { return s >= kBits ? T(0) : static_cast<T>(x << s); });
        else
          apply<T, T, T>(ctx, [](T x, T s) { return s >= kBits ? T(0) : static_cast<T>(x >> s); });
      }
    });
  }

 private:
  DType check_dtypes(const InferContext& ctx) override {
    require_dtype(
        ctx, 0,
        [](DType t) {
          return t == DType::kU8 || t == DType::kU16 || t == DType::kU32 || t == DType::kU64;
        },
        "an unsigned integer type");
    require_same_dtype(ctx, 0, 1);
    return ctx.dtype(0);
  }

  bool left_ = true;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "BitShift", 11, INT_MAX, BitShift);

}  // namespace
}  // namespace edgeopt::rt::ref
