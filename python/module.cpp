// edgeopt._edgeopt: the native part of `import edgeopt` (python/edgeopt/__init__.py re-exports
// it). Errors and the conversions every part shares live here; the session and each command
// have their own file.
#include <algorithm>
#include <cstring>

#include "bindings.h"
#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"

namespace edgeopt::python {

namespace {

// Python exception types, created once and kept for the life of the process.
PyObject* g_error = nullptr;
PyObject* g_invalid = nullptr;
PyObject* g_unsupported = nullptr;
PyObject* g_internal = nullptr;

PyObject* new_exception(py::module_& m, const char* name, PyObject* base, const char* doc) {
  const std::string qualified = std::string("edgeopt.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (!type) throw py::error_already_set();
  m.attr(name) = py::handle(type);
  return type;
}

}  // namespace

void bind_errors(py::module_& m) {
  g_error = new_exception(m, "Error", PyExc_Exception,
                          "Base of every error edgeopt raises; the message is the CLI's.");
  g_invalid = new_exception(m, "InvalidInput", g_error,
                            "The model, data or an argument is wrong (the CLI exits 2).");
  g_unsupported = new_exception(m, "Unsupported", g_error,
                                "Valid input that edgeopt cannot handle (the CLI exits 2).");
  g_internal = new_exception(m, "Internal", g_error, "A bug in edgeopt (the CLI exits 1).");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyObject* type = e.kind() == ErrorKind::kInvalidInput  ? g_invalid
                       : e.kind() == ErrorKind::kUnsupported ? g_unsupported
                                                             : g_internal;
      PyErr_SetString(type, e.what());
    } catch (const py::builtin_exception&) {
      throw;  // pybind11's own (TypeError, ValueError, ...): its translator handles them
    } catch (const py::error_already_set&) {
      throw;  // a Python exception passing through C++ (a callback raised)
    } catch (const std::bad_alloc&) {
      throw;  // MemoryError
    } catch (const std::exception& e) {
      PyErr_SetString(g_internal, e.what());
    }
  });
}

py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::kF32:
      return py::dtype::of<float>();
    case DType::kF64:
      return py::dtype::of<double>();
    case DType::kU8:
      return py::dtype::of<uint8_t>();
    case DType::kI8:
      return py::dtype::of<int8_t>();
    case DType::kU16:
      return py::dtype::of<uint16_t>();
    case DType::kI16:
      return py::dtype::of<int16_t>();
    case DType::kI32:
      return py::dtype::of<int32_t>();
    case DType::kI64:
      return py::dtype::of<int64_t>();
    case DType::kU32:
      return py::dtype::of<uint32_t>();
    case DType::kU64:
      return py::dtype::of<uint64_t>();
    case DType::kBool:
      return py::dtype::of<bool>();
    case DType::kF16:
      return py::dtype("float16");
    default:
      break;
  }
  fail_unsupported("output of type ", dtype_name(t), " has no numpy dtype");
}

DType array_dtype(const py::array& a, const std::string& what) {
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) return DType::kF32;
  if (kind == 'f' && size == 8) return DType::kF64;
  if (kind == 'f' && size == 2) return DType::kF16;
  if (kind == 'b' && size == 1) return DType::kBool;
  if (kind == 'i' || kind == 'u') {
    const bool s = kind == 'i';
    switch (size) {
      case 1:
        return s ? DType::kI8 : DType::kU8;
      case 2:
        return s ? DType::kI16 : DType::kU16;
      case 4:
        return s ? DType::kI32 : DType::kU32;
      case 8:
        return s ? DType::kI64 : DType::kU64;
    }
  }
  fail_unsupported(what, ": numpy dtype ", py::str(dt.attr("name")).cast<std::string>(),
                   " has no ONNX tensor type edgeopt runs");
}

py::array contiguous_array(const py::handle& obj, const std::string& what, DType list_dtype) {
  namespace npy = py::detail;
  constexpr int kNeeded = npy::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | npy::npy_api::NPY_ARRAY_ALIGNED_;
  if (py::isinstance<py::array>(obj)) {
    py::array a = py::reinterpret_borrow<py::array>(obj);
    if ((a.flags() & kNeeded) == kNeeded && a.dtype().byteorder() != '>') return a;
  }
  // A copy: not an array yet (a list, a scalar), strided, misaligned or big-endian.
  // Leaked on purpose: a static py::object would be released after the interpreter is gone.
  static const py::handle ascontiguous =
      py::object(py::module_::import("numpy").attr("ascontiguousarray")).release();
  const bool is_array = py::isinstance<py::array>(obj);
  py::object converted;
  try {
    if (!is_array && list_dtype != DType::kUndefined && list_dtype != DType::kString)
      converted = ascontiguous(obj, numpy_dtype(list_dtype));
    else
      converted = ascontiguous(obj);
  } catch (const py::error_already_set& e) {
    fail_input(what, ": not convertible to a numpy array (", e.what(), ")");
  }
  py::array a = py::reinterpret_borrow<py::array>(converted);
  if (a.dtype().byteorder() == '>') a = a.attr("astype")(a.dtype().attr("newbyteorder")("<"));
  return a;
}

