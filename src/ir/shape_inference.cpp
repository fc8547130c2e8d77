// ONNX shape inference (libonnx) for the edgeopt tool, in a child process so that a crash in
// libonnx costs only the result; and the tool's shape hints (shape_hints.h).
//
// Where the fork stays: libonnx's inference aborts or crashes on some malformed nodes and
// attributes, so it runs in a child wherever it reads a model edgeopt did not make: at load
// (onnx_import.cpp) and in `inspect` (report/inspect.cpp). Hints refreshed after a rewrite
// (passes, the providers' rewrites when a session is created) come from the runtime kernels'
// own infer() in process (runtime/static_shapes.cpp); ONNX's inference runs, in a child, only
// when those leave a value without a dtype or shape (If/Loop/Scan bodies, ops no kernel infers).
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "onnx_proto_utils.h"
#include "shape_hints.h"

namespace edgeopt {

namespace {

bool write_all(int fd, const std::string& data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

// Reads until EOF; false when nothing arrives for `timeout_ms` (a hung child).
bool read_all(int fd, std::string& data, int timeout_ms) {
  char buf[1 << 16];
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return true;
}

// The child's answer: 'O' + serialized GraphProto {value_info, output}, or 'E' + error line.
[[noreturn]] void child(onnx::ModelProto& mp, int fd) {
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
  std::string answer;
  try {
    onnx::ShapeInferenceOptions opts(false, 0, true);
    onnx::shape_inference::InferShapes(mp, onnx::OpSchemaRegistry::Instance(), opts);
    onnx::GraphProto inferred;
    *inferred.mutable_value_info() = mp.graph().value_info();
    *inferred.mutable_output() = mp.graph().output();
    answer = "O" + inferred.SerializeAsString();
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    answer = "E" + msg.substr(0, msg.find('\n'));
  }
  _exit(write_all(fd, answer) ? 0 : 1);
}

}  // namespace

bool infer_shapes_isolated(onnx::ModelProto& mp, std::string* error) {
  (void)onnx::OpSchemaRegistry::Instance();  // static initialization happens here, not in the child
  int fds[2];
  if (pipe(fds) != 0) {
    *error = "cannot create a pipe";
    return false;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    *error = "cannot fork";
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    child(mp, fds[1]);
  }
  close(fds[1]);
  // Inference of the largest models takes about a second; a child silent this long is stuck
  // (a lock held by another thread at fork time stays held in the child).
  constexpr int kTimeoutMs = 120000;
  std::string answer;
  const bool answered = read_all(fds[0], answer, kTimeoutMs);
  close(fds[0]);
  if (!answered) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!answered) {
    *error = "ONNX shape inference timed out";
    return false;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || answer.empty()) {
    *error = "libonnx crashed on this model (a malformed node or attribute)";
    return false;
  }
  if (answer[0] == 'E') {
    *error = answer.substr(1);
    return false;
  }
  onnx::GraphProto inferred;
  if (!inferred.ParseFromArray(answer.data() + 1, static_cast<int>(answer.size() - 1))) {
    *error = "unreadable result";
    return false;
  }
  *mp.mutable_graph()->mutable_value_info() = inferred.value_info();
  *mp.mutable_graph()->mutable_output() = inferred.output();
  return true;
}

namespace {

// What the kernels' inference left unknown, from ONNX's shape inference (shape_hints.h). Large
// initializers go in with dtype and dims only: the weights are not copied.
void onnx_shape_hints(Model& model) {
  onnx::ModelProto mp = model_to_proto_for_inference(model);
  std::string error;
  if (!infer_shapes_isolated(mp, &error)) return;  // a hint only: keep what is known
  auto take = [&](const onnx::ValueInfoProto& vp) {
    if (!vp.type().has_tensor_type()) return;
    const auto& tt = vp.type().tensor_type();
    ValueInfo v;
    v.name = vp.name();
    if (!dtype_known(tt.elem_type())) return;
    v.dtype = static_cast<DType>(tt.elem_type());
    v.has_shape = tt.has_shape();
    if (v.has_shape)
      for (const auto& d : tt.shape().dim()) {
        Dim dim;
        if (d.has_dim_value()) dim.value = d.dim_value();
        if (d.has_dim_param()) dim.param = d.dim_param();
        v.dims.push_back(dim);
      }
    auto it = model.graph.inferred.find(v.name);
    // Never trade a known shape for an unknown one.
    if (it != model.graph.inferred.end() && it->second.has_shape && !v.has_shape) return;
    model.graph.inferred[v.name] = std::move(v);
  };
  for (const auto& v : mp.graph().value_info()) take(v);
  for (const auto& v : mp.graph().output()) take(v);
}

[[maybe_unused]] const bool registered = (set_schema_shape_inference(&onnx_shape_hints), true);

}  // namespace

}  // namespace edgeopt
