#include "edgeopt/tensor.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "edgeopt/error.h"
#include "tensor_alloc.h"

namespace edgeopt {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) fail_input("negative dimension ", d, " in shape ", shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail_input("shape ", shape_str(shape), " overflows 64-bit element count");
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  if (shape.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

namespace {

std::atomic<int64_t> g_in_use{0};
std::atomic<int64_t> g_budget{0};  // 0: the memory available
thread_local int g_map_large = 0;  // MapLargeTensors alive on this thread
constexpr size_t kMapLargeBytes = size_t{1} << 20;
constexpr size_t kHugePage = size_t{2} << 20;

// MemAvailable of /proc/meminfo, or no limit where it cannot be read.
int64_t available_memory() {
  std::ifstream f("/proc/meminfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream in(line.substr(13));
    int64_t kb = 0;
    if (in >> kb && kb > 0) return kb * 1024;
  }
  return std::numeric_limits<int64_t>::max();
}

std::string mb(int64_t bytes) {
  std::ostringstream o;
  o.precision(1);
  o << std::fixed << double(bytes) / (1 << 20) << " MiB";
  return o.str();
}

std::shared_ptr<void> aligned_zeroed(size_t bytes, const Shape& shape) {
  // 64-byte alignment suits AVX-512 loads; round the size up as aligned_alloc requires.
  const size_t rounded = (bytes + 63) / 64 * 64;
  const size_t size = rounded == 0 ? 64 : rounded;
  const int64_t budget = memory_budget();
  const int64_t before = g_in_use.fetch_add(static_cast<int64_t>(size));
  if (static_cast<int64_t>(size) > budget - before) {
    g_in_use.fetch_sub(static_cast<int64_t>(size));
    fail_input("a tensor of shape ", shape_str(shape), " (", mb(static_cast<int64_t>(bytes)),
               ") would exceed the memory budget of ", mb(budget), " (", mb(before),
               " already held; --max-memory)");
  }
  auto out_of_memory = [&] {
    g_in_use.fetch_sub(static_cast<int64_t>(size));
    fail_input("out of memory allocating a tensor of shape ", shape_str(shape), " (",
               mb(static_cast<int64_t>(bytes)), ")");
  };
  if ((g_map_large > 0 && size >= kMapLargeBytes) || size >= kHugePage) {
    // A mapping of its own: zero pages, given back when freed. From 2 MiB it starts on a 2 MiB
    // boundary and asks for transparent huge pages, so that its whole huge pages fault in 512
    // pages at a time: a plan made as the model runs (detectors) allocates its tensors anew on
    // every run, and first touch of 4 KiB pages was half the time of Faster R-CNN's RoI
    // pooling's Expand and ConstantOfShape.
    const size_t align = size >= kHugePage ? kHugePage : 0;  // 0: where mmap puts it
    // Whole pages of the system's size (16 or 64 KiB on some arm64 kernels), so that the
    // trimmed head and tail below start on page boundaries.
    static const size_t sys_page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t length = (size + sys_page - 1) / sys_page * sys_page;
    void* m =
        ::mmap(nullptr, length + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) out_of_memory();
    char* p = static_cast<char*>(m);
    if (align) {  // the part before the boundary and the part after `length` go back
      char* aligned = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + align - 1) &
                                              ~uintptr_t{align - 1});
      if (aligned > p) ::munmap(p, static_cast<size_t>(aligned - p));
      const size_t tail = static_cast<size_t>(p + align - aligned);
      if (tail) ::munmap(aligned + length, tail);
      p = aligned;
      ::madvise(p, length / align * align, MADV_HUGEPAGE);  // advice: no error if refused
    }
    return std::shared_ptr<void>(p, [size, length](void* q) {
      ::munmap(q, length);
      g_in_use.fetch_sub(static_cast<int64_t>(size));
    });
  }
  void* p = std::aligned_alloc(64, size);
  if (!p) out_of_memory();
  std::memset(p, 0, size);
  return std::shared_ptr<void>(p, [size](void* q) {
    std::free(q);
    g_in_use.fetch_sub(static_cast<int64_t>(size));
  });
}

}  // namespace

