// An app running the bundle's model through the edgeopt runtime's C API (include/edgeopt/c_api.h).
//
//   example MODEL INPUT.npy[,INPUT2.npy...] OUTPUT.npy [FALLBACK_MODEL]
//
// Loads MODEL and checks it (one run on zeros, every output finite, weights + activations within
// the memory limit `edgeopt package` built in); when MODEL cannot load or fails that self-check
// and a FALLBACK_MODEL is given, says so and uses the fallback. Then runs
// the inputs (one .npy per model input, in the model's order, joined by commas; dtypes and
// shapes must match), writes the first output to OUTPUT.npy, prints the top-5 classes of its
// first row and the latency (median of 5 timed runs after the first). Exit codes: 0 done, 2 bad
// input (a file, its dtype or shape, their count), 1 no model could run. Errors are one line on
// stderr.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "edgeopt/c_api.h"

namespace {

// A failure reported as one line with an exit code.
struct Failure {
  int exit_code;
  std::string message;
};

[[noreturn]] void fail(int code, const std::string& message) { throw Failure{code, message}; }

struct Array {
  edgeopt_dtype dtype = EDGEOPT_UNDEFINED;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
};

struct NpyType {
  const char* descr;
  edgeopt_dtype dtype;
};
const NpyType kNpyTypes[] = {{"<f4", EDGEOPT_FLOAT}, {"<f8", EDGEOPT_DOUBLE},
                             {"|u1", EDGEOPT_UINT8}, {"|i1", EDGEOPT_INT8},
                             {"<i4", EDGEOPT_INT32}, {"<i8", EDGEOPT_INT64},
                             {"|b1", EDGEOPT_BOOL},  {"<f2", EDGEOPT_FLOAT16}};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

// A little-endian, C-order .npy file (format 1, 2 or 3) of a numeric dtype.
Array read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(2, path + ": cannot open");
  const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.size() < 10 || data.compare(0, 6, "\x93NUMPY") != 0) fail(2, path + ": not a .npy file");
  const int major = static_cast<unsigned char>(data[6]);
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (data.size() < 8 + len_bytes) fail(2, path + ": truncated .npy header");
  size_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i)
    header_len |= size_t(static_cast<unsigned char>(data[8 + i])) << (8 * i);
  const size_t start = 8 + len_bytes + header_len;
  if (start > data.size()) fail(2, path + ": truncated .npy header");
  const std::string header = data.substr(8 + len_bytes, header_len);
  Array a;
  for (const NpyType& t : kNpyTypes)
    if (header.find(std::string("'") + t.descr + "'") != std::string::npos) a.dtype = t.dtype;
  if (a.dtype == EDGEOPT_UNDEFINED) fail(2, path + ": unsupported dtype in " + header);
  if (header.find("'fortran_order': True") != std::string::npos)
    fail(2, path + ": Fortran-order arrays are not supported");
  const size_t open = header.find("'shape': (");
  const size_t close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) fail(2, path + ": no shape");
  std::stringstream dims(header.substr(open + 10, close - open - 10));
  std::string item;
  size_t count = 1;
  while (std::getline(dims, item, ',')) {
    if (item.find_first_not_of(' ') == std::string::npos) continue;
    char* end = nullptr;
    const long long d = std::strtoll(item.c_str(), &end, 10);
    if (end == item.c_str() || d < 0) fail(2, path + ": bad shape in " + header);
    a.shape.push_back(d);
    count *= static_cast<size_t>(d);
  }
  const size_t nbytes = count * edgeopt_dtype_size(a.dtype);
  if (data.size() - start != nbytes)
    fail(2, path + ": " + std::to_string(data.size() - start) + " data bytes, shape " +
                shape_text(a.shape) + " needs " + std::to_string(nbytes));
  a.bytes.assign(data.begin() + static_cast<long>(start), data.end());
  return a;
}

