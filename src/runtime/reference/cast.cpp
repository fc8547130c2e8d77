// Cast (to = attribute) and CastLike (to = dtype of input 1) between every numeric dtype,
// bool, float16, bfloat16 and string.
//
// Conversions follow numpy's astype where it is defined:
//   to bool:            x != 0 (NaN is true)
//   integer → integer:  wraps modulo 2^bits
//   float → integer:    truncates toward zero; out-of-range values saturate and NaN gives 0
//                       (ONNX leaves these undefined; C++ would be undefined behaviour)
//   double → f16/bf16:  rounded once to nearest even (via float rounded to odd, which makes
//                       the second rounding exact)
//   number → string:    shortest text that reads back to the same value ("0.039187793")
//   string → number:    strtod/strtoll syntax, also "NaN", "INF", "+INF", "-INF"
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

// d rounded to float with round-to-odd: an inexact result is the neighbour with an odd last
// mantissa bit. Rounding that float again to a format with at most 22 mantissa bits gives the
// correctly rounded result of d.
float round_to_odd(double d) {
  float f = static_cast<float>(d);
  if (!std::isfinite(f) || static_cast<double>(f) == d) return f;
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 1) == 0)
    f = std::nextafter(f, d > static_cast<double>(f) ? std::numeric_limits<float>::infinity()
                                                     : -std::numeric_limits<float>::infinity());
  return f;
}

template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return load(v) != 0;
  } else if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BFloat16>) {
    if constexpr (std::is_same_v<From, double>)
      return store<To>(round_to_odd(v));
    else
      return store<To>(static_cast<float>(load(v)));
  } else if constexpr (std::is_floating_point_v<To>) {
    return static_cast<To>(load(v));
  } else if constexpr (is_floating_v<From>) {
    return float_to_int<To>(static_cast<double>(load(v)));
  } else {
    return static_cast<To>(v);
  }
}

template <class From>
std::string to_text(From v) {
  char buf[64];
  std::to_chars_result r;
  if constexpr (std::is_same_v<From, bool>)
    r = std::to_chars(buf, buf + sizeof buf, static_cast<int>(v));
  else
    r = std::to_chars(buf, buf + sizeof buf, load(v));
  return std::string(buf, r.ptr);
}

template <class To>
To from_text(const std::string& s, const Node& node) {
  const char* begin = s.c_str();
  char* end = nullptr;
  To v{};
  if constexpr (std::is_integral_v<To> && !std::is_same_v<To, bool>) {
    if constexpr (std::is_signed_v<To>)
      v = static_cast<To>(std::strtoll(begin, &end, 10));
    else
      v = static_cast<To>(std::strtoull(begin, &end, 10));
  } else {
    v = convert<To>(std::strtod(begin, &end));
  }
  if (end == begin || *end != '\0')
    fail_input("node ", node.describe(), ": cannot convert string '", s, "' to a number");
  return v;
}

bool castable(DType t) {
  return t == DType::kBool || t == DType::kString || is_float_dtype(t) || is_integer_dtype(t);
}

class CastKernel : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t n = x.numel();
    if (x.dtype() == DType::kString && y.dtype() == DType::kString) {
      y.strings() = x.strings();
    } else if (x.dtype() == DType::kString) {
      visit_any(y.dtype(), node_, [&](auto to_tag) {
        using To = typename decltype(to_tag)::type;
        const std::vector<std::string>& in = x.strings();
        To* out = y.data<To>();
        for (int64_t i = 0; i < n; ++i) out[i] = from_text<To>(in[i], node_);
      });
    } else if (y.dtype() == DType::kString) {
      visit_any(x.dtype(), node_, [&](auto from_tag) {
        using From = typename decltype(from_tag)::type;
        const From* in = x.data<From>();
        std::vector<std::string>& out = y.strings();
        out.resize(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) out[i] = to_text(in[i]);
      });
    } else {
      visit_any(x.dtype(), node_, [&](auto from_tag) {
        using From = typename decltype(from_tag)::type;
        visit_any(y.dtype(), node_, [&](auto to_tag) {
          using To = typename decltype(to_tag)::type;
          const From* in = x.data<From>();
          To* out = y.data<To>();
          for (int64_t i = 0; i < n; ++i) out[i] = convert<To>(in[i]);
        });
      });
    }
  }

 protected:
  void set_output(InferContext& ctx, DType to) const {
    if (!castable(ctx.dtype(0)))
      fail_unsupported("node ", node_.describe(), ": cannot cast from dtype ",
                       dtype_name(ctx.dtype(0)));
    if (!castable(to))
      fail_unsupported("node ", node_.describe(), ": cannot cast to dtype ", dtype_name(to));
    ctx.set_output(0, to, ctx.shape(0));
  }
};

class Cast final : public CastKernel {
 public:
  explicit Cast(const KernelInit& init) : CastKernel(init) {
    const int64_t to = init.node.attr_int("to", 0);
    if (!init.node.has_attr("to") || !dtype_known(static_cast<int32_t>(to)))
      fail_input("node ", init.node.describe(), ": attribute 'to' (", to,
                 ") is missing or not a known dtype");
    to_ = static_cast<DType>(to);
  }
  void infer(InferContext& ctx) override { set_output(ctx, to_); }

 private:
  DType to_;
};

class CastLike final : public CastKernel {
 public:
  using CastKernel::CastKernel;
  void infer(InferContext& ctx) override { set_output(ctx, ctx.dtype(1)); }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Cast", 1, INT_MAX, Cast);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "CastLike", 15, INT_MAX, CastLike);

}  // namespace
}  // namespace edgeopt::rt::ref