MapLargeTensors::MapLargeTensors() { ++g_map_large; }
MapLargeTensors::~MapLargeTensors() { --g_map_large; }

void set_memory_budget(int64_t bytes) { g_budget = bytes > 0 ? bytes : 0; }

int64_t memory_budget() {
  static const int64_t available = available_memory();  // read once, thread-safe
  const int64_t b = g_budget.load();
  return b > 0 ? b : available;
}

int64_t tensor_bytes_in_use() { return g_in_use.load(); }

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  if (dtype_ == DType::kString) {
    strings_ = std::make_shared<std::vector<std::string>>(numel_);
    return;
  }
  const size_t es = dtype_size(dtype_);
  if (es && numel_ > static_cast<int64_t>(std::numeric_limits<int64_t>::max() / es))
    fail_input("tensor of shape ", shape_str(shape_), " is too large");
  storage_ = aligned_zeroed(nbytes(), shape_);
  data_ = storage_.get();
}

Tensor Tensor::view(DType dtype, Shape shape, void* data) {
  Tensor t = meta(dtype, std::move(shape));
  t.data_ = data;
  return t;
}

Tensor Tensor::adopt(DType dtype, Shape shape, std::shared_ptr<void> owner, void* data) {
  Tensor t = meta(dtype, std::move(shape));
  t.storage_ = std::move(owner);
  t.data_ = data;
  return t;
}

Tensor Tensor::meta(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  return t;
}

std::vector<std::string>& Tensor::strings() {
  if (!strings_) strings_ = std::make_shared<std::vector<std::string>>(numel_);
  return *strings_;
}

const std::vector<std::string>& Tensor::strings() const {
  static const std::vector<std::string> empty;
  return strings_ ? *strings_ : empty;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (dtype_ == DType::kString) {
    if (strings_) *t.strings_ = *strings_;
  } else if (data_ && nbytes()) {
    std::memcpy(t.data_, data_, nbytes());
  }
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  Tensor t = *this;
  t.numel_ = shape_numel(shape);
  if (t.numel_ != numel_)
    fail_input("cannot reshape ", shape_str(shape_), " to ", shape_str(shape));
  t.shape_ = std::move(shape);
  return t;
}

double Tensor::get_f64(int64_t i) const {
  switch (dtype_) {
    case DType::kF32:
      return data<float>()[i];
    case DType::kF64:
      return data<double>()[i];
    case DType::kF16:
      return f16_to_f32(data<uint16_t>()[i]);
    case DType::kBF16:
      return bf16_to_f32(data<uint16_t>()[i]);
    case DType::kU8:
      return data<uint8_t>()[i];
    case DType::kI8:
      return data<int8_t>()[i];
    case DType::kU16:
      return data<uint16_t>()[i];
    case DType::kI16:
      return data<int16_t>()[i];
    case DType::kI32:
      return data<int32_t>()[i];
    case DType::kI64:
      return static_cast<double>(data<int64_t>()[i]);
    case DType::kU32:
      return data<uint32_t>()[i];
    case DType::kU64:
      return static_cast<double>(data<uint64_t>()[i]);
    case DType::kBool:
      return data<uint8_t>()[i] ? 1.0 : 0.0;
    default:
      fail_unsupported("tensor of dtype ", dtype_name(dtype_), " is not numeric");
  }
}

int64_t Tensor::get_i64(int64_t i) const {
  switch (dtype_) {
    case DType::kI64:
      return data<int64_t>()[i];
    case DType::kI32:
      return data<int32_t>()[i];
    case DType::kU64:
      return static_cast<int64_t>(data<uint64_t>()[i]);
    default:
      return static_cast<int64_t>(get_f64(i));
  }
}

std::vector<int64_t> Tensor::to_i64_vector() const {
  std::vector<int64_t> v(numel_);
  for (int64_t i = 0; i < numel_; ++i) v[i] = get_i64(i);
  return v;
}

std::vector<float> Tensor::to_f32_vector() const {
  std::vector<float> v(numel_);
  for (int64_t i = 0; i < numel_; ++i) v[i] = static_cast<float>(get_f64(i));
  return v;
}

}  // namespace edgeopt
