// The C API (include/edgeopt/c_api.h) over the C++ Session: every entry point catches what the
// C++ side throws and turns it into a status plus a per-thread message.
#include "edgeopt/c_api.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"

#ifndef EDGEOPT_VERSION
#define EDGEOPT_VERSION "unknown"
#endif

struct edgeopt_session {
  edgeopt::Session session;
  std::vector<edgeopt_tensor_info> inputs;
  std::vector<edgeopt_tensor_info> outputs;
  std::mutex run_mutex;
};

namespace {

using edgeopt::DType;
using edgeopt::Error;
using edgeopt::ErrorKind;
using edgeopt::Tensor;

thread_local std::string last_error;

// A failure of the caller's arguments (not of the model): thrown inside an entry point.
struct ArgumentError {
  edgeopt_status status;
  std::string message;
};

template <class... Args>
[[noreturn]] void fail_argument(edgeopt_status status, const Args&... args) {
  throw ArgumentError{status, edgeopt::detail::concat(args...)};
}

edgeopt_status status_of(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return EDGEOPT_ERR_INVALID_INPUT;
    case ErrorKind::kUnsupported:
      return EDGEOPT_ERR_UNSUPPORTED;
    case ErrorKind::kInternal:
      break;
  }
  return EDGEOPT_ERR_INTERNAL;
}

// Runs `body`; on an exception records its message and returns its status.
template <class F>
edgeopt_status guarded(F&& body) {
  try {
    body();
    return EDGEOPT_OK;
  } catch (const ArgumentError& e) {
    last_error = e.message;
    return e.status;
  } catch (const Error& e) {
    last_error = e.what();
    return status_of(e.kind());
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return EDGEOPT_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error = std::string("internal error: ") + e.what();
    return EDGEOPT_ERR_INTERNAL;
  } catch (...) {
    last_error = "internal error: unknown exception";
    return EDGEOPT_ERR_INTERNAL;
  }
}

edgeopt::SessionOptions session_options(const edgeopt_options* options) {
  edgeopt::SessionOptions so;
  if (!options) return so;
  so.threads = std::max(1, options->threads);
  if (options->providers) so.providers = edgeopt::split_provider_list(options->providers);
  return so;
}

edgeopt_tensor_info info_of(const edgeopt::ValueInfo& v) {
  if (v.dims.size() > EDGEOPT_MAX_RANK)
    edgeopt::fail_unsupported("'", v.name, "' has rank ", v.dims.size(), ", the C API at most ",
                              EDGEOPT_MAX_RANK);
  if (v.dtype == DType::kString || !v.raw_type.empty())
    edgeopt::fail_unsupported("'", v.name, "' is not a numeric tensor: the C API takes only those");
  edgeopt_tensor_info info{};
  info.name = v.name.c_str();
  info.dtype = static_cast<edgeopt_dtype>(v.dtype);
  info.rank = v.dims.size();
  for (size_t i = 0; i < v.dims.size(); ++i) info.shape[i] = v.dims[i].value;
  return info;
}

edgeopt_session* make_session(edgeopt::Model model, const edgeopt_options* options) {
  auto* s =
      new edgeopt_session{edgeopt::Session(std::move(model), session_options(options)), {}, {}, {}};
  try {
    for (const edgeopt::ValueInfo& v : s->session.inputs()) s->inputs.push_back(info_of(v));
    for (const edgeopt::ValueInfo& v : s->session.outputs()) s->outputs.push_back(info_of(v));
  } catch (...) {
    delete s;
    throw;
  }
  return s;
}

std::string shape_text(const int64_t* shape, size_t rank) {
  return edgeopt::shape_str(edgeopt::Shape(shape, shape + rank));
}

