// MNIST-style IDX files: magic (0, 0, type, ndim), ndim big-endian u32 dims, then the raw
// elements. Images are 8-bit (type 0x08), N×rows×cols; labels are 8-bit, N.
#include <algorithm>

#include "data/byte_source.h"
#include "data/datasets.h"
#include "edgeopt/error.h"

namespace edgeopt::data {

namespace fs = std::filesystem;

namespace {

struct IdxHeader {
  Shape dims;
  uint64_t data_offset = 0;
};

IdxHeader read_idx_header(ByteSource& src, int want_ndim) {
  unsigned char m[4];
  try {
    src.read_at(0, m, 4);
  } catch (const Error&) {
    fail_input(src.name(), ": not an IDX file (too short)");
  }
  if (m[0] != 0 || m[1] != 0) fail_input(src.name(), ": not an IDX file (bad magic)");
  if (m[2] != 0x08)
    fail_unsupported(src.name(), ": IDX element type ", int(m[2]),
                     " (only unsigned bytes, type 8, are supported)");
  if (m[3] != want_ndim)
    fail_input(src.name(), ": IDX file has ", int(m[3]), " dimensions, expected ", want_ndim);
  IdxHeader h;
  std::vector<unsigned char> d(4 * m[3]);
  src.read_at(4, d.data(), d.size());
  for (int i = 0; i < m[3]; ++i)
    h.dims.push_back((int64_t{d[4 * i]} << 24) | (d[4 * i + 1] << 16) | (d[4 * i + 2] << 8) |
                     d[4 * i + 3]);
  h.data_offset = 4 + d.size();
  return h;
}

// Largest image edgeopt reads from IDX (far above any IDX data set: MNIST is 28x28).
constexpr int64_t kMaxPixels = int64_t{1} << 28;

// Fails when a source of known size cannot hold `bytes` at `offset` (what its header declares).
void check_backed(ByteSource& src, uint64_t offset, uint64_t bytes, int64_t count,
                  const char* what) {
  const uint64_t size = src.size();
  if (size == UINT64_MAX) return;  // compressed: reads fail where the data ends
  if (offset > size || bytes > size - offset)
    fail_input(src.name(), ": header declares ", count, " ", what, " (", bytes,
               " bytes) but the file holds ", size > offset ? size - offset : 0);
}

// First existing file among the usual spellings: "t10k-images-idx3-ubyte",
// "t10k-images.idx3-ubyte", each optionally gzip-compressed.
fs::path find_idx_file(const fs::path& dir, const std::string& prefix, const std::string& kind,
                       const std::string& idx) {
  std::vector<fs::path> tried;
  for (const char* sep : {"-", "."})
    for (const char* ext : {".gz", ""}) {
      fs::path p = dir / (prefix + "-" + kind + sep + idx + "-ubyte" + ext);
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p;
      tried.push_back(p);
    }
  fail_input("no ", kind, " file ", tried.front().string(), " (or ",
             tried.back().filename().string(), ") in ", dir.string());
}

class IdxDataset : public Dataset {
 public:
  IdxDataset(const fs::path& dir, bool train, const Preprocess& pre, const std::string& title,
             std::vector<std::string> names)
      : pre_(pre), title_(title + (train ? " train" : " test")) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail_input(title, ": no such folder ", dir.string());
    const std::string prefix = train ? "train" : "t10k";
    images_ = open_gzip_source(find_idx_file(dir, prefix, "images", "idx3"));
    auto labels_src = open_gzip_source(find_idx_file(dir, prefix, "labels", "idx1"));
    const IdxHeader ih = read_idx_header(*images_, 3);
    const IdxHeader lh = read_idx_header(*labels_src, 1);
    if (ih.dims[0] != lh.dims[0])
      fail_input(title_, ": ", ih.dims[0], " images but ", lh.dims[0], " labels");
    n_ = ih.dims[0];
    rows_ = ih.dims[1];
    cols_ = ih.dims[2];
    if (rows_ <= 0 || cols_ <= 0) fail_input(images_->name(), ": empty images");
    // Dims are u32 each: bound one image before any product is formed or allocated.
    if (rows_ > kMaxPixels / cols_)
      fail_input(images_->name(), ": images of ", rows_, "x", cols_, " pixels (over ", kMaxPixels,
                 " per image)");
    image_offset_ = ih.data_offset;
    // The header's counts must be backed by the files before anything is sized from them.
    check_backed(*images_, image_offset_, static_cast<uint64_t>(n_) * rows_ * cols_, n_, "images");
    check_backed(*labels_src, lh.data_offset, static_cast<uint64_t>(n_), n_, "labels");
    // Labels are one byte per sample: small enough to hold whole. Read in slices, so that a
    // compressed file (whose size is known only once inflated) that lies about its count fails
    // before it has been allocated for.
    constexpr int64_t kSlice = int64_t{1} << 20;
    for (int64_t at = 0; at < n_; at += kSlice) {
      const int64_t len = std::min(kSlice, n_ - at);
      labels_.resize(static_cast<size_t>(at + len));
      labels_src->read_at(lh.data_offset + at, labels_.data() + at, static_cast<size_t>(len));
    }
    const int64_t max_label = n_ ? *std::max_element(labels_.begin(), labels_.end()) : int64_t{-1};
    if (names.empty()) names = numbered_classes(std::max<int64_t>(10, max_label + 1));
    if (max_label >= static_cast<int64_t>(names.size()))
      fail_input(labels_src->name(), ": label ", max_label, " out of range for ", names.size(),
                 " classes");
    names_ = std::move(names);
    channels_ = pre_.channels ? pre_.channels : 1;
    const auto [oh, ow] = pre_.output_hw(rows_, cols_);
    shape_ = {channels_, oh, ow};
  }

  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return shape_; }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string describe() const override {
    return title_ + " (" + std::to_string(n_) + " samples, " + shape_str(shape_) + ")";
  }

