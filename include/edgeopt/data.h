// Data: tensors in .npy/.npz files, and labelled datasets read batch by batch.
//
// Dataset SPEC strings (what `edgeopt eval --data SPEC` and friends accept):
//
//   SPEC    := SOURCE [ '?' OPTION ( '&' OPTION )* ]
//   SOURCE  := 'fashion-mnist' [ ':' SPLIT ]     the Debian package dataset-fashion-mnist
//                                                (/usr/share/datasets/fashion-mnist)
//            | 'mnist:' DIR [ ':' SPLIT ]        IDX files in DIR: {train,t10k}-images-idx3-ubyte
//                                                and -labels-idx1-ubyte ('.' instead of the
//                                                second '-' is accepted), each optionally .gz
//            | FILE.npz                          arrays 'x' (N, ...) and 'y' (N,) of integers;
//                                                'x' alone: unlabelled; or arrays named after
//                                                the model's inputs (one per input, the same N,
//                                                unlabelled)
//            | FILE.npy                          one array (N, ...), unlabelled
//            | DIR                               image folder: DIR/<class>/<image>; classes are
//                                                the sub-folder names sorted, label = index;
//                                                images directly in DIR (no sub-folders):
//                                                unlabelled; PNG, JPEG, BMP, GIF, TGA, PNM
//   SPLIT   := 'test' (default) | 'train'
//   OPTION  := 'size=' S          resize so that the shorter side is S (antialiased bilinear)
//            | 'crop=' C | 'crop=' H 'x' W     center crop after the resize
//            | 'channels=' 1|3  grayscale or RGB (default: 1 for IDX, 3 for image folders)
//            | 'scale=' F       multiply raw values by F (default 1/255 for 8-bit sources
//                               (IDX, images, u8 arrays), 1 for other arrays)
//            | 'mean=' a[,b,c]  then x = (x - mean[c]) / std[c] per channel (one value applies
//            | 'std=' a[,b,c]   to every channel); both or neither
//
// Examples: `fashion-mnist:test`, `mnist:/data/mnist:train`, `val.npz`,
// `photos?size=256&crop=224&mean=0.485,0.456,0.406&std=0.229,0.224,0.225`.
//
// Every dataset yields x as f32 N×C×H×W (npz: N × the stored sample shape) and y as i64 (N).
// Unlabelled data (calibration needs no labels) yields no y; eval and training refuse it.
// Images are decoded when their batch is read; only the small label arrays are held whole.
// Bad specs, missing files and inconsistent data throw Error (invalid input), one line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "edgeopt/tensor.h"

namespace edgeopt {

// ---- .npy / .npz -------------------------------------------------------------------------
// Supported dtypes: f16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, bool; little-endian,
// C order (fortran_order False). Anything else is refused with a message saying why.

Tensor load_npy(const std::filesystem::path& path);
// Serialized .npy (format 1.0, header padded so the data starts at a multiple of 64 bytes).
std::string npy_bytes(const Tensor& t);
void save_npy(const std::filesystem::path& path, const Tensor& t);
// Arrays of a .npz (zip of .npy; stored or deflated entries), in archive order, names without
// the ".npy" suffix.
std::vector<std::pair<std::string, Tensor>> load_npz(const std::filesystem::path& path);
// Writes an uncompressed .npz (what numpy.savez writes).
void save_npz(const std::filesystem::path& path,
              const std::vector<std::pair<std::string, Tensor>>& arrays);

// ---- preprocessing ------------------------------------------------------------------------

struct Preprocess {
  int64_t resize = 0;              // shorter side after resize; 0 keeps the size
  int64_t crop_h = 0, crop_w = 0;  // center crop; 0 keeps the size
  int channels = 0;                // 1 or 3; 0 = the source's default
  double scale = -1;               // < 0: the source's default (1/255 for 8-bit data)
  std::vector<float> mean, std;    // per channel, or one value for all; empty = none

  // Applies the spec to one 8-bit image of h×w×c (interleaved, c = 1 or 3, already converted
  // to `channels`) and writes channels×out_h×out_w floats to `out`. `default_scale` is used
  // when scale < 0.
  void apply(const uint8_t* hwc, int64_t h, int64_t w, int64_t c, double default_scale,
             float* out) const;
  // Output H, W for an input of h×w.
  std::pair<int64_t, int64_t> output_hw(int64_t h, int64_t w) const;
};

// ---- datasets -----------------------------------------------------------------------------

struct Batch {
  Tensor x;  // f32, N × sample_shape()
  Tensor y;  // i64, N; undefined for unlabelled data
  // The other inputs of a multi-input dataset (input_names()[1..]), f32, N × their sample shape.
  std::vector<Tensor> more;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Shape of one sample (C×H×W for images).
  virtual Shape sample_shape() const = 0;
  // Class names, index = label (derived "0", "1", ... when the source has none).
  // Empty for unlabelled data.
  virtual const std::vector<std::string>& class_names() const = 0;
  bool labelled() const { return !class_names().empty(); }
  // Model input each array feeds (an .npz of arrays named after the model's inputs), x's first;
  // empty when the data feeds the model's one input whatever its name.
  virtual std::vector<std::string> input_names() const { return {}; }
  // Sample shape of every array, in input_names() order (just sample_shape() when unnamed).
  virtual std::vector<Shape> input_shapes() const { return {sample_shape()}; }
  int64_t num_classes() const { return static_cast<int64_t>(class_names().size()); }
  // Samples [begin, begin + count); reading forward in order is the fast path.
  virtual Batch read(int64_t begin, int64_t count) = 0;
  // What the dataset is, for reports: "fashion-mnist test (10000 samples)".
  virtual std::string describe() const = 0;
};

// Opens a dataset from a SPEC (see the top of this file).
std::unique_ptr<Dataset> open_dataset(const std::string& spec);

// Throws Error (invalid input) naming the dataset and `what` ("eval") when it has no labels.
void require_labels(const Dataset& data, const std::string& what);

// Default folder of the Debian package dataset-fashion-mnist.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

}  // namespace edgeopt
