// Dataset from an .npz with arrays x (N, ...) and y (N,), from an .npz of unlabelled arrays
// (x alone, or one per model input) or from a .npy: arrays are streamed row by row from the
// file, y (small) is read whole.
#include <algorithm>
#include <cstring>

#include "data/byte_source.h"
#include "data/datasets.h"
#include "edgeopt/error.h"

namespace edgeopt::data {

namespace fs = std::filesystem;

namespace {

// Element i of raw little-endian data of element type T (unaligned, hence the copy).
template <class T>
T load(const uint8_t* p, int64_t i) {
  T v;
  std::memcpy(&v, p + sizeof(T) * i, sizeof(T));
  return v;
}

// Element i of raw little-endian data of dtype t, as double.
double element(const uint8_t* p, DType t, int64_t i) {
  switch (t) {
    case DType::kF32:
      return load<float>(p, i);
    case DType::kF64:
      return load<double>(p, i);
    case DType::kF16:
      return f16_to_f32(load<uint16_t>(p, i));
    case DType::kU8:
      return p[i];
    case DType::kBool:
      return p[i] != 0;
    case DType::kI8:
      return static_cast<int8_t>(p[i]);
    case DType::kI16:
      return load<int16_t>(p, i);
    case DType::kU16:
      return load<uint16_t>(p, i);
    case DType::kI32:
      return load<int32_t>(p, i);
    case DType::kU32:
      return load<uint32_t>(p, i);
    case DType::kI64:
      return static_cast<double>(load<int64_t>(p, i));
    case DType::kU64:
      return static_cast<double>(load<uint64_t>(p, i));
    default:
      fail_unsupported("dtype ", dtype_name(t), " as dataset input");
  }
}

// One array streamed row by row: x of a labelled .npz, or one model input.
struct Stream {
  std::string name;  // array name without ".npy"
  std::unique_ptr<ByteSource> src;
  NpyHeader header;
  Shape sample;  // header.shape without the leading N
  int64_t per = 0;
};

Stream open_stream(std::string name, std::unique_ptr<ByteSource> src, const std::string& where) {
  Stream s{std::move(name), std::move(src), {}, {}, 0};
  s.header = read_npy_header(*s.src);
  if (s.header.shape.empty())
    fail_input(where, ": array '", s.name, "' must have a leading sample dimension");
  s.sample.assign(s.header.shape.begin() + 1, s.header.shape.end());
  s.per = shape_numel(s.sample);
  return s;
}

class NpzDataset : public Dataset {
 public:
  // An .npz: x and y (labelled), or arrays that are all inputs (unlabelled).
  NpzDataset(const fs::path& path, const Preprocess& pre) : pre_(pre), name_(path.string()) {
    check_preprocess();
    const std::vector<ZipEntry> entries = zip_entries(path);
    const ZipEntry* xe = nullptr;
    const ZipEntry* ye = nullptr;
    for (const ZipEntry& e : entries) {
      if (e.name == "x.npy") xe = &e;
      if (e.name == "y.npy") ye = &e;
    }
    if (ye && !xe) fail_input(name_, ": has labels 'y' but no array 'x' of samples");
    if (xe && ye) {
      streams_.push_back(open_stream("x", open_zip_entry(path, *xe), name_));
      read_labels(open_zip_entry(path, *ye));
    } else {
      for (const ZipEntry& e : entries) {
        const size_t dot = e.name.rfind(".npy");
        if (dot == std::string::npos || dot + 4 != e.name.size())
          fail_input(name_, ": entry '", e.name, "' is not an .npy array");
        streams_.push_back(open_stream(e.name.substr(0, dot), open_zip_entry(path, e), name_));
      }
      if (streams_.empty()) fail_input(name_, ": the .npz holds no arrays");
      // Several arrays feed the model's inputs of the same names; one feeds the only input.
      named_ = streams_.size() > 1;
    }
    finish();
  }
  // A .npy: one unlabelled array.
  NpzDataset(const fs::path& path, const Preprocess& pre, bool /*npy*/)
      : pre_(pre), name_(path.string()) {
    check_preprocess();
    streams_.push_back(open_stream(path.stem().string(), open_file_source(path), name_));
    finish();
  }

  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return streams_[0].sample; }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::vector<std::string> input_names() const override {
    std::vector<std::string> out;
    if (named_)
      for (const Stream& s : streams_) out.push_back(s.name);
    return out;
  }
  std::vector<Shape> input_shapes() const override {
    std::vector<Shape> out;
    for (const Stream& s : streams_) out.push_back(s.sample);
    return out;
  }
  std::string describe() const override {
    std::string arrays;
    if (named_)
      for (const Stream& s : streams_) arrays += ", " + s.name + " " + shape_str(s.sample);
    else
      arrays = ", " + shape_str(streams_[0].sample);
    return name_ + " (" + std::to_string(n_) + " samples" + arrays +
           (labels_.empty() ? ", unlabelled)" : ")");
  }

