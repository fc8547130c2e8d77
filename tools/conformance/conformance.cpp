// ONNX backend conformance runner: runs the node tests of Debian's libonnx-testdata (and the
// `simple`, `pytorch-converted`, `pytorch-operator` folders) against one provider, or a
// comma-separated list of providers in priority order (e.g. `onednn,reference`: the fast
// provider takes the nodes it can, reference the rest).
//
// A test folder holds model.onnx and test_data_set_*/{input_N.pb, output_N.pb}. A test is
// not attempted when some node (also inside a subgraph) has no kernel in the provider, when a
// graph input or output is not a plain tensor, or when the skip list names it (every entry
// must give a reason). Otherwise every data set is run twice in one session (the second run
// reuses the cached plan and arena) and each output of both runs is compared with the ONNX
// backend tolerance |got - want| <= atol + rtol * |want| (rtol 1e-3, atol 1e-7). ONNX 1.12
// stores bfloat16 expectations as uint16 made by truncating float, where edgeopt rounds to
// nearest even (as later ONNX data does): such an output may differ by one step of the bit
// pattern.
//
// Each test runs in a forked child so that a crashing or hanging kernel is reported as a
// failed test instead of ending the run. The last line printed is `N passed, N failed, N
// skipped`; the exit code is 0 iff no test failed (2 on bad options or a bad skip list).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/ir.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"
#include "runtime/kernel.h"

namespace fs = std::filesystem;

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-7;
constexpr unsigned kTimeoutSeconds = 120;  // per test, in the child

struct Options {
  fs::path data = "/usr/share/libonnx-testdata/data/node";
  fs::path skip;
  std::string provider = "reference";  // as given: comma-separated
  std::vector<std::string> providers;  // parsed, in priority order
  std::vector<std::string> filters;    // a test runs when its name contains one (or none given)
  bool verbose = false;
  bool fork = true;
  bool run_skipped = false;
  bool only_skipped = false;
  int min_passed = 0;
};

enum class Status { kPass, kFail, kNotAttempted };

struct Outcome {
  Status status = Status::kFail;
  std::string reason;
  std::vector<std::string> missing_ops;  // why a test was not attempted
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "edgeopt_conformance: " << msg << "\n"
            << "usage: edgeopt_conformance [--data DIR] [--skip FILE]\n"
            << "                           [--provider NAME[,NAME...]]\n"
            << "                           [--filter SUBSTR[,SUBSTR...]]...\n"
            << "                           [--verbose] [--no-fork]\n"
            << "                           [--run-skipped | --only-skipped] [--min-passed N]\n"
            << "--min-passed N: fail when fewer than N tests pass (the checked-in baseline,\n"
            << "  tests/conformance_baseline.txt: a lost kernel registration turns passing tests\n"
            << "  into not attempted ones, which alone would not fail).\n"
            << "--filter: run only the tests whose name contains one of the substrings (the\n"
            << "  option may be repeated; `test_relu,test_elu` runs the tests of two ops).\n"
            << "--only-skipped: run only the skip list's tests; fail when one of them passes\n"
            << "  (its entry is then stale and must go).\n";
  std::exit(2);
}

// The checked-in skip list: the compile-time source folder when known, else the nearest
// tests/conformance_skip.txt above the executable.
fs::path default_skip_file() {
#ifdef EDGEOPT_SOURCE_DIR
  const fs::path p = fs::path(EDGEOPT_SOURCE_DIR) / "tests" / "conformance_skip.txt";
  if (fs::exists(p)) return p;
#endif
  std::error_code ec;
  fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (; !ec && !dir.empty(); dir = dir.parent_path()) {
    if (fs::exists(dir / "tests" / "conformance_skip.txt"))
      return dir / "tests" / "conformance_skip.txt";
    if (dir == dir.root_path()) break;
  }
  return {};
}

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// `test_name  # reason` per line; blank lines and lines starting with '#' are comments.
std::map<std::string, std::string> read_skip_list(const fs::path& path) {
  std::map<std::string, std::string> skip;
  if (path.empty()) return skip;
  std::ifstream in(path);
  if (!in) usage_error("cannot read skip list " + path.string());
  std::string line;
  int lineno = 0;
  bool bad = false;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const size_t hash = t.find('#');
    const std::string name = trim(t.substr(0, hash));
    const std::string reason = hash == std::string::npos ? "" : trim(t.substr(hash + 1));
    if (name.find_first_of(" \t") != std::string::npos) {
      std::cerr << path.string() << ":" << lineno << ": one test name per line: '" << name << "'\n";
      bad = true;
    } else if (reason.empty()) {
      std::cerr << path.string() << ":" << lineno << ": entry '" << name
                << "' gives no reason (write `" << name << "  # why it is skipped`)\n";
      bad = true;
    } else {
      skip[name] = reason;
    }
  }
  if (bad) std::exit(2);
  return skip;
}

