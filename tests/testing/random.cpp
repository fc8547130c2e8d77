#include "testing/random.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "edgeopt/error.h"

namespace edgeopt::test {
namespace {

template <class T>
void fill_int(Tensor& t, std::mt19937& gen, double lo, double hi) {
  const double min = static_cast<double>(std::numeric_limits<T>::min());
  const double max = static_cast<double>(std::numeric_limits<T>::max());
  std::uniform_int_distribution<int64_t> dist(static_cast<int64_t>(std::ceil(std::max(lo, min))),
                                              static_cast<int64_t>(std::floor(std::min(hi, max))));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(dist(gen));
}

}  // namespace

Tensor random_tensor(DType dtype, Shape shape, uint32_t seed, double lo, double hi) {
  Tensor t(dtype, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> real(lo, hi);
  switch (dtype) {
    case DType::kF32:
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(real(gen));
      break;
    case DType::kF64:
      for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = real(gen);
      break;
    case DType::kF16:
      for (int64_t i = 0; i < t.numel(); ++i)
        t.data<uint16_t>()[i] = f32_to_f16(static_cast<float>(real(gen)));
      break;
    case DType::kBF16:
      for (int64_t i = 0; i < t.numel(); ++i)
        t.data<uint16_t>()[i] = f32_to_bf16(static_cast<float>(real(gen)));
      break;
    case DType::kBool: {
      std::bernoulli_distribution coin(0.5);
      for (int64_t i = 0; i < t.numel(); ++i) t.data<bool>()[i] = coin(gen);
      break;
    }
    case DType::kI8:
      fill_int<int8_t>(t, gen, lo, hi);
      break;
    case DType::kU8:
      fill_int<uint8_t>(t, gen, lo, hi);
      break;
    case DType::kI16:
      fill_int<int16_t>(t, gen, lo, hi);
      break;
    case DType::kU16:
      fill_int<uint16_t>(t, gen, lo, hi);
      break;
    case DType::kI32:
      fill_int<int32_t>(t, gen, lo, hi);
      break;
    case DType::kU32:
      fill_int<uint32_t>(t, gen, lo, hi);
      break;
    case DType::kI64:
      fill_int<int64_t>(t, gen, lo, hi);
      break;
    case DType::kU64:
      fill_int<uint64_t>(t, gen, lo, hi);
      break;
    default:
      fail_input("random_tensor: no random values for dtype ", dtype_name(dtype));
  }
  return t;
}

Tensor random_tensor(Shape shape, uint32_t seed, float lo, float hi) {
  return random_tensor(DType::kF32, std::move(shape), seed, lo, hi);
}

Tensor normal_tensor(Shape shape, float stddev, std::mt19937& rng) {
  Tensor t(DType::kF32, std::move(shape));
  std::normal_distribution<float> dist(0.0f, stddev);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

}  // namespace edgeopt::test
