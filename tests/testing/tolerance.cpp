#include "testing/tolerance.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace edgeopt::test {

Tolerance default_tolerance(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return {1e-6, 1e-4};
    case DType::kF64:
      return {1e-12, 1e-10};
    case DType::kF16:
      return {1e-3, 2e-3};
    case DType::kBF16:
      return {1e-2, 1.6e-2};
    case DType::kI8:
    case DType::kU8:
      return {1, 0};
    default:
      return {0, 0};
  }
}

Agreement agreement(const Tensor& got, const Tensor& want, Tolerance tol) {
  Agreement a;
  std::ostringstream why;
  if (got.dtype() != want.dtype()) {
    why << "dtype " << dtype_name(got.dtype()) << " vs " << dtype_name(want.dtype());
  } else if (got.shape() != want.shape()) {
    why << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  } else if (got.dtype() == DType::kString) {
    for (int64_t i = 0; i < got.numel() && why.tellp() == 0; ++i)
      if (got.strings()[i] != want.strings()[i])
        why << "element " << i << ": '" << got.strings()[i] << "' vs '" << want.strings()[i] << "'";
  } else {
    for (int64_t i = 0; i < got.numel(); ++i) {
      const double g = got.get_f64(i), w = want.get_f64(i);
      if (std::isfinite(w)) a.max_ref = std::max(a.max_ref, std::fabs(w));
      if (std::isfinite(g) && std::isfinite(w)) {
        a.max_diff = std::max(a.max_diff, std::fabs(g - w));
      } else if (!(std::isnan(g) && std::isnan(w)) && g != w && why.tellp() == 0) {
        why << "element " << i << ": " << g << " vs " << w;
      }
    }
    // 64-bit integers beyond 2^53 lose bits in get_f64: compare them exactly.
    if (got.dtype() == DType::kI64 || got.dtype() == DType::kU64)
      for (int64_t i = 0; i < got.numel() && why.tellp() == 0 && tol.atol == 0; ++i)
        if (got.get_i64(i) != want.get_i64(i))
          why << "element " << i << ": " << got.get_i64(i) << " vs " << want.get_i64(i);
  }
  a.bound = tol.atol + tol.rtol * a.max_ref;
  if (why.tellp() == 0 && a.max_diff > a.bound)
    why << "max |diff| " << a.max_diff << " > " << a.bound << " (atol " << tol.atol << " + rtol "
        << tol.rtol << " * max |ref| " << a.max_ref << ")";
  a.detail = why.str();
  a.ok = a.detail.empty();
  return a;
}

::testing::AssertionResult tensors_close(const Tensor& got, const Tensor& want,
                                         const std::string& what, Tolerance tol) {
  const Agreement a = agreement(got, want, tol);
  if (a.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << a.detail;
}

::testing::AssertionResult tensors_close(const Tensor& got, const Tensor& want,
                                         const std::string& what) {
  return tensors_close(got, want, what, default_tolerance(want.dtype()));
}

}  // namespace edgeopt::test