// Why a graph cannot be run by `provider`: ops without a kernel, in the graph or in any of
// its subgraphs (If, Loop, Scan bodies). Empty when it can.
void find_missing_ops(const edgeopt::Graph& g, const std::vector<std::string>& providers,
                      std::set<std::string>& missing) {
  const auto& registry = edgeopt::rt::KernelRegistry::global();
  for (const edgeopt::Node& n : g.nodes) {
    const std::string op = (n.domain.empty() ? "" : n.domain + ".") + n.op_type;
    if (std::none_of(providers.begin(), providers.end(),
                     [&](const std::string& p) { return registry.has_op(p, n.domain, n.op_type); }))
      missing.insert(op);
    for (const edgeopt::Attribute& a : n.attributes) {
      if (a.g) find_missing_ops(*a.g, providers, missing);
      for (const auto& sub : a.graphs) find_missing_ops(*sub, providers, missing);
    }
  }
}

std::string value_str(const edgeopt::Tensor& t, int64_t i) {
  std::ostringstream os;
  os.precision(9);
  if (edgeopt::dtype_is_float(t.dtype()))
    os << t.get_f64(i);
  else if (t.dtype() == edgeopt::DType::kU64)
    os << t.data<uint64_t>()[i];
  else
    os << t.get_i64(i);
  return os.str();
}

// Empty when `got` matches `want` (dtype, shape, values); else what differs.
// `truncated_bf16`: `want` is a bfloat16 tensor that the test data stored as uint16 bit
// patterns, made by truncating float; a value rounded to nearest even may then be one step of
// the bit pattern away from it.
std::string compare(const edgeopt::Tensor& got, const edgeopt::Tensor& want,
                    bool truncated_bf16 = false) {
  using edgeopt::DType;
  if (got.dtype() != want.dtype())
    return std::string("dtype ") + edgeopt::dtype_name(got.dtype()) + ", expected " +
           edgeopt::dtype_name(want.dtype());
  if (got.shape() != want.shape())
    return "shape " + edgeopt::shape_str(got.shape()) + ", expected " +
           edgeopt::shape_str(want.shape());
  if (!got.has_data() && got.numel() > 0) return "output has no data";
  const int64_t n = want.numel();
  int64_t bad = 0, first = -1;
  double max_diff = 0;
  if (want.dtype() == DType::kString) {
    for (int64_t i = 0; i < n; ++i)
      if (got.strings()[i] != want.strings()[i] && bad++ == 0) first = i;
    if (!bad) return "";
    return std::to_string(bad) + " of " + std::to_string(n) + " strings differ, first at " +
           std::to_string(first) + ": '" + got.strings()[first] + "', expected '" +
           want.strings()[first] + "'";
  }
  if (truncated_bf16 && want.dtype() == DType::kBF16) {
    const auto* a = got.data<uint16_t>();
    const auto* b = want.data<uint16_t>();
    for (int64_t i = 0; i < n; ++i)
      if (std::abs(int{a[i]} - int{b[i]}) > 1 && bad++ == 0) first = i;
  } else if (edgeopt::dtype_is_float(want.dtype())) {
    for (int64_t i = 0; i < n; ++i) {
      const double a = got.get_f64(i), b = want.get_f64(i);
      if (std::isnan(a) && std::isnan(b)) continue;
      if (a == b) continue;  // also equal infinities
      const double d = std::fabs(a - b);
      if (!(d <= kAtol + kRtol * std::fabs(b))) {
        if (bad++ == 0) first = i;
        if (!(d <= max_diff)) max_diff = d;  // NaN propagates into the report
      }
    }
  } else {
    // Integers and bool: exact, byte for byte.
    const size_t es = edgeopt::dtype_size(want.dtype());
    const auto* a = static_cast<const uint8_t*>(got.raw());
    const auto* b = static_cast<const uint8_t*>(want.raw());
    for (int64_t i = 0; i < n; ++i)
      if (std::memcmp(a + i * es, b + i * es, es) != 0 && bad++ == 0) first = i;
  }
  if (!bad) return "";
  std::ostringstream os;
  os << bad << " of " << n << " values differ, first at " << first << ": " << value_str(got, first)
     << ", expected " << value_str(want, first);
  if (edgeopt::dtype_is_float(want.dtype())) os << " (max |diff| " << max_diff << ")";
  return os.str();
}

