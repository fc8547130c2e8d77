// Shared pieces of the Python module `edgeopt._edgeopt`: numpy <-> Tensor, errors, and the
// registration function of each part (session, commands). Uses only include/edgeopt/.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/input_shapes.h"
#include "edgeopt/ir.h"
#include "edgeopt/session.h"
#include "edgeopt/tensor.h"

namespace edgeopt::python {

namespace py = pybind11;

// edgeopt.Error and its subclasses InvalidInput, Unsupported and Internal (one per ErrorKind),
// and the translation of edgeopt::Error (and unexpected C++ exceptions, as Internal) to them.
void bind_errors(py::module_& m);
void bind_session(py::module_& m);
// One per command, each in its file (python/<command>.cpp): each returns the dict of the same
// CLI command's --json (include/edgeopt/report_json.h) and releases the GIL while it works.
void bind_inspect(py::module_& m);
void bind_bench(py::module_& m);
void bind_optimize(py::module_& m);
void bind_quantize(py::module_& m);
void bind_prune(py::module_& m);
void bind_lowrank(py::module_& m);
void bind_evaluate(py::module_& m);
void bind_fit(py::module_& m);

// The element type of a numpy array; throws Error (unsupported) naming `what` for dtypes
// edgeopt has no tensor type for (object, complex, datetime...).
DType array_dtype(const py::array& a, const std::string& what);
// A C-contiguous, aligned array of `obj` (the object itself when it already is one: no copy).
// What is not an array yet (a nested list, a scalar) becomes one of `list_dtype` when given.
py::array contiguous_array(const py::handle& obj, const std::string& what,
                           DType list_dtype = DType::kUndefined);
// The numpy dtype of an element type; throws Error (unsupported) for those numpy lacks.
py::dtype numpy_dtype(DType t);
// A tensor viewing the memory of `a` (which must be C-contiguous and outlive the tensor).
Tensor tensor_view(const py::array& a, const std::string& what);
// A numpy array owning `t`'s storage (no copy: the array keeps the tensor alive).
py::object to_numpy(Tensor t);

// Input shapes given as {name: dims} or as CLI-style strings "NAME:1x3x224x224".
std::vector<InputShape> input_shapes(const py::object& shapes);
// Provider names in priority order from a list of str (or ORT's (name, options) tuples); ORT's
// "CPUExecutionProvider" stands for this platform's default providers. Empty for None.
std::vector<std::string> provider_names(const py::object& providers);
// A model path from str or os.PathLike.
std::string path_arg(const py::handle& path);

// Calibration samples gathered in Python (python/edgeopt/__init__.py): one float32 array
// N × sample shape, or {input name: array} with the same N. Copied into the dataset.
std::unique_ptr<Dataset> array_dataset(const py::object& arrays);

// The dict of a command's JSON report (through Python's json, so the numbers are the CLI's).
py::object to_dict(const nlohmann::json& j);
// A list of names (node, pass, provider...): None is empty, one str is one name.
std::vector<std::string> names(const py::object& list);
// load_model with the given input dims fixed (set_input_shapes), as the CLI's --shape does.
Model load_with_shapes(const std::string& path, const std::vector<InputShape>& shapes);
// Session options for the commands that run a model (benchmark, evaluate).
SessionOptions session_options(const py::object& providers, int threads);

// A progress callback calling the Python callable `fn(done, total)` under the GIL; empty when
// `fn` is None. `fn` must outlive the returned function (the caller holds it).
std::function<void(int64_t, int64_t)> progress_callback(const py::object& fn);

}  // namespace edgeopt::python
