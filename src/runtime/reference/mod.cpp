// Mod with numpy broadcasting.
//   fmod = 0 (integers only): the remainder takes the divisor's sign, as Python's %:
//            Mod(-4, 3) = 2, Mod(4, -3) = -2.
//   fmod = 1: C fmod, the remainder takes the dividend's sign: Mod(-4, 3) = -1.
// An integer divisor of 0 gives 0 (numpy's result; C would trap).
#include <cmath>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

// Truncated remainder, defined for every input (x % 0 = 0, INT_MIN % -1 = 0).
template <class T>
T trunc_rem(T x, T y) {
  if (y == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (y == -1) return 0;
  }
  return static_cast<T>(x % y);
}

class Mod final : public BinaryKernel {
 public:
  explicit Mod(const KernelInit& init)
      : BinaryKernel(init), fmod_(init.node.attr_int("fmod", 0) != 0) {}

  void run(RunContext& ctx) override {
    visit_numeric(ctx.input(0).dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (is_floating_v<T>) {
        apply<T, T, T>(ctx, [](T x, T y) { return store<T>(std::fmod(load(x), load(y))); });
      } else if (fmod_) {
        apply<T, T, T>(ctx, [](T x, T y) { return trunc_rem(x, y); });
      } else {
        apply<T, T, T>(ctx, [](T x, T y) {
          T r = trunc_rem(x, y);
          // Move a remainder whose sign differs from the divisor's into the divisor's range.
          if constexpr (std::is_signed_v<T>) {
            if (r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
          }
          return r;
        });
      }
    });
  }

 private:
  DType check_dtypes(const InferContext& ctx) override {
    require_dtype(
        ctx, 0, [](DType t) { return is_float_dtype(t) || is_integer_dtype(t); }, "a numeric type");
    require_same_dtype(ctx, 0, 1);
    if (dtype_is_float(ctx.dtype(0)) && !fmod_)
      fail_input("node ", node_.describe(), ": Mod of floating-point input '", node_.input(0),
                 "' requires attribute fmod=1");
    return ctx.dtype(0);
  }

  bool fmod_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Mod", 10, INT_MAX, Mod);

}  // namespace
}  // namespace edgeopt::rt::ref