void write_npy(const std::string& path, const edgeopt_tensor& t) {
  const char* descr = nullptr;
  for (const NpyType& n : kNpyTypes)
    if (n.dtype == t.dtype) descr = n.descr;
  if (!descr) fail(1, path + ": the output's dtype has no .npy form here");
  std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.rank; ++i)
    dict += std::to_string(t.shape[i]) + (t.rank == 1 ? "," : i + 1 < t.rank ? ", " : "");
  dict += "), }";
  // magic + version + length + dict + padding + '\n' = a multiple of 64 bytes
  const size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>((dict.size()) & 0xff);
  out += static_cast<char>((dict.size()) >> 8);
  out += dict;
  out.append(static_cast<const char*>(t.data), t.nbytes);
  // Write next to the target, then rename: a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f.write(out.data(), static_cast<std::streamsize>(out.size())))
      fail(2, path + ": cannot write");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(2, path + ": cannot write");
}

// A session, released on scope exit.
class Session {
 public:
  explicit Session(const std::string& model) {
    edgeopt_options opts;
    edgeopt_options_init(&opts);
    if (edgeopt_session_create(model.c_str(), &opts, &s_) != EDGEOPT_OK)
      fail(1, std::string(edgeopt_last_error()));
    inputs_.resize(edgeopt_session_input_count(s_));
    for (size_t i = 0; i < inputs_.size(); ++i) edgeopt_session_input_info(s_, i, &inputs_[i]);
  }
  ~Session() { edgeopt_session_destroy(s_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<edgeopt_tensor_info>& inputs() const { return inputs_; }
  // Weights + the activation arena of the latest run, as the runtime counts them.
  size_t memory_bytes() const {
    size_t weights = 0, arena = 0;
    edgeopt_session_memory(s_, &weights, &arena);
    return weights + arena;
  }

  // Runs the model on its inputs (in order); returns the first output, whose buffer the caller
  // releases with edgeopt_free.
  edgeopt_tensor run(const std::vector<Array>& xs) {
    std::vector<edgeopt_tensor> in(xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      in[i].dtype = xs[i].dtype;
      in[i].rank = xs[i].shape.size();
      std::copy(xs[i].shape.begin(), xs[i].shape.end(), in[i].shape);
      in[i].data = const_cast<char*>(xs[i].bytes.data());
      in[i].nbytes = xs[i].bytes.size();
    }
    edgeopt_tensor out{};
    if (edgeopt_session_run(s_, in.data(), in.size(), &out, 1) != EDGEOPT_OK)
      fail(1, std::string(edgeopt_last_error()));
    return out;
  }

 private:
  edgeopt_session* s_ = nullptr;
  std::vector<edgeopt_tensor_info> inputs_;
};

// The model's input made of zeros (open dims set to 1): what the self-check runs.
Array zeros_for(const edgeopt_tensor_info& info) {
  Array a;
  a.dtype = info.dtype;
  size_t count = 1;
  for (size_t i = 0; i < info.rank; ++i) {
    a.shape.push_back(info.shape[i] < 0 ? 1 : info.shape[i]);
    count *= static_cast<size_t>(a.shape.back());
  }
  a.bytes.assign(count * edgeopt_dtype_size(info.dtype), 0);
  return a;
}

bool all_finite(const edgeopt_tensor& t) {
  if (t.dtype != EDGEOPT_FLOAT) return true;
  const float* v = static_cast<const float*>(t.data);
  for (size_t i = 0; i < t.nbytes / sizeof(float); ++i)
    if (!std::isfinite(v[i])) return false;
  return true;
}

// Loads `model` and checks it; throws Failure when it cannot serve.
void self_check(Session& s, const std::string& model) {
  std::vector<Array> zeros;
  for (const edgeopt_tensor_info& info : s.inputs()) zeros.push_back(zeros_for(info));
  edgeopt_tensor out = s.run(zeros);
  const bool finite = all_finite(out);
  edgeopt_free(out.data);
  if (!finite) fail(1, model + ": self-check failed (non-finite output on a zero input)");
  const unsigned long long limit = EXAMPLE_MEMORY_LIMIT_BYTES;
  const unsigned long long needs = s.memory_bytes();
  if (limit > 0 && needs > limit)
    fail(1, model + ": needs " + std::to_string(needs) + " bytes (weights + activations), over " +
                "the memory limit of " + std::to_string(limit));
}

void check_input(const Array& x, const edgeopt_tensor_info& info, const std::string& path) {
  if (x.dtype != info.dtype)
    fail(2, path + ": dtype " + std::to_string(x.dtype) + " does not match input '" + info.name +
                "' (" + std::to_string(info.dtype) + ")");
  bool same = x.shape.size() == info.rank;
  for (size_t i = 0; same && i < info.rank; ++i)
    same = info.shape[i] < 0 || info.shape[i] == x.shape[i];
  if (!same) {
    std::vector<int64_t> want(info.shape, info.shape + info.rank);
    fail(2, path + ": shape " + shape_text(x.shape) + " does not match input '" + info.name +
                "' (" + shape_text(want) + ", -1 = any)");
  }
}

void print_top5(const edgeopt_tensor& t) {
  if (t.dtype != EDGEOPT_FLOAT || t.rank < 1) return;
  const size_t classes = static_cast<size_t>(t.shape[t.rank - 1]);
  if (classes < 2 || classes * sizeof(float) > t.nbytes) return;
  const float* v = static_cast<const float*>(t.data);
  std::vector<size_t> idx(classes);
  std::iota(idx.begin(), idx.end(), 0);
  const size_t k = std::min<size_t>(5, classes);
  std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(k), idx.end(),
                    [&](size_t a, size_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  std::printf("top-%zu:", k);
  for (size_t i = 0; i < k; ++i) std::printf(" %zu (%.6g)", idx[i], v[idx[i]]);
  std::printf("\n");
}

int run(int argc, char** argv) {
  if (argc != 4 && argc != 5)
    fail(2, "usage: example MODEL INPUT.npy[,INPUT2.npy...] OUTPUT.npy [FALLBACK_MODEL]");
  const std::string model = argv[1], output = argv[3];
  std::vector<std::string> paths;
  std::stringstream list(argv[2]);
  for (std::string p; std::getline(list, p, ',');) paths.push_back(p);
  std::vector<Array> xs;  // bad input is reported before any model work
  for (const std::string& p : paths) xs.push_back(read_npy(p));
  std::string used = model;
  std::unique_ptr<Session> s;
  try {
    s = std::make_unique<Session>(model);
    self_check(*s, model);
  } catch (const Failure& f) {
    if (argc != 5) throw;
    used = argv[4];
    std::fprintf(stderr, "example: %s; falling back to %s\n", f.message.c_str(), used.c_str());
    s = std::make_unique<Session>(used);
    self_check(*s, used);
  }
  if (xs.size() != s->inputs().size())
    fail(2, std::to_string(xs.size()) + " input file(s) given, the model takes " +
                std::to_string(s->inputs().size()) + " (one .npy per input, joined by commas)");
  for (size_t i = 0; i < xs.size(); ++i) check_input(xs[i], s->inputs()[i], paths[i]);
  std::printf("model: %s\n", used.c_str());
  edgeopt_tensor out = s->run(xs);
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    edgeopt_tensor again = s->run(xs);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    edgeopt_free(again.data);
  }
  std::sort(ms.begin(), ms.end());
  try {
    write_npy(output, out);
  } catch (...) {
    edgeopt_free(out.data);
    throw;
  }
  print_top5(out);
  std::printf("latency: %.3f ms (median of 5 runs)\n", ms[ms.size() / 2]);
  edgeopt_free(out.data);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    std::fprintf(stderr, "example: %s\n", f.message.c_str());
    return f.exit_code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "example: %s\n", e.what());
    return 2;
  }
}
