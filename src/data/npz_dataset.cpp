// Dataset from an .npz with arrays x (N, ...) and y (N,): x is streamed row by row from the
// archive, y (small) is read whole.
#include <algorithm>
#include <cstring>

#include "data/byte_source.h"
#include "data/datasets.h"
#include "edgeopt/error.h"

namespace edgeopt::data {

namespace fs = std::filesystem;

namespace {

// Element i of raw little-endian data of dtype t, as double.
double element(const uint8_t* p, DType t, int64_t i) {
  switch (t) {
    case DType::kF32: {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      return v;
    }
    case DType::kF64: {
      double v;
      std::memcpy(&v, p + 8 * i, 8);
      return v;
    }
    case DType::kF16: {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      return f16_to_f32(v);
    }
    case DType::kU8:
      return p[i];
    case DType::kBool:
      return p[i] != 0;
    case DType::kI8:
      return static_cast<int8_t>(p[i]);
    case DType::kI16: {
      int16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      return v;
    }
    case DType::kU16: {
      uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      return v;
    }
    case DType::kI32: {
      int32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      return v;
    }
    case DType::kU32: {
      uint32_t v;
      std::memcpy(&v, p + 4 * i, 4);
      return v;
    }
    case DType::kI64: {
      int64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      return static_cast<double>(v);
    }
    case DType::kU64: {
      uint64_t v;
      std::memcpy(&v, p + 8 * i, 8);
      return static_cast<double>(v);
    }
    default:
      fail_unsupported("dtype ", dtype_name(t), " as dataset input");
  }
}

class NpzDataset : public Dataset {
 public:
  NpzDataset(const fs::path& path, const Preprocess& pre) : pre_(pre), name_(path.string()) {
    if (pre.resize > 0 || pre.crop_h > 0 || pre.channels > 0)
      fail_unsupported(name_,
                       ": size=, crop= and channels= apply to images (IDX, image "
                       "folders), not to .npz arrays");
    const ZipEntry* xe = nullptr;
    const ZipEntry* ye = nullptr;
    entries_ = zip_entries(path);
    for (const ZipEntry& e : entries_) {
      if (e.name == "x.npy") xe = &e;
      if (e.name == "y.npy") ye = &e;
    }
    if (!xe || !ye) {
      std::string have;
      for (const ZipEntry& e : entries_) have += (have.empty() ? "" : ", ") + e.name;
      fail_input(name_, ": a dataset .npz needs arrays 'x' and 'y' (has: ",
                 have.empty() ? "nothing" : have, ")");
    }
    x_ = open_zip_entry(path, *xe);
    x_header_ = read_npy_header(*x_);
    if (x_header_.shape.empty()) fail_input(name_, ": x must have a leading sample dimension");
    // 8-bit pixels are scaled to [0, 1] by default, like the image sources.
    default_scale_ = x_header_.dtype == DType::kU8 ? 1.0 / 255.0 : 1.0;
    auto ys = open_zip_entry(path, *ye);
    const Tensor y = read_npy(*ys);
    if (y.rank() != 1 && !(y.rank() == 2 && y.dim(1) == 1))
      fail_input(name_, ": y must have shape (N,), got ", shape_str(y.shape()));
    if (dtype_is_float(y.dtype()) || y.dtype() == DType::kBool)
      fail_input(name_, ": y must hold integer class labels, got ", dtype_name(y.dtype()));
    n_ = x_header_.shape[0];
    if (y.dim(0) != n_) fail_input(name_, ": x has ", n_, " samples but y has ", y.dim(0));
    labels_ = y.to_i64_vector();
    int64_t max_label = -1;
    for (int64_t l : labels_) {
      if (l < 0) fail_input(name_, ": negative label ", l, " in y");
      max_label = std::max(max_label, l);
    }
    names_ = numbered_classes(max_label + 1);
    shape_.assign(x_header_.shape.begin() + 1, x_header_.shape.end());
    per_ = shape_numel(shape_);
    const size_t nmean = pre_.mean.size();
    if (nmean > 1 && (shape_.empty() || shape_[0] != static_cast<int64_t>(nmean)))
      fail_input(name_, ": ", nmean, " mean/std values but samples of shape ", shape_str(shape_),
                 " (channels = dim 1 of x)");
  }

  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return shape_; }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string describe() const override {
    return name_ + " (" + std::to_string(n_) + " samples, " + shape_str(shape_) + ")";
  }

  Batch read(int64_t begin, int64_t count) override {
    if (begin < 0 || count < 0 || begin > n_ || count > n_ - begin)
      fail_input(name_, ": samples [", begin, ", ", begin + count, ") out of range (", n_, ")");
    const size_t es = dtype_size(x_header_.dtype);
    std::vector<uint8_t> raw(static_cast<size_t>(count * per_) * es);
    x_->read_at(x_header_.data_offset + static_cast<uint64_t>(begin * per_) * es, raw.data(),
                raw.size());
    Shape xs = shape_;
    xs.insert(xs.begin(), count);
    Batch b{Tensor(DType::kF32, xs), Tensor(DType::kI64, {count})};
    float* out = b.x.data<float>();
    const double sc = pre_.scale >= 0 ? pre_.scale : default_scale_;
    const int64_t channels = pre_.mean.size() > 1 ? shape_[0] : 1;
    const int64_t plane = channels > 0 ? per_ / channels : per_;
    for (int64_t i = 0; i < count * per_; ++i) {
      double v = element(raw.data(), x_header_.dtype, i) * sc;
      if (!pre_.mean.empty()) {
        // x' = (x * scale - mean[c]) / std[c], c the index along the sample's first dim.
        const size_t c = pre_.mean.size() == 1 ? 0 : static_cast<size_t>((i % per_) / plane);
        v = (v - pre_.mean[c]) / pre_.std[c];
      }
      out[i] = static_cast<float>(v);
    }
    for (int64_t i = 0; i < count; ++i) b.y.data<int64_t>()[i] = labels_[begin + i];
    return b;
  }

 private:
  Preprocess pre_;
  std::string name_;
  std::vector<ZipEntry> entries_;
  std::unique_ptr<ByteSource> x_;
  NpyHeader x_header_;
  double default_scale_ = 1.0;
  int64_t n_ = 0, per_ = 0;
  std::vector<int64_t> labels_;
  std::vector<std::string> names_;
  Shape shape_;
};

}  // namespace

std::unique_ptr<Dataset> open_npz_dataset(const fs::path& path, const Preprocess& pre) {
  return std::make_unique<NpzDataset>(path, pre);
}

}  // namespace edgeopt::data