std::vector<fs::path> numbered_files(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

// The model with graph inputs past the first `keep` real inputs removed: a test omits
// trailing optional inputs, and the nodes then see them as absent ("").
edgeopt::Model drop_trailing_inputs(edgeopt::Model m, size_t keep) {
  std::set<std::string> dropped;
  std::vector<edgeopt::ValueInfo> inputs;
  size_t real = 0;
  for (const edgeopt::ValueInfo& v : m.graph.inputs) {
    const bool init = m.graph.find_initializer(v.name) != nullptr;
    if (!init && real++ >= keep)
      dropped.insert(v.name);
    else
      inputs.push_back(v);
  }
  m.graph.inputs = std::move(inputs);
  for (edgeopt::Node& n : m.graph.nodes)
    for (std::string& in : n.inputs)
      if (dropped.count(in)) in.clear();
  m.graph.invalidate_index();
  return m;
}

// The ONNX test generator stores bfloat16 data as uint16 bit patterns (numpy has no
// bfloat16): read such a tensor as bf16 where the model says bf16.
edgeopt::Tensor bf16_from_u16(const edgeopt::Tensor& t, edgeopt::DType want) {
  if (t.dtype() != edgeopt::DType::kU16 || want != edgeopt::DType::kBF16) return t;
  edgeopt::Tensor r(edgeopt::DType::kBF16, t.shape());
  if (t.nbytes()) std::memcpy(r.raw(), t.raw(), t.nbytes());
  return r;
}

Outcome run_test(const fs::path& dir, const Options& opt) {
  Outcome out;
  try {
    const edgeopt::Model model = edgeopt::load_model(dir / "model.onnx");
    std::set<std::string> missing;
    find_missing_ops(model.graph, opt.providers, missing);
    if (!missing.empty()) {
      out.status = Status::kNotAttempted;
      out.missing_ops.assign(missing.begin(), missing.end());
      out.reason = "no kernel for";
      for (const auto& op : missing) out.reason += " " + op;
      return out;
    }
    for (const auto* list : {&model.graph.inputs, &model.graph.outputs})
      for (const edgeopt::ValueInfo& v : *list)
        if (!v.raw_type.empty()) {
          out.status = Status::kNotAttempted;
          out.reason = "graph input/output '" + v.name + "' is not a plain tensor";
          out.missing_ops = {"(non-tensor value)"};
          return out;
        }
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
        sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    if (sets.empty()) {
      out.reason = "no test_data_set_* folder";
      return out;
    }
    for (const fs::path& set : sets) {
      const std::string where = set.filename().string() + ": ";
      std::vector<edgeopt::Tensor> inputs, expected;
      for (const fs::path& p : numbered_files(set, "input_"))
        inputs.push_back(edgeopt::load_tensor_pb(p));
      for (const fs::path& p : numbered_files(set, "output_"))
        expected.push_back(edgeopt::load_tensor_pb(p));
      const size_t real_inputs = model.graph.real_inputs().size();
      if (inputs.size() > real_inputs) {
        out.reason = where + std::to_string(inputs.size()) + " input files for " +
                     std::to_string(real_inputs) + " graph inputs";
        return out;
      }
      edgeopt::SessionOptions so;
      so.providers = opt.providers;
      so.reference_fallback = false;
      edgeopt::Session session(drop_trailing_inputs(model, inputs.size()), so);
      for (size_t i = 0; i < inputs.size(); ++i)
        inputs[i] = bf16_from_u16(inputs[i], session.inputs()[i].dtype);
      // Twice: the second run reuses the plan and arena the first one cached, and kernels
      // must not depend on state a previous run left.
      for (const char* run : {"", "second run: "}) {
        std::vector<edgeopt::Tensor> got = session.run(inputs);
        if (got.size() != expected.size()) {
          out.reason = where + run + "model gives " + std::to_string(got.size()) +
                       " outputs, test has " + std::to_string(expected.size());
          return out;
        }
        for (size_t i = 0; i < got.size(); ++i) {
          const bool truncated_bf16 = expected[i].dtype() == edgeopt::DType::kU16 &&
                                      got[i].dtype() == edgeopt::DType::kBF16;
          const std::string diff =
              compare(got[i], bf16_from_u16(expected[i], got[i].dtype()), truncated_bf16);
          if (!diff.empty()) {
            out.reason = where + run + "output " + std::to_string(i) + " '" +
                         session.outputs()[i].name + "': " + diff;
            return out;
          }
        }
      }
    }
    out.status = Status::kPass;
  } catch (const edgeopt::Error& e) {
    out.reason = e.what();
  } catch (const std::exception& e) {
    out.reason = std::string("exception: ") + e.what();
  }
  return out;
}

// Outcome as text for the pipe from the child: status letter, reason, then one missing op a
// line.
std::string encode(const Outcome& o) {
  std::string s = o.status == Status::kPass ? "P" : o.status == Status::kFail ? "F" : "S";
  std::string reason = o.reason;
  std::replace(reason.begin(), reason.end(), '\n', ' ');
  s += "\n" + reason + "\n";
  for (const auto& op : o.missing_ops) s += op + "\n";
  return s;
}

Outcome decode(const std::string& s) {
  Outcome o;
  std::istringstream in(s);
  std::string status, line;
  std::getline(in, status);
  std::getline(in, o.reason);
  while (std::getline(in, line)) o.missing_ops.push_back(line);
  o.status = status == "P" ? Status::kPass : status == "S" ? Status::kNotAttempted : Status::kFail;
  return o;
}

// Runs one test in a child process; a crash or a hang becomes a failed test.
Outcome run_isolated(const fs::path& dir, const Options& opt) {
  std::cout.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (pipe(fds) != 0) return run_test(dir, opt);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return run_test(dir, opt);
  }
  if (pid == 0) {
    close(fds[0]);
    alarm(kTimeoutSeconds);
    const std::string msg = encode(run_test(dir, opt));
    size_t done = 0;
    while (done < msg.size()) {
      const ssize_t w = write(fds[1], msg.data() + done, msg.size() - done);
      if (w <= 0) break;
      done += static_cast<size_t>(w);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[4096];
  for (;;) {
    const ssize_t r = read(fds[0], buf, sizeof buf);
    if (r > 0)
      msg.append(buf, static_cast<size_t>(r));
    else if (r < 0 && errno == EINTR)
      continue;
    else
      break;
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    Outcome o;
    const int sig = WTERMSIG(status);
    o.reason = sig == SIGALRM ? "timed out after " + std::to_string(kTimeoutSeconds) + " s"
                              : std::string("crashed: ") + strsignal(sig);
    return o;
  }
  if (msg.empty()) {
    Outcome o;
    o.reason = "child exited with status " + std::to_string(WEXITSTATUS(status));
    return o;
  }
  return decode(msg);
}

Options parse_args(int argc, char** argv) {
  Options opt;
  bool skip_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--data")
      opt.data = value();
    else if (a == "--skip") {
      opt.skip = value();
      skip_given = true;
    } else if (a == "--provider") {
      opt.provider = value();
    } else if (a == "--filter") {
      std::istringstream list(value());
      for (std::string f; std::getline(list, f, ',');)
        if (!f.empty()) opt.filters.push_back(f);
    } else if (a == "--verbose" || a == "-v")
      opt.verbose = true;
    else if (a == "--no-fork")
      opt.fork = false;
    else if (a == "--run-skipped")
      opt.run_skipped = true;
    else if (a == "--only-skipped")
      opt.only_skipped = true;
    else if (a == "--min-passed") {
      const std::string v = value();
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 0 || n > 100000) usage_error("--min-passed needs a count");
      opt.min_passed = static_cast<int>(n);
    } else if (a == "--help" || a == "-h")
      usage_error("runs the ONNX backend node tests");
    else
      usage_error("unknown option " + a);
  }
  if (!skip_given) opt.skip = default_skip_file();
  opt.providers = edgeopt::split_provider_list(opt.provider);
  if (opt.providers.empty()) usage_error("--provider needs a provider name");
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_args(argc, argv);
  const auto providers = edgeopt::rt::KernelRegistry::global().providers();
  for (const std::string& p : opt.providers)
    if (std::find(providers.begin(), providers.end(), p) == providers.end())
      usage_error("unknown provider '" + p + "'");
  if (!fs::is_directory(opt.data)) usage_error("no test folder " + opt.data.string());
  const std::map<std::string, std::string> skip = read_skip_list(opt.skip);

  std::vector<fs::path> tests;
  for (const auto& e : fs::directory_iterator(opt.data))
    if (e.is_directory() && fs::exists(e.path() / "model.onnx")) tests.push_back(e.path());
  std::sort(tests.begin(), tests.end());

  const auto t0 = std::chrono::steady_clock::now();
  int passed = 0, failed = 0, not_attempted = 0, skip_listed = 0;
  std::map<std::string, int> missing_count;
  std::vector<std::string> passing_skipped;
  for (const fs::path& dir : tests) {
    const std::string name = dir.filename().string();
    if (!opt.filters.empty() &&
        std::none_of(opt.filters.begin(), opt.filters.end(),
                     [&](const std::string& f) { return name.find(f) != std::string::npos; }))
      continue;
    const auto sk = skip.find(name);
    if (opt.only_skipped && sk == skip.end()) continue;
    if (sk != skip.end() && !opt.run_skipped && !opt.only_skipped) {
      ++skip_listed;
      if (opt.verbose) std::cout << "SKIP " << name << ": " << sk->second << "\n";
      continue;
    }
    const Outcome o = opt.fork ? run_isolated(dir, opt) : run_test(dir, opt);
    switch (o.status) {
      case Status::kPass:
        ++passed;
        if (sk != skip.end()) passing_skipped.push_back(name);
        if (opt.verbose) std::cout << "PASS " << name << "\n";
        break;
      case Status::kFail:
        ++failed;
        std::cout << "FAIL " << name << ": " << o.reason << "\n";
        break;
      case Status::kNotAttempted:
        ++not_attempted;
        for (const auto& op : o.missing_ops) missing_count[op]++;
        if (opt.verbose) std::cout << "NOT ATTEMPTED " << name << ": " << o.reason << "\n";
        break;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::cout << "\n"
            << opt.data.string() << " (provider " << opt.provider << ", "
            << static_cast<int>(secs * 10) / 10.0 << " s)\n";
  if (!missing_count.empty()) {
    std::vector<std::pair<int, std::string>> by_count;
    for (const auto& [op, c] : missing_count) by_count.push_back({-c, op});
    std::sort(by_count.begin(), by_count.end());
    std::cout << "ops without a kernel (tests needing them):";
    int shown = 0;
    for (const auto& [c, op] : by_count) {
      if (shown++ == 40) {
        std::cout << " ...";
        break;
      }
      std::cout << " " << op << "(" << -c << ")";
    }
    std::cout << "\n";
  }
  for (const auto& n : passing_skipped)
    std::cout << (opt.only_skipped ? "error: " : "note: ") << n
              << " is in the skip list but passes: remove it from the list\n";
  std::cout << "not attempted (no kernel): " << not_attempted << ", skip list: " << skip_listed
            << "\n";
  std::cout << passed << " passed, " << failed << " failed, " << not_attempted + skip_listed
            << " skipped" << std::endl;
  if (opt.only_skipped) {
    const int ran = passed + failed;
    std::cout << ran << " skip-listed test(s) run, " << passed << " of them pass" << std::endl;
    return passed == 0 ? 0 : 1;
  }
  if (passed < opt.min_passed) {
    std::cout << "error: " << passed << " passed, fewer than the baseline's " << opt.min_passed
              << " (tests/conformance_baseline.txt): a kernel lost or a regression" << std::endl;
    return 1;
  }
  return failed == 0 ? 0 : 1;
}
