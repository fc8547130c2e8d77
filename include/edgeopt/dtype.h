// Element types. Values equal ONNX TensorProto.DataType so conversion is a cast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace edgeopt {

enum class DType : int32_t {
  kUndefined = 0,
  kF32 = 1,
  kU8 = 2,
  kI8 = 3,
  kU16 = 4,
  kI16 = 5,
  kI32 = 6,
  kI64 = 7,
  kString = 8,
  kBool = 9,
  kF16 = 10,
  kF64 = 11,
  kU32 = 12,
  kU64 = 13,
  kBF16 = 16,
};

// Bytes per element; 0 for kUndefined and kString (strings are stored out of line).
size_t dtype_size(DType t);
// Short lower-case name: "f32", "i64", ...
const char* dtype_name(DType t);
// True for every value ONNX defines that edgeopt can hold.
bool dtype_known(int32_t onnx_type);
bool dtype_is_float(DType t);  // f16, bf16, f32, f64

// IEEE half and bfloat16 conversions (round to nearest even).
uint16_t f32_to_f16(float f);
float f16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t h);

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::kF32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::kF64;
};
template <>
struct dtype_of<uint8_t> {
  static constexpr DType value = DType::kU8;
};
template <>
struct dtype_of<int8_t> {
  static constexpr DType value = DType::kI8;
};
template <>
struct dtype_of<uint16_t> {
  static constexpr DType value = DType::kU16;
};
template <>
struct dtype_of<int16_t> {
  static constexpr DType value = DType::kI16;
};
template <>
struct dtype_of<int32_t> {
  static constexpr DType value = DType::kI32;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::kI64;
};
template <>
struct dtype_of<uint32_t> {
  static constexpr DType value = DType::kU32;
};
template <>
struct dtype_of<uint64_t> {
  static constexpr DType value = DType::kU64;
};
template <>
struct dtype_of<bool> {
  static constexpr DType value = DType::kBool;
};

}  // namespace edgeopt