// The caller's inputs as views, in the model's input order.
std::vector<Tensor> input_views(const edgeopt_session& s, const edgeopt_tensor* inputs,
                                size_t n_inputs) {
  if (n_inputs != s.inputs.size())
    fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "the model takes ", s.inputs.size(), " input(s), ",
                  n_inputs, " given");
  if (n_inputs > 0 && !inputs) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "inputs is NULL");
  std::vector<Tensor> views(n_inputs);
  std::vector<bool> given(n_inputs, false);
  for (size_t k = 0; k < n_inputs; ++k) {
    const edgeopt_tensor& t = inputs[k];
    size_t i = k;
    if (t.name) {
      i = std::find_if(s.inputs.begin(), s.inputs.end(),
                       [&](const edgeopt_tensor_info& info) {
                         return std::strcmp(info.name, t.name) == 0;
                       }) -
          s.inputs.begin();
      if (i == s.inputs.size())
        fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "input '", t.name,
                      "' matches no model input (the first is '", s.inputs[0].name, "')");
    }
    const char* name = s.inputs[i].name;
    if (given[i]) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "input '", name, "' given twice");
    given[i] = true;
    if (t.rank > EDGEOPT_MAX_RANK)
      fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "input '", name, "': rank ", t.rank, " is over ",
                    EDGEOPT_MAX_RANK);
    const DType dtype = static_cast<DType>(t.dtype);
    if (!edgeopt::dtype_known(t.dtype) || dtype == DType::kString || dtype == DType::kUndefined)
      fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "input '", name, "': dtype ",
                    static_cast<int>(t.dtype), " is not a numeric element type");
    const edgeopt::Shape shape(t.shape, t.shape + t.rank);
    const size_t need =
        static_cast<size_t>(edgeopt::shape_numel(shape)) * edgeopt::dtype_size(dtype);
    if (t.nbytes != need)
      fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "input '", name, "': ", t.nbytes,
                    " bytes given, shape ", shape_text(t.shape, t.rank), " of ",
                    edgeopt::dtype_name(dtype), " needs ", need);
    if (need > 0 && !t.data)
      fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "input '", name, "': data is NULL");
    // The session reads inputs only: the view's constness is restored by that contract.
    views[i] = Tensor::view(dtype, shape, const_cast<void*>(t.data));
  }
  return views;
}

void check_outputs(const edgeopt_session& s, edgeopt_tensor* outputs, size_t n_outputs) {
  if (n_outputs > s.outputs.size())
    fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "the model has ", s.outputs.size(), " output(s), ",
                  n_outputs, " asked for");
  if (n_outputs > 0 && !outputs) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "outputs is NULL");
}

// Fills outputs[i] from the session's results: copies into the caller's buffers or allocates.
void deliver_outputs(const edgeopt_session& s, const std::vector<Tensor>& results,
                     edgeopt_tensor* outputs, size_t n_outputs) {
  // Check every caller buffer before allocating any, so that a failure leaves nothing behind.
  for (size_t i = 0; i < n_outputs; ++i) {
    const Tensor& r = results[i];
    if (r.rank() > EDGEOPT_MAX_RANK)
      edgeopt::fail_unsupported("output '", s.outputs[i].name, "' has rank ", r.rank(),
                                ", the C API at most ", EDGEOPT_MAX_RANK);
    edgeopt_tensor& o = outputs[i];
    o.dtype = static_cast<edgeopt_dtype>(r.dtype());
    o.rank = static_cast<size_t>(r.rank());
    std::copy(r.shape().begin(), r.shape().end(), o.shape);
    if (o.data && o.nbytes < r.nbytes()) {
      const size_t given = o.nbytes;
      o.nbytes = r.nbytes();
      fail_argument(EDGEOPT_ERR_BUFFER_TOO_SMALL, "output '", s.outputs[i].name, "': buffer of ",
                    given, " bytes, ", shape_text(o.shape, o.rank), " of ",
                    edgeopt::dtype_name(r.dtype()), " needs ", r.nbytes());
    }
  }
  std::vector<void*> allocated;
  for (size_t i = 0; i < n_outputs; ++i) {
    edgeopt_tensor& o = outputs[i];
    if (!o.data) {
      void* p = std::malloc(std::max<size_t>(results[i].nbytes(), 1));
      if (!p) {
        for (void* a : allocated) std::free(a);
        throw std::bad_alloc();
      }
      allocated.push_back(p);
    }
  }
  size_t next = 0;
  for (size_t i = 0; i < n_outputs; ++i) {
    edgeopt_tensor& o = outputs[i];
    if (!o.data) o.data = allocated[next++];
    o.nbytes = results[i].nbytes();
    if (o.nbytes > 0) std::memcpy(o.data, results[i].raw(), o.nbytes);
  }
}

}  // namespace