  Batch read(int64_t begin, int64_t count) override {
    if (begin < 0 || count < 0 || begin > n_ || count > n_ - begin)
      fail_input(name_, ": samples [", begin, ", ", begin + count, ") out of range (", n_, ")");
    Batch b;
    b.x = read_stream(streams_[0], begin, count);
    for (size_t k = 1; k < streams_.size(); ++k)
      b.more.push_back(read_stream(streams_[k], begin, count));
    if (!labels_.empty()) {
      b.y = Tensor(DType::kI64, {count});
      for (int64_t i = 0; i < count; ++i) b.y.data<int64_t>()[i] = labels_[begin + i];
    }
    return b;
  }

 private:
  void check_preprocess() const {
    if (pre_.resize > 0 || pre_.crop_h > 0 || pre_.channels > 0)
      fail_unsupported(name_,
                       ": size=, crop= and channels= apply to images (IDX, image "
                       "folders), not to .npy/.npz arrays");
  }

  void read_labels(std::unique_ptr<ByteSource> ys) {
    const Tensor y = read_npy(*ys);
    if (y.rank() != 1 && !(y.rank() == 2 && y.dim(1) == 1))
      fail_input(name_, ": y must have shape (N,), got ", shape_str(y.shape()));
    if (dtype_is_float(y.dtype()) || y.dtype() == DType::kBool)
      fail_input(name_, ": y must hold integer class labels, got ", dtype_name(y.dtype()));
    if (y.dim(0) != streams_[0].header.shape[0])
      fail_input(name_, ": x has ", streams_[0].header.shape[0], " samples but y has ", y.dim(0));
    labels_ = y.to_i64_vector();
    int64_t max_label = -1;
    for (int64_t l : labels_) {
      if (l < 0) fail_input(name_, ": negative label ", l, " in y");
      max_label = std::max(max_label, l);
    }
    // One name per class is made: a stray huge label must not make billions of them.
    constexpr int64_t kMaxClasses = int64_t{1} << 20;
    if (max_label >= kMaxClasses)
      fail_input(name_, ": label ", max_label, " in y (at most ", kMaxClasses, " classes)");
    names_ = numbered_classes(max_label + 1);
  }

  void finish() {
    n_ = streams_[0].header.shape[0];
    for (const Stream& s : streams_)
      if (s.header.shape[0] != n_)
        fail_input(name_, ": array '", s.name, "' has ", s.header.shape[0], " samples but '",
                   streams_[0].name, "' has ", n_, " (every input needs the same first dim)");
    const size_t nmean = pre_.mean.size();
    for (const Stream& s : streams_)
      if (nmean > 1 && (s.sample.empty() || s.sample[0] != static_cast<int64_t>(nmean)))
        fail_input(name_, ": ", nmean, " mean/std values but samples of '", s.name, "' are ",
                   shape_str(s.sample), " (channels = dim 1 of the array)");
  }

  Tensor read_stream(Stream& s, int64_t begin, int64_t count) const {
    const size_t es = dtype_size(s.header.dtype);
    std::vector<uint8_t> raw(static_cast<size_t>(count * s.per) * es);
    s.src->read_at(s.header.data_offset + static_cast<uint64_t>(begin * s.per) * es, raw.data(),
                   raw.size());
    Shape xs = s.sample;
    xs.insert(xs.begin(), count);
    Tensor x(DType::kF32, xs);
    float* out = x.data<float>();
    // 8-bit pixels are scaled to [0, 1] by default, like the image sources.
    const double default_scale = s.header.dtype == DType::kU8 ? 1.0 / 255.0 : 1.0;
    const double sc = pre_.scale >= 0 ? pre_.scale : default_scale;
    const int64_t channels = pre_.mean.size() > 1 ? s.sample[0] : 1;
    const int64_t plane = channels > 0 ? s.per / channels : s.per;
    for (int64_t i = 0; i < count * s.per; ++i) {
      double v = element(raw.data(), s.header.dtype, i) * sc;
      if (!pre_.mean.empty()) {
        // x' = (x * scale - mean[c]) / std[c], c the index along the sample's first dim.
        const size_t c = pre_.mean.size() == 1 ? 0 : static_cast<size_t>((i % s.per) / plane);
        v = (v - pre_.mean[c]) / pre_.std[c];
      }
      out[i] = static_cast<float>(v);
    }
    return x;
  }

  Preprocess pre_;
  std::string name_;
  std::vector<Stream> streams_;
  bool named_ = false;
  int64_t n_ = 0;
  std::vector<int64_t> labels_;
  std::vector<std::string> names_;
};

}  // namespace

std::unique_ptr<Dataset> open_npz_dataset(const fs::path& path, const Preprocess& pre) {
  return std::make_unique<NpzDataset>(path, pre);
}

std::unique_ptr<Dataset> open_npy_dataset(const fs::path& path, const Preprocess& pre) {
  return std::make_unique<NpzDataset>(path, pre, true);
}

}  // namespace edgeopt::data
