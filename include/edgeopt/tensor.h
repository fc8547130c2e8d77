// Tensor: a dtype, a static shape and (optionally) data.
//
// Data is either owned (64-byte aligned, shared between copies: copying a Tensor is cheap and
// aliases) or a view of memory owned elsewhere (the session's arena). A tensor without data
// carries only dtype and shape (used while planning). Use clone() for a deep copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "edgeopt/dtype.h"

namespace edgeopt {

using Shape = std::vector<int64_t>;

// Number of elements; throws Error (invalid input) on negative dims or int64 overflow.
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "1x3x224x224", "scalar" for rank 0

// The bytes all tensors together may hold (weights, inputs, activations, what kernels
// allocate). A tensor that would take the total past it is refused with Error (invalid input)
// naming its shape and size, the same way for every op and reader, before anything is
// allocated. Default: the memory the machine has available (MemAvailable) when first asked.
// 0 restores the default.
void set_memory_budget(int64_t bytes);
int64_t memory_budget();
// Bytes held by tensors right now.
int64_t tensor_bytes_in_use();

class Tensor {
 public:
  Tensor() = default;
  // Owned, zero-filled storage.
  Tensor(DType dtype, Shape shape);
  // Non-owning view of `data` (must outlive every use).
  static Tensor view(DType dtype, Shape shape, void* data);
  // `data` kept alive by `owner`, e.g. a copy-on-write mapping of a model's external data file.
  // Such storage is not counted in the memory budget (the system can page it back in from the
  // file).
  static Tensor adopt(DType dtype, Shape shape, std::shared_ptr<void> owner, void* data);
  // Dtype and shape only, no data.
  static Tensor meta(DType dtype, Shape shape);
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, Shape shape) {
    Tensor t(dtype_of<T>::value, std::move(shape));
    for (size_t i = 0; i < values.size() && i < static_cast<size_t>(t.numel()); ++i)
      t.data<T>()[i] = values[i];
    return t;
  }
  template <class T>
  static Tensor scalar(T value) {
    return from_vector<T>({value}, {});
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + rank() : i]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool has_data() const { return data_ != nullptr || (dtype_ == DType::kString && strings_); }
  bool defined() const { return dtype_ != DType::kUndefined; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }
  template <class T>
  T* data() {
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }
  // String tensors keep their elements here (data() is null for them).
  std::vector<std::string>& strings();
  const std::vector<std::string>& strings() const;

  // Deep copy with owned storage.
  Tensor clone() const;
  // Same data, new shape with the same element count (a view sharing ownership).
  Tensor reshaped(Shape shape) const;
  // Element i converted to double / int64 (any numeric dtype).
  double get_f64(int64_t i) const;
  int64_t get_i64(int64_t i) const;
  // All elements as int64 (for shape-like inputs).
  std::vector<int64_t> to_i64_vector() const;
  std::vector<float> to_f32_vector() const;

 private:
  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
  std::shared_ptr<std::vector<std::string>> strings_;
};

}  // namespace edgeopt