Tensor tensor_view(const py::array& a, const std::string& what) {
  const DType dt = array_dtype(a, what);
  Shape shape(a.shape(), a.shape() + a.ndim());
  return Tensor::view(dt, std::move(shape), const_cast<void*>(a.data()));
}

py::object to_numpy(Tensor t) {
  if (t.dtype() == DType::kString) {
    // numpy has no storage to share with std::string: an object array of str (a copy).
    py::list items;
    for (const std::string& s : t.strings()) items.append(py::str(s));
    static const py::handle array =
        py::object(py::module_::import("numpy").attr("array")).release();
    return array(items, "object").attr("reshape")(py::tuple(py::cast(t.shape())));
  }
  if (t.dtype() == DType::kBF16) {
    // numpy has no bfloat16: widened to float32 (a copy).
    const std::vector<float> v = t.to_f32_vector();
    py::array_t<float> a(t.shape());
    std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(float));
    return a;
  }
  const py::dtype dt = numpy_dtype(t.dtype());
  if (!t.has_data() || t.numel() == 0) return py::array(dt, t.shape());
  // The capsule owns a Tensor sharing the storage: the array keeps it alive, no copy.
  auto* owner = new Tensor(std::move(t));
  py::capsule base(owner, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(dt, owner->shape(), owner->raw(), base);
}

std::vector<InputShape> input_shapes(const py::object& shapes) {
  std::vector<InputShape> out;
  if (shapes.is_none()) return out;
  if (py::isinstance<py::dict>(shapes)) {
    for (auto [name, dims] : py::reinterpret_borrow<py::dict>(shapes)) {
      // Through the CLI's parser, so a bad dim gets the same message as --shape.
      std::string text = py::str(name).cast<std::string>() + ":";
      bool first = true;
      for (const py::handle d : dims) {
        text += (first ? "" : "x") + py::str(d).cast<std::string>();
        first = false;
      }
      out.push_back(parse_input_shape(text));
    }
    return out;
  }
  if (py::isinstance<py::str>(shapes)) {
    out.push_back(parse_input_shape(shapes.cast<std::string>()));
    return out;
  }
  for (const py::handle s : shapes)
    out.push_back(parse_input_shape(py::str(s).cast<std::string>()));
  return out;
}

// ORT's provider name for its CPU provider, accepted as "this platform's default providers" so
// that code written for ORT runs unchanged.
static constexpr const char* kOrtCpu = "CPUExecutionProvider";

std::vector<std::string> provider_names(const py::object& providers) {
  std::vector<std::string> out;
  if (providers.is_none()) return out;
  if (py::isinstance<py::str>(providers))
    fail_input("providers must be a list of names, e.g. ['onednn'], not a string");
  for (const py::handle p : providers) {
    // ORT also takes (name, options) tuples; edgeopt's providers have no options.
    const py::handle name = py::isinstance<py::tuple>(p) ? p.cast<py::tuple>()[0] : p;
    if (!py::isinstance<py::str>(name))
      fail_input("providers: expected provider names (str), got ",
                 py::str(name.get_type().attr("__name__")).cast<std::string>());
    const std::string n = name.cast<std::string>();
    if (n == kOrtCpu) {
      for (const std::string& d : default_providers())
        if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
    } else {
      out.push_back(n);
    }
  }
  return out;
}

std::string path_arg(const py::handle& path) {
  static const py::handle fspath = py::object(py::module_::import("os").attr("fspath")).release();
  try {
    return py::str(fspath(path)).cast<std::string>();
  } catch (const py::error_already_set&) {
    fail_input("expected a path (str or os.PathLike), got ",
               py::str(path.get_type().attr("__name__")).cast<std::string>());
  }
}

std::function<void(int64_t, int64_t)> progress_callback(const py::object& fn) {
  if (fn.is_none()) return {};
  const py::handle f = fn;
  return [f](int64_t done, int64_t total) {
    py::gil_scoped_acquire gil;
    f(done, total);
  };
}

py::object to_dict(const nlohmann::json& j) {
  static const py::handle loads = py::object(py::module_::import("json").attr("loads")).release();
  return loads(j.dump());
}

std::vector<std::string> names(const py::object& list) {
  std::vector<std::string> out;
  if (list.is_none()) return out;
  if (py::isinstance<py::str>(list)) return {list.cast<std::string>()};
  for (const py::handle n : list) out.push_back(py::str(n).cast<std::string>());
  return out;
}

Model load_with_shapes(const std::string& path, const std::vector<InputShape>& shapes) {
  Model model = load_model(path);
  set_input_shapes(model, shapes);
  return model;
}

SessionOptions session_options(const py::object& providers, int threads) {
  if (threads < 1) fail_input("threads must be at least 1, got ", threads);
  SessionOptions o;
  o.threads = threads;
  o.providers = provider_names(providers);
  return o;
}

}  // namespace edgeopt::python

PYBIND11_MODULE(_edgeopt, m) {
  using namespace edgeopt::python;
  m.doc() = "edgeopt's native module; use `import edgeopt`.";
  m.attr("__version__") = EDGEOPT_VERSION;
  bind_errors(m);
  bind_session(m);
  bind_inspect(m);
  bind_bench(m);
  bind_optimize(m);
  bind_quantize(m);
  bind_prune(m);
  bind_lowrank(m);
  bind_evaluate(m);
  bind_fit(m);
}
