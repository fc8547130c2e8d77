// edgeopt.InferenceSession: onnxruntime.InferenceSession's call shape over edgeopt::Session.
//
//   sess = edgeopt.InferenceSession("model.onnx", providers=None, threads=1)
//   sess.get_inputs()[0].name, .shape, .type     # NodeArg, as ORT's
//   outputs = sess.run(None, {"input": x})        # list of numpy arrays
//
// Copies: a C-contiguous, aligned numpy input of the model's dtype is viewed in place (no copy);
// any other input is copied once into a contiguous array. Outputs are handed to numpy without a
// copy (the array owns the session's freshly allocated output tensor). The GIL is released
// while the model loads and runs.
#include "edgeopt/session.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "bindings.h"
#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"

namespace edgeopt::python {
namespace {

// ORT's type string of a tensor element type: "tensor(float)".
std::string ort_type(const ValueInfo& v) {
  if (!v.raw_type.empty()) return "unknown";
  switch (v.dtype) {
    case DType::kF32:
      return "tensor(float)";
    case DType::kF64:
      return "tensor(double)";
    case DType::kF16:
      return "tensor(float16)";
    case DType::kBF16:
      return "tensor(bfloat16)";
    case DType::kU8:
      return "tensor(uint8)";
    case DType::kI8:
      return "tensor(int8)";
    case DType::kU16:
      return "tensor(uint16)";
    case DType::kI16:
      return "tensor(int16)";
    case DType::kU32:
      return "tensor(uint32)";
    case DType::kI32:
      return "tensor(int32)";
    case DType::kU64:
      return "tensor(uint64)";
    case DType::kI64:
      return "tensor(int64)";
    case DType::kBool:
      return "tensor(bool)";
    case DType::kString:
      return "tensor(string)";
    default:
      return "tensor(undefined)";
  }
}

// What get_inputs() / get_outputs() return, as ORT's NodeArg: name, shape (int for a static
// dim, str for a symbolic one, None for an unknown one; None when the rank is unknown), type.
struct NodeArg {
  std::string name;
  py::object shape;
  std::string type;
};

NodeArg node_arg(const ValueInfo& v) {
  NodeArg a{v.name, py::none(), ort_type(v)};
  if (v.has_shape) {
    py::list dims;
    for (const Dim& d : v.dims) {
      if (d.is_static())
        dims.append(d.value);
      else if (!d.param.empty())
        dims.append(d.param);
      else
        dims.append(py::none());
    }
    a.shape = std::move(dims);
  }
  return a;
}

Model load(const py::object& path_or_bytes) {
  if (py::isinstance<py::bytes>(path_or_bytes)) {
    std::string bytes = path_or_bytes.cast<std::string>();
    py::gil_scoped_release nogil;
    // External data of a model given as bytes resolves against the working directory.
    return parse_model(bytes, std::filesystem::current_path());
  }
  const std::string path = path_arg(path_or_bytes);
  py::gil_scoped_release nogil;
  return load_model(path);
}

class PySession {
 public:
  PySession(const py::object& path_or_bytes, const py::object& providers, int threads) {
    if (threads < 1) fail_input("threads must be at least 1, got ", threads);
    SessionOptions o;
    o.providers = provider_names(providers);
    o.threads = threads;
    Model model = load(path_or_bytes);
    {
      py::gil_scoped_release nogil;
      session_ = std::make_unique<Session>(std::move(model), o);
    }
    providers_ = o.providers.empty() ? default_providers() : o.providers;
    if (o.reference_fallback &&
        std::find(providers_.begin(), providers_.end(), "reference") == providers_.end())
      providers_.push_back("reference");
    for (const ValueInfo& v : session_->inputs()) inputs_.push_back(node_arg(v));
    for (const ValueInfo& v : session_->outputs()) outputs_.push_back(node_arg(v));
  }

  const std::vector<NodeArg>& inputs() const { return inputs_; }
  const std::vector<NodeArg>& outputs() const { return outputs_; }
  const std::vector<std::string>& providers() const { return providers_; }