extern "C" {

void edgeopt_options_init(edgeopt_options* options) {
  if (!options) return;
  options->threads = 1;
  options->providers = nullptr;
}

edgeopt_status edgeopt_session_create(const char* model_path, const edgeopt_options* options,
                                      edgeopt_session** session) {
  return guarded([&] {
    if (!session) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "session is NULL");
    *session = nullptr;
    if (!model_path) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "model_path is NULL");
    *session = make_session(edgeopt::load_model(model_path), options);
  });
}

edgeopt_status edgeopt_session_create_from_memory(const void* data, size_t size,
                                                  const edgeopt_options* options,
                                                  edgeopt_session** session) {
  return guarded([&] {
    if (!session) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "session is NULL");
    *session = nullptr;
    if (!data || size == 0) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "no model bytes given");
    const std::string bytes(static_cast<const char*>(data), size);
    *session = make_session(edgeopt::parse_model(bytes, {}), options);
  });
}

void edgeopt_session_destroy(edgeopt_session* session) { delete session; }

size_t edgeopt_session_input_count(const edgeopt_session* session) {
  return session ? session->inputs.size() : 0;
}

size_t edgeopt_session_output_count(const edgeopt_session* session) {
  return session ? session->outputs.size() : 0;
}

edgeopt_status edgeopt_session_memory(const edgeopt_session* session, size_t* weight_bytes,
                                      size_t* arena_bytes) {
  return guarded([&] {
    if (!session) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "session is NULL");
    if (weight_bytes) *weight_bytes = session->session.weight_bytes();
    if (arena_bytes) *arena_bytes = session->session.arena_bytes();
  });
}

static edgeopt_status value_info(const edgeopt_session* session, size_t index,
                                 edgeopt_tensor_info* info, bool input) {
  return guarded([&] {
    if (!session || !info) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "session or info is NULL");
    const auto& list = input ? session->inputs : session->outputs;
    if (index >= list.size())
      fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, input ? "input" : "output", " index ", index,
                    " is out of range (the model has ", list.size(), ")");
    *info = list[index];
  });
}

edgeopt_status edgeopt_session_input_info(const edgeopt_session* session, size_t index,
                                          edgeopt_tensor_info* info) {
  return value_info(session, index, info, true);
}

edgeopt_status edgeopt_session_output_info(const edgeopt_session* session, size_t index,
                                           edgeopt_tensor_info* info) {
  return value_info(session, index, info, false);
}

edgeopt_status edgeopt_session_run(edgeopt_session* session, const edgeopt_tensor* inputs,
                                   size_t n_inputs, edgeopt_tensor* outputs, size_t n_outputs) {
  return guarded([&] {
    if (!session) fail_argument(EDGEOPT_ERR_INVALID_ARGUMENT, "session is NULL");
    const std::vector<Tensor> views = input_views(*session, inputs, n_inputs);
    check_outputs(*session, outputs, n_outputs);
    std::vector<Tensor> results;
    {
      std::lock_guard<std::mutex> lock(session->run_mutex);
      results = session->session.run(views);
    }
    deliver_outputs(*session, results, outputs, n_outputs);
  });
}

void edgeopt_free(void* data) { std::free(data); }

const char* edgeopt_last_error(void) { return last_error.c_str(); }

const char* edgeopt_status_name(edgeopt_status status) {
  switch (status) {
    case EDGEOPT_OK:
      return "EDGEOPT_OK";
    case EDGEOPT_ERR_INVALID_ARGUMENT:
      return "EDGEOPT_ERR_INVALID_ARGUMENT";
    case EDGEOPT_ERR_INVALID_INPUT:
      return "EDGEOPT_ERR_INVALID_INPUT";
    case EDGEOPT_ERR_UNSUPPORTED:
      return "EDGEOPT_ERR_UNSUPPORTED";
    case EDGEOPT_ERR_BUFFER_TOO_SMALL:
      return "EDGEOPT_ERR_BUFFER_TOO_SMALL";
    case EDGEOPT_ERR_OUT_OF_MEMORY:
      return "EDGEOPT_ERR_OUT_OF_MEMORY";
    case EDGEOPT_ERR_INTERNAL:
      return "EDGEOPT_ERR_INTERNAL";
  }
  return "EDGEOPT_ERR_UNKNOWN";
}

size_t edgeopt_dtype_size(edgeopt_dtype dtype) {
  return edgeopt::dtype_known(dtype) ? edgeopt::dtype_size(static_cast<DType>(dtype)) : 0;
}

const char* edgeopt_version(void) { return EDGEOPT_VERSION; }

}  // extern "C"