  Batch read(int64_t begin, int64_t count) override {
    if (begin < 0 || count < 0 || begin > n_ || count > n_ - begin)
      fail_input(title_, ": samples [", begin, ", ", begin + count, ") out of range (", n_, ")");
    const int64_t pixels = rows_ * cols_;
    std::vector<uint8_t> raw(static_cast<size_t>(count * pixels));
    images_->read_at(image_offset_ + static_cast<uint64_t>(begin * pixels), raw.data(), raw.size());
    Shape xs = shape_;
    xs.insert(xs.begin(), count);
    Batch b;
    b.x = Tensor(DType::kF32, xs);
    b.y = Tensor(DType::kI64, {count});
    const int64_t per = shape_numel(shape_);
    std::vector<uint8_t> rgb;
    for (int64_t i = 0; i < count; ++i) {
      const uint8_t* img = raw.data() + i * pixels;
      if (channels_ == 3) {
        // Grayscale replicated into three channels (interleaved HWC).
        rgb.resize(pixels * 3);
        for (int64_t p = 0; p < pixels; ++p) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = img[p];
        img = rgb.data();
      }
      pre_.apply(img, rows_, cols_, channels_, 1.0 / 255.0, b.x.data<float>() + i * per);
      b.y.data<int64_t>()[i] = labels_[begin + i];
    }
    return b;
  }

 private:
  Preprocess pre_;
  std::string title_;
  std::unique_ptr<ByteSource> images_;
  uint64_t image_offset_ = 0;
  int64_t n_ = 0, rows_ = 0, cols_ = 0, channels_ = 1;
  std::vector<uint8_t> labels_;
  std::vector<std::string> names_;
  Shape shape_;
};

}  // namespace

std::vector<std::string> numbered_classes(int64_t n) {
  std::vector<std::string> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(std::to_string(i));
  return v;
}

std::unique_ptr<Dataset> open_idx_dataset(const fs::path& dir, bool train, const Preprocess& pre,
                                          const std::string& title,
                                          std::vector<std::string> class_names) {
  return std::make_unique<IdxDataset>(dir, train, pre, title, std::move(class_names));
}

}  // namespace edgeopt::data
