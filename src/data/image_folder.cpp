// Image folder dataset: DIR/<class>/**/<image>, classes sorted by name (label = index),
// images sorted by path within a class; or DIR/<image> without labels when DIR has no
// sub-folders. Images are decoded (stb_image) when read.
#include <stb/stb_image.h>

#include <algorithm>
#include <cctype>

#include "data/datasets.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/tensor.h"

namespace edgeopt::data {

namespace fs = std::filesystem;

namespace {

bool is_image(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* e : {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga", ".pgm", ".ppm", ".pnm"})
    if (ext == e) return true;
  return false;
}

bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

struct Image {
  std::unique_ptr<uint8_t, void (*)(void*)> pixels{nullptr, stbi_image_free};
  int h = 0, w = 0;
};

// Largest image edgeopt decodes or produces: 64 Mpixel (8192 x 8192). A few bytes of PNG or
// GIF can declare a 65535 x 65535 image; its size is checked before anything is allocated.
constexpr int64_t kMaxPixels = int64_t{1} << 26;

void check_pixels(const std::string& name, int64_t h, int64_t w, const char* what) {
  if (h <= 0 || w <= 0 || h > kMaxPixels / w)
    fail_input(name, ": ", what, " of ", w, "x", h, " pixels (at most ", kMaxPixels,
               " pixels per image)");
}

// Width and height from the image's header, after the checks that must precede decoding.
std::pair<int, int> probe(const std::string& bytes, const std::string& name) {
  check_image_bytes(bytes, name);
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                             static_cast<int>(bytes.size()), &w, &h, &n))
    fail_input(name, ": cannot decode image (", stbi_failure_reason(), ")");
  check_pixels(name, h, w, "image");
  // Decoding holds the pixels (at most 4 bytes each) and, for PNG, as much again for the
  // filtered rows: that much must fit in the memory budget (--max-memory) before stb allocates.
  const int64_t decode_bytes = int64_t{8} * w * h;
  if (decode_bytes > memory_budget() - tensor_bytes_in_use())
    fail_input(name, ": decoding an image of ", w, "x", h, " pixels needs up to ",
               decode_bytes >> 20, " MiB, more than the memory budget leaves (--max-memory)");
  return {w, h};
}

Image decode(const fs::path& path, int channels) {
  const std::string bytes = read_file(path);
  probe(bytes, path.string());
  Image im;
  int n = 0;
  im.pixels.reset(stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()),
                                        static_cast<int>(bytes.size()), &im.w, &im.h, &n,
                                        channels));
  if (!im.pixels) fail_input(path.string(), ": cannot decode image (", stbi_failure_reason(), ")");
  return im;
}

class ImageFolder : public Dataset {
 public:
  ImageFolder(const fs::path& dir, const Preprocess& pre) : pre_(pre), dir_(dir.string()) {
    std::vector<fs::path> classes;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && !hidden(e.path())) classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    if (classes.empty()) {
      // No class sub-folders: the images in DIR itself, unlabelled (calibration data).
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && !hidden(e.path()) && is_image(e.path()))
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (fs::path& f : files) samples_.push_back({std::move(f), -1});
      if (samples_.empty())
        fail_input(dir_, ": no images (png, jpg, bmp, ...) and no class sub-folders");
    }
    for (size_t c = 0; c < classes.size(); ++c) {
      names_.push_back(classes[c].filename().string());
      std::vector<fs::path> files;
      for (const auto& e : fs::recursive_directory_iterator(classes[c]))
        if (e.is_regular_file() && !hidden(e.path()) && is_image(e.path()))
          files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (fs::path& f : files) samples_.push_back({std::move(f), static_cast<int64_t>(c)});
    }
    if (samples_.empty()) fail_input(dir_, ": no images (png, jpg, bmp, ...) in its sub-folders");
    channels_ = pre_.channels ? pre_.channels : 3;
    // The first image fixes the size when no resize/crop is given.
    const std::string first = samples_[0].path.string();
    const auto [w, h] = probe(read_file(samples_[0].path), first);
    const auto [oh, ow] = pre_.output_hw(h, w);
    // What a model is fed is far smaller than a photo: 16 Mpixel (4096 x 4096) at most.
    if (oh <= 0 || ow <= 0 || oh > (kMaxPixels / 4) / ow)
      fail_input(dir_, ": preprocessed images of ", ow, "x", oh, " pixels (at most ",
                 kMaxPixels / 4, " pixels; check size= and crop=)");
    shape_ = {channels_, oh, ow};
  }

  int64_t size() const override { return static_cast<int64_t>(samples_.size()); }
  Shape sample_shape() const override { return shape_; }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string describe() const override {
    const std::string classes =
        names_.empty() ? "unlabelled" : std::to_string(names_.size()) + " classes";
    return dir_ + " (" + std::to_string(samples_.size()) + " images, " + classes + ", " +
           shape_str(shape_) + ")";
  }

  Batch read(int64_t begin, int64_t count) override {
    if (begin < 0 || count < 0 || begin > size() || count > size() - begin)
      fail_input(dir_, ": samples [", begin, ", ", begin + count, ") out of range (", size(), ")");
    Shape xs = shape_;
    xs.insert(xs.begin(), count);
    Batch b;
    b.x = Tensor(DType::kF32, xs);
    if (!names_.empty()) b.y = Tensor(DType::kI64, {count});
    const int64_t per = shape_numel(shape_);
    for (int64_t i = 0; i < count; ++i) {
      const Sample& s = samples_[begin + i];
      const Image im = decode(s.path, static_cast<int>(channels_));
      std::pair<int64_t, int64_t> hw;
      try {
        hw = pre_.output_hw(im.h, im.w);
      } catch (const Error& e) {
        fail_input(s.path.string(), ": ", e.what());
      }
      if (hw != std::pair<int64_t, int64_t>{shape_[1], shape_[2]})
        fail_input(s.path.string(), ": image is ", im.h, "x", im.w, ", unlike the first (",
                   shape_[1], "x", shape_[2],
                   "); add ?size=S&crop=C to the dataset spec to bring images to one size");
      pre_.apply(im.pixels.get(), im.h, im.w, channels_, 1.0 / 255.0, b.x.data<float>() + i * per);
      if (b.y.defined()) b.y.data<int64_t>()[i] = s.label;
    }
    return b;
  }

 private:
  struct Sample {
    fs::path path;
    int64_t label;
  };
  Preprocess pre_;
  std::string dir_;
  std::vector<std::string> names_;
  std::vector<Sample> samples_;
  int64_t channels_ = 3;
  Shape shape_;
};

}  // namespace

std::unique_ptr<Dataset> open_image_folder(const fs::path& dir, const Preprocess& pre) {
  return std::make_unique<ImageFolder>(dir, pre);
}

}  // namespace edgeopt::data
