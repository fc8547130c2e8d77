// A Dataset over numpy arrays held in memory: what edgeopt.quantize's Python calibration reader
// (an iterable of batches, see python/edgeopt/__init__.py) is gathered into. It reads like the
// .npz dataset of the same arrays: one array feeds the model's only input whatever its name,
// several feed the inputs they are named after; unlabelled.
#include <cstring>

#include "bindings.h"
#include "edgeopt/error.h"

namespace edgeopt::python {
namespace {

class ArrayDataset : public Dataset {
 public:
  ArrayDataset(std::vector<std::string> names, std::vector<Tensor> arrays)
      : names_(std::move(names)), arrays_(std::move(arrays)) {}

  int64_t size() const override { return arrays_[0].dim(0); }
  Shape sample_shape() const override { return sample(0); }
  const std::vector<std::string>& class_names() const override { return no_classes_; }
  std::vector<std::string> input_names() const override {
    return names_.size() > 1 ? names_ : std::vector<std::string>{};
  }
  std::vector<Shape> input_shapes() const override {
    std::vector<Shape> out;
    for (size_t i = 0; i < arrays_.size(); ++i) out.push_back(sample(i));
    return out;
  }
  Batch read(int64_t begin, int64_t count) override {
    if (begin < 0 || count < 0 || begin > size() || count > size() - begin)
      fail_input(describe(), ": samples [", begin, ", ", begin + count, ") out of range");
    Batch b;
    for (size_t i = 0; i < arrays_.size(); ++i) {
      Shape shape = arrays_[i].shape();
      shape[0] = count;
      Tensor t(DType::kF32, shape);
      const size_t row = static_cast<size_t>(shape_numel(sample(i))) * sizeof(float);
      std::memcpy(t.raw(), arrays_[i].data<float>() + begin * (row / sizeof(float)), count * row);
      if (i == 0)
        b.x = std::move(t);
      else
        b.more.push_back(std::move(t));
    }
    return b;
  }
  std::string describe() const override {
    std::string arrays;
    for (size_t i = 0; i < arrays_.size(); ++i)
      arrays += ", " + (names_.size() > 1 ? names_[i] + " " : "") + shape_str(sample(i));
    return "Python calibration data (" + std::to_string(size()) + " samples" + arrays + ")";
  }

 private:
  Shape sample(size_t i) const {
    const Shape& s = arrays_[i].shape();
    return Shape(s.begin() + 1, s.end());
  }

  std::vector<std::string> names_;
  std::vector<Tensor> arrays_;  // f32, N × sample shape, owned copies
  std::vector<std::string> no_classes_;
};

Tensor float_samples(const py::handle& obj, const std::string& what) {
  const py::array a = contiguous_array(obj, what);
  if (array_dtype(a, what) != DType::kF32)
    fail_input(what, ": calibration arrays must be float32, got ",
               py::str(a.dtype().attr("name")).cast<std::string>(),
               " (scale and convert them as the model expects)");
  if (a.ndim() < 1 || a.shape(0) < 1) fail_input(what, ": needs a leading dim of samples >= 1");
  // A copy: the dataset outlives the Python call that gathered the arrays.
  return tensor_view(a, what).clone();
}

}  // namespace

std::unique_ptr<Dataset> array_dataset(const py::object& arrays) {
  std::vector<std::string> names;
  std::vector<Tensor> tensors;
  if (py::isinstance<py::dict>(arrays)) {
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(arrays)) {
      names.push_back(py::str(k).cast<std::string>());
      tensors.push_back(float_samples(v, "calibration array '" + names.back() + "'"));
    }
    if (tensors.empty()) fail_input("calibration data: no arrays");
    for (size_t i = 1; i < tensors.size(); ++i)
      if (tensors[i].dim(0) != tensors[0].dim(0))
        fail_input("calibration data: array '", names[i], "' has ", tensors[i].dim(0),
                   " samples, '", names[0], "' has ", tensors[0].dim(0));
  } else {
    names.push_back("x");
    tensors.push_back(float_samples(arrays, "calibration data"));
  }
  return std::make_unique<ArrayDataset>(std::move(names), std::move(tensors));
}

}  // namespace edgeopt::python
