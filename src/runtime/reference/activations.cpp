// Element-wise activation functions y = f(x) with scalar attributes: Sigmoid, HardSigmoid,
// HardSwish, Softplus, Softsign, LeakyRelu, Elu, Selu, Celu, ThresholdedRelu. (Relu has its
// own file; PRelu takes a slope tensor and lives in prelu.cpp.)
#include <cmath>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

// sigmoid(x) = 1 / (1 + e^-x), evaluated so that e^t never overflows.
struct SigmoidOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  template <class C>
  C operator()(C x) const {
    if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
    const C e = std::exp(x);
    return e / (C(1) + e);
  }
};

// y = max(0, min(1, alpha * x + beta))
struct HardSigmoidOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  explicit HardSigmoidOp(const Node& n)
      : alpha(n.attr_float("alpha", 0.2f)), beta(n.attr_float("beta", 0.5f)) {}
  template <class C>
  C operator()(C x) const {
    return std::max(C(0), std::min(C(1), C(alpha) * x + C(beta)));
  }
  float alpha, beta;
};

// y = x * max(0, min(1, x / 6 + 1/2))
struct HardSwishOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  template <class C>
  C operator()(C x) const {
    return x * std::max(C(0), std::min(C(1), x / C(6) + C(0.5)));
  }
};

// softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), which never overflows.
struct SoftplusOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  template <class C>
  C operator()(C x) const {
    return std::max(x, C(0)) + std::log1p(std::exp(-std::abs(x)));
  }
};

// y = x / (1 + |x|)
struct SoftsignOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  template <class C>
  C operator()(C x) const {
    return x / (C(1) + std::abs(x));
  }
};

// y = x for x >= 0, alpha * x otherwise
struct LeakyReluOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  explicit LeakyReluOp(const Node& n) : alpha(n.attr_float("alpha", 0.01f)) {}
  template <class C>
  C operator()(C x) const {
    return x < C(0) ? C(alpha) * x : x;
  }
  float alpha;
};

// y = x for x >= 0, alpha * (e^x - 1) otherwise
struct EluOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  explicit EluOp(const Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <class C>
  C operator()(C x) const {
    return x < C(0) ? C(alpha) * std::expm1(x) : x;
  }
  float alpha;
};

// y = gamma * x for x > 0, gamma * alpha * (e^x - 1) otherwise. The defaults are the float32
// values of the constants in Klambauer et al. 2017, as the ONNX spec gives them.
struct SeluOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  explicit SeluOp(const Node& n)
      : alpha(n.attr_float("alpha", 1.67326319217681884765625f)),
        gamma(n.attr_float("gamma", 1.05070102214813232421875f)) {}
  template <class C>
  C operator()(C x) const {
    return x > C(0) ? C(gamma) * x : C(gamma) * C(alpha) * std::expm1(x);
  }
  float alpha, gamma;
};

// y = max(0, x) + min(0, alpha * (e^(x / alpha) - 1))
struct CeluOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  explicit CeluOp(const Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <class C>
  C operator()(C x) const {
    return std::max(C(0), x) + std::min(C(0), C(alpha) * std::expm1(x / C(alpha)));
  }
  float alpha;
};

// y = x for x > alpha, 0 otherwise
struct ThresholdedReluOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kFloat;
  explicit ThresholdedReluOp(const Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <class C>
  C operator()(C x) const {
    return x > C(alpha) ? x : C(0);
  }
  float alpha;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Sigmoid", 1, INT_MAX, UnaryKernel<SigmoidOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "HardSigmoid", 1, INT_MAX, UnaryKernel<HardSigmoidOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "HardSwish", 14, INT_MAX, UnaryKernel<HardSwishOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Softplus", 1, INT_MAX, UnaryKernel<SoftplusOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Softsign", 1, INT_MAX, UnaryKernel<SoftsignOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "LeakyRelu", 1, INT_MAX, UnaryKernel<LeakyReluOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Elu", 1, INT_MAX, UnaryKernel<EluOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Selu", 1, INT_MAX, UnaryKernel<SeluOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Celu", 12, INT_MAX, UnaryKernel<CeluOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ThresholdedRelu", 10, INT_MAX,
                        UnaryKernel<ThresholdedReluOp>);

}  // namespace
}  // namespace edgeopt::rt::ref