  py::list run(const py::object& output_names, const py::dict& feeds,
               const py::object& run_options) {
    if (!run_options.is_none()) fail_unsupported("run_options are not supported (give None)");
    const std::vector<size_t> wanted = select_outputs(output_names);
    // The arrays stay referenced here while the session reads them through views.
    std::vector<py::array> arrays;
    arrays.reserve(feeds.size());
    std::map<std::string, Tensor> named;
    for (auto [key, value] : feeds) {
      if (!py::isinstance<py::str>(key)) fail_input("feeds: input names must be str");
      std::string name = key.cast<std::string>();
      const std::string what = "input '" + name + "'";
      arrays.push_back(contiguous_array(value, what, input_dtype(name)));
      named.emplace(std::move(name), tensor_view(arrays.back(), what));
    }
    std::vector<Tensor> outs;
    {
      py::gil_scoped_release nogil;
      // One run at a time per session (its plan and arena are shared); other sessions and
      // Python threads go on meanwhile.
      std::lock_guard<std::mutex> lock(mutex_);
      outs = session_->run_named(named);
    }
    py::list result;
    for (size_t i : wanted) result.append(to_numpy(std::move(outs[i])));
    return result;
  }

 private:
  // The dtype a nested list given for input `name` is converted to (undefined: unknown name,
  // which run_named reports).
  DType input_dtype(const std::string& name) const {
    for (const ValueInfo& v : session_->inputs())
      if (v.name == name) return v.dtype;
    return DType::kUndefined;
  }

  std::vector<size_t> select_outputs(const py::object& names) const {
    std::vector<size_t> idx;
    if (names.is_none()) {
      for (size_t i = 0; i < outputs_.size(); ++i) idx.push_back(i);
      return idx;
    }
    if (py::isinstance<py::str>(names))
      fail_input("output_names must be a list of names or None, not a string");
    for (const py::handle n : names) {
      const std::string name = py::str(n).cast<std::string>();
      size_t i = 0;
      while (i < outputs_.size() && outputs_[i].name != name) ++i;
      if (i == outputs_.size()) fail_input("model has no output named '", name, "'");
      idx.push_back(i);
    }
    return idx;
  }

  std::unique_ptr<Session> session_;
  std::mutex mutex_;
  std::vector<std::string> providers_;
  std::vector<NodeArg> inputs_, outputs_;
};

}  // namespace

void bind_session(py::module_& m) {
  py::class_<NodeArg>(m, "NodeArg", "Name, shape and type of a model input or output.")
      .def_readonly("name", &NodeArg::name)
      .def_readonly("shape", &NodeArg::shape,
                    "Dims: int (static), str (symbolic), None (unknown); None if the rank is")
      .def_readonly("type", &NodeArg::type, "ONNX Runtime's type string, e.g. 'tensor(float)'")
      .def("__repr__", [](const NodeArg& a) {
        return "NodeArg(name='" + a.name + "', type='" + a.type +
               "', shape=" + py::repr(a.shape).cast<std::string>() + ")";
      });

  py::class_<PySession>(m, "InferenceSession",
                        "Runs an ONNX model with edgeopt's runtime, as "
                        "onnxruntime.InferenceSession does.")
      .def(py::init<const py::object&, const py::object&, int>(), py::arg("path_or_bytes"),
           py::arg("providers") = py::none(), py::arg("threads") = 1,
           "Loads a model from a path or from serialized bytes. providers: edgeopt provider "
           "names in priority order (None: this platform's default; 'CPUExecutionProvider' "
           "means the same); reference runs whatever the others do not take.")
      .def("get_inputs", &PySession::inputs)
      .def("get_outputs", &PySession::outputs)
      .def("get_providers", &PySession::providers)
      .def("run", &PySession::run, py::arg("output_names"), py::arg("input_feed"),
           py::arg("run_options") = py::none(),
           "Runs the model on {input name: numpy array}; returns the outputs named (all when "
           "None) as numpy arrays, in that order.");

  m.def("get_available_providers", &available_providers,
        "Providers compiled into edgeopt, best first.");
}

}  // namespace edgeopt::python
