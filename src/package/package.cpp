// `edgeopt package`: a deployable bundle for a device profile (docs/package.md).
//
//   DIR/MODEL.onnx [FALLBACK.onnx]   the models, byte for byte
//   DIR/lib/                         libedgeopt_rt.so for the profile's architecture and the
//                                    non-system shared libraries it loads (everything but glibc
//                                    and the GCC runtime), stripped, each finding the others in
//                                    its own folder (RUNPATH $ORIGIN)
//   DIR/include/edgeopt/c_api.h      the runtime's C API
//   DIR/example/                     main.cpp, CMakeLists.txt, build.sh OUT; input.npy and
//                                    expected_output.npy (edgeopt's output on the host)
//   DIR/CHECKLIST.md                 the deployment checklist, each item with its evidence
//   DIR/manifest.json                versions, sha256 of every file, inputs/outputs, figures
//
// Every figure comes from this run: the model's static figures (inspect), a host benchmark, the
// profile's estimate from it (as `bench --device`), and the example, built with the bundle's own
// build.sh and run (under qemu-aarch64 for an arm64 bundle on x86) on input.npy, its output
// compared with edgeopt's, on a corrupt model with the fallback, and on a bad input file. A
// bundle whose example does not build or does not agree is not written.
#include "edgeopt/package.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "edgeopt/bench.h"
#include "edgeopt/data.h"
#include "edgeopt/device.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/process.h"
#include "edgeopt/session.h"

#ifndef EDGEOPT_VERSION
#define EDGEOPT_VERSION "unknown"
#endif

namespace edgeopt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using package::find_program;
using package::ProcessResult;
using package::run_process;

// ---- files ---------------------------------------------------------------------------------

// Where the bundle's fixed files are: example/ (main.cpp, CMakeLists.txt, build.sh) and the
// C API header. Next to an installed binary (<prefix>/share/edgeopt/package/{example,include}),
// else in the source tree this was built from.
struct PackageFiles {
  fs::path example, include;
};

PackageFiles package_files() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<PackageFiles> candidates;
  if (!ec) {
    const fs::path share = exe.parent_path() / ".." / "share" / "edgeopt" / "package";
    candidates.push_back({share / "example", share / "include"});
  }
#if defined(EDGEOPT_PACKAGE_EXAMPLE_DIR) && defined(EDGEOPT_PACKAGE_INCLUDE_DIR)
  candidates.push_back({EDGEOPT_PACKAGE_EXAMPLE_DIR, EDGEOPT_PACKAGE_INCLUDE_DIR});
#endif
  for (const PackageFiles& c : candidates)
    if (fs::is_regular_file(c.example / "main.cpp", ec) &&
        fs::is_regular_file(c.include / "edgeopt" / "c_api.h", ec))
      return c;
  fail(ErrorKind::kInternal, "the bundle's example sources and C API header are not installed");
}

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1)
    fail(ErrorKind::kInternal, "sha256 failed");
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned int i = 0; i < len; ++i) {
    s += hex[digest[i] >> 4];
    s += hex[digest[i] & 15];
  }
  return s;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  if (!f.write(text.data(), static_cast<std::streamsize>(text.size())))
    fail_input("cannot write ", path.string());
}

// A temporary folder beside `out`, removed unless release()d.
class TempDir {
 public:
  TempDir(const fs::path& beside, const std::string& tag) {
    const fs::path parent = beside.parent_path().empty() ? fs::path(".") : beside.parent_path();
    std::string pattern = (parent / ("." + beside.filename().string() + "." + tag + ".XXXXXX"));
    if (!mkdtemp(pattern.data()))
      fail_input("cannot create a folder beside ", beside.string(), ": ", std::strerror(errno));
    path_ = pattern;
  }
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

// ---- the runtime library and what it loads ---------------------------------------------------

uint16_t elf_machine(const fs::path& lib) {
  std::ifstream f(lib, std::ios::binary);
  unsigned char h[20] = {};
  if (!f.read(reinterpret_cast<char*>(h), sizeof h) || std::memcmp(h,
                                                                   "\x7f"
                                                                   "ELF",
                                                                   4) != 0)
    fail_input(lib.string(), " is not an ELF shared library");
  return static_cast<uint16_t>(h[18] | (h[19] << 8));
}

uint16_t machine_of(const std::string& arch) { return arch == "aarch64" ? 183 : 62; }

std::string host_arch() { return load_device_profile("host").arch; }

// How to run a program of `arch` here: directly on the same architecture, else under qemu.
std::vector<std::string> runner(const std::string& arch, bool dotprod) {
  if (arch == host_arch()) return {};
  if (arch == "aarch64" && find_program("qemu-aarch64"))
    return {"qemu-aarch64", "-cpu", dotprod ? "max" : "cortex-a72"};
  return {"-"};  // cannot run here
}

bool is_system_library(const std::string& soname) {
  // glibc and the GCC runtime: every Linux userland has the ones its compiler targets.
  static const char* kSystem[] = {"libc.so",  "libm.so",      "libdl.so",     "libpthread.so",
                                  "librt.so", "libresolv.so", "libstdc++.so", "libgcc_s.so",
                                  "ld-linux", "linux-vdso"};
  for (const char* s : kSystem)
    if (soname.rfind(s, 0) == 0) return true;
  return false;
}

// The shared libraries `lib` loads (soname → path), as the dynamic loader resolves them
// (`ld.so --list`, what ldd does), run under qemu for another architecture.
std::vector<std::pair<std::string, fs::path>> loaded_libraries(const fs::path& lib,
                                                               const std::string& arch) {
  const std::string loader =
      arch == "aarch64" ? "/lib/ld-linux-aarch64.so.1" : "/lib64/ld-linux-x86-64.so.2";
  std::vector<std::string> argv = runner(arch, false);
  if (!argv.empty() && argv[0] == "-")
    fail_unsupported("cannot list the libraries of the ", arch,
                     " runtime here: install qemu-user (scripts/setup_arm64.sh)");
  argv.insert(argv.end(), {loader, "--list", lib.string()});
  const ProcessResult r = run_process(argv);
  if (r.exit_code != 0)
    fail_input("cannot list the libraries ", lib.string(), " loads (", loader,
               " --list): ", r.output.substr(0, r.output.find('\n')));
  std::vector<std::pair<std::string, fs::path>> libs;
  std::istringstream lines(r.output);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t arrow = line.find(" => ");
    if (arrow == std::string::npos) continue;
    std::string name = line.substr(0, arrow);
    name.erase(0, name.find_first_not_of(" \t"));
    std::string rest = line.substr(arrow + 4);
    if (rest.rfind("not found", 0) == 0)
      fail_input(lib.string(), " needs ", name, ", which is not found");
    rest = rest.substr(0, rest.find(" ("));
    if (!is_system_library(name)) libs.emplace_back(name, rest);
  }
  return libs;
}

void run_tool(const std::vector<std::string>& argv) {
  const ProcessResult r = run_process(argv);
  if (r.exit_code != 0)
    fail(ErrorKind::kInternal, argv[0], " failed on ", argv.back(), ": ",
         r.output.substr(0, r.output.find('\n')));
}

// The non-empty lines `patchelf FLAG lib` prints (--print-rpath, --print-needed).
std::vector<std::string> patchelf_print(const std::string& flag, const fs::path& lib) {
  const ProcessResult r = run_process({"patchelf", flag, lib.string()});
  if (r.exit_code != 0)
    fail(ErrorKind::kInternal, "patchelf ", flag, " failed on ", lib.string(), ": ",
         r.output.substr(0, r.output.find('\n')));
  std::vector<std::string> lines;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// How the bundled libraries find each other in lib/: libedgeopt_rt.so gets DT_RPATH $ORIGIN
// (patched in place: its build tree's RUNPATH is a longer string). Unlike DT_RUNPATH, the loader
// searches a DT_RPATH for the dependencies of the libraries its owner loads as well (XNNPACK's
// libcpuinfo), as long as those have no RUNPATH of their own; so the others are left as they are,
// but one whose RUNPATH would hide lib/ from a bundled library it needs. patchelf grows every
// file whose dynamic strings it cannot rewrite in place by a page-aligned segment (64 KiB on
// arm64: protobuf-lite 0.86 -> 1.07 MB, a lib/ larger than the libraries). Checked afterwards by
// the loader itself: every library libedgeopt_rt.so loads must resolve in lib/.
void link_in_bundle(const std::string& arch, const fs::path& lib_dir,
                    const std::vector<std::string>& names) {
  const fs::path root = lib_dir / names.front();
  if (names.size() > 1)
    run_tool({"patchelf", "--force-rpath", "--set-rpath", "$ORIGIN", root.string()});
  const std::set<std::string> bundled(names.begin(), names.end());
  for (size_t i = 1; i < names.size(); ++i) {
    const fs::path lib = lib_dir / names[i];
    const std::vector<std::string> rpath = patchelf_print("--print-rpath", lib);
    if (rpath.empty() || rpath.front() == "$ORIGIN") continue;
    for (const std::string& needed : patchelf_print("--print-needed", lib))
      if (bundled.count(needed)) {
        run_tool({"patchelf", "--set-rpath", "$ORIGIN", lib.string()});
        break;
      }
  }
  const fs::path dir = fs::weakly_canonical(lib_dir);
  for (const auto& [name, path] : loaded_libraries(fs::absolute(root), arch))
    if (fs::weakly_canonical(path).parent_path() != dir)
      fail(ErrorKind::kInternal, "the bundled ", names.front(), " loads ", name, " from ",
           path.string(), ", not from ", lib_dir.string());
}

// Copies the runtime and its non-system libraries into `lib_dir`, stripped, linked to each other
// there (link_in_bundle). Returns soname -> bytes.
std::map<std::string, int64_t> copy_runtime(const fs::path& runtime, const std::string& arch,
                                            const fs::path& lib_dir) {
  const std::string strip = arch == host_arch() ? "strip" : arch + "-linux-gnu-strip";
  for (const std::string& tool : {std::string("patchelf"), strip})
    if (!find_program(tool))
      fail_unsupported("package needs ", tool,
                       " (Debian: ", tool == "patchelf" ? "patchelf" : "binutils-aarch64-linux-gnu",
                       "; scripts/setup.sh)");
  fs::create_directories(lib_dir);
  std::vector<std::pair<std::string, fs::path>> libs = {{"libedgeopt_rt.so", runtime}};
  for (auto& l : loaded_libraries(runtime, arch)) libs.push_back(l);
  std::vector<std::string> names;
  for (const auto& [name, path] : libs) {
    const fs::path to = lib_dir / name;
    fs::copy_file(path, to, fs::copy_options::overwrite_existing);
    fs::permissions(to, fs::perms::owner_write, fs::perm_options::add);
    run_tool({strip, "--strip-unneeded", to.string()});
    names.push_back(name);
  }
  link_in_bundle(arch, lib_dir, names);
  std::map<std::string, int64_t> sizes;
  for (const std::string& name : names)
    sizes[name] = static_cast<int64_t>(fs::file_size(lib_dir / name));
  return sizes;
}

// ---- the example -----------------------------------------------------------------------------

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

void copy_example(const fs::path& from, const fs::path& dir, const std::string& arch,
                  int64_t memory_limit_bytes) {
  fs::create_directories(dir);
  fs::copy_file(from / "main.cpp", dir / "main.cpp");
  fs::copy_file(from / "CMakeLists.txt", dir / "CMakeLists.txt");
  write_text(dir / "build.sh",
             replace_all(replace_all(read_file(from / "build.sh"), "@ARCH@", arch),
                         "@MEMORY_LIMIT_BYTES@", std::to_string(memory_limit_bytes)));
  fs::permissions(dir / "build.sh",
                  fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

int64_t top1(const Tensor& t) {
  if (t.numel() == 0) return -1;
  const int64_t c = t.rank() >= 1 ? t.dim(-1) : t.numel();
  int64_t best = 0;
  for (int64_t i = 1; i < c; ++i)
    if (t.get_f64(i) > t.get_f64(best)) best = i;
  return best;
}

struct ExampleRun {
  std::string how;                  // "natively", "under qemu-aarch64 -cpu cortex-a72"
  std::vector<std::string> inputs;  // its input files in example/, one per model input
  std::string printed;              // what the run on the inputs printed
  std::string agreement;
  std::string fallback;   // the fallback run's line, or "" without --fallback
  std::string bad_input;  // the bad-input run's line and exit code
  bool done = false;
  std::string not_done;  // why the example could not run here
};

// Builds the example with the bundle's build.sh into `work` and runs it: on input.npy (its output
// compared with expected_output.npy: equal on the host's architecture, same top-1 elsewhere, where
// the kernels differ), on a corrupt model with the fallback, and on a bad input file.
// `inputs`: the example's input files in the bundle's example/, one per model input.
ExampleRun build_and_run_example(const fs::path& bundle, const fs::path& work,
                                 const std::string& model, const std::string& fallback,
                                 const std::vector<std::string>& inputs, const std::string& arch,
                                 bool dotprod) {
  ExampleRun e;
  e.inputs = inputs;
  const ProcessResult built = run_process({(bundle / "example" / "build.sh").string(), work});
  // build.sh exits 2 when this machine lacks the compiler for the bundle's architecture.
  if (built.exit_code == 2) fail_unsupported(first_line(built.output));
  if (built.exit_code != 0)
    fail(ErrorKind::kInternal, "the bundle's example did not build: ", first_line(built.output));
  const fs::path exe = work / "example";
  std::vector<std::string> prefix = runner(arch, dotprod);
  if (!prefix.empty() && prefix[0] == "-") {
    e.not_done = "no way to run " + arch + " programs here (install qemu-user)";
    return e;
  }
  e.how = prefix.empty() ? "natively" : "under " + prefix[0] + " " + prefix[1] + " " + prefix[2];
  // What the example printed, with the temporary folders' paths as the user will see them:
  // the bundle's files relative to it, the scratch files by name.
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = prefix;
    argv.push_back(exe.string());
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = run_process(argv);
    r.output =
        replace_all(replace_all(r.output, work.string() + "/", ""), bundle.string() + "/", "");
    return r;
  };
  std::string input_list;  // as the example takes them: joined by commas
  for (const std::string& f : inputs)
    input_list += (input_list.empty() ? "" : ",") + (bundle / "example" / f).string();
  const fs::path out = work / "output.npy";
  const ProcessResult r = run({(bundle / model).string(), input_list, out.string()});
  if (r.exit_code != 0)
    fail(ErrorKind::kInternal, "the bundle's example failed (exit ", r.exit_code,
         "): ", first_line(r.output));
  e.printed = r.output;
  const Tensor got = load_npy(out);
  const Tensor want = load_npy(bundle / "example" / "expected_output.npy");
  if (got.shape() != want.shape() || got.dtype() != want.dtype())
    fail(ErrorKind::kInternal, "the example's output is ", shape_str(got.shape()), ", edgeopt's ",
         shape_str(want.shape()));
  double max_diff = 0;
  for (int64_t i = 0; i < got.numel(); ++i)
    max_diff = std::max(max_diff, std::fabs(got.get_f64(i) - want.get_f64(i)));
  const bool exact =
      got.nbytes() == want.nbytes() && std::memcmp(got.raw(), want.raw(), got.nbytes()) == 0;
  if (arch == host_arch() ? !exact : top1(got) != top1(want))
    fail(ErrorKind::kInternal, "the example's output differs from edgeopt's (max |diff| ", max_diff,
         ", top-1 ", top1(got), " vs ", top1(want), ")");
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s; top-1 %lld as edgeopt's on the host, max |diff| %.3g",
                exact ? "equal to edgeopt's output bit for bit" : "not bit-identical",
                static_cast<long long>(top1(got)), max_diff);
  e.agreement = buf;

  if (!fallback.empty()) {
    const fs::path corrupt = work / "corrupt.onnx";
    write_text(corrupt, "not an ONNX model");
    const ProcessResult f = run({corrupt.string(), input_list, (work / "fallback.npy").string(),
                                 (bundle / fallback).string()});
    if (f.exit_code != 0 || f.output.find("falling back to") == std::string::npos)
      fail(ErrorKind::kInternal, "the example did not fall back (exit ", f.exit_code,
           "): ", first_line(f.output));
    e.fallback = first_line(f.output);
  }
  const fs::path bad = work / "bad.npy";
  write_text(bad, "not a .npy file");
  const ProcessResult b =
      run({(bundle / model).string(), bad.string(), (work / "bad_out.npy").string()});
  std::string line = first_line(b.output);
  if (b.exit_code != 2 || b.output.size() != line.size() + 1)
    fail(ErrorKind::kInternal, "the example's bad-input run: exit ", b.exit_code, ", output '",
         b.output, "' (want exit 2 and one line)");
  e.bad_input = "exit 2, \"" + line + "\"";
  e.done = true;
  return e;
}

// ---- figures -----------------------------------------------------------------------------------

json value_infos(const std::vector<ValueInfo>& values) {
  json a = json::array();
  for (const ValueInfo& v : values) {
    json dims = json::array();
    for (const Dim& d : v.dims)
      dims.push_back(d.is_static() ? json(d.value) : json(d.param.empty() ? "?" : d.param));
    a.push_back({{"name", v.name}, {"dtype", dtype_name(v.dtype)}, {"shape", dims}});
  }
  return a;
}

std::string mib(double bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f MiB", bytes / (1024.0 * 1024.0));
  return b;
}

std::string fixed(double v, int digits = 3) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return b;
}

std::string preprocessing_of(const Model& m) {
  for (const auto& [k, v] : m.metadata_props)
    if (k == "preprocessing" || k == "edgeopt.preprocessing") return v;
  return "";
}

struct ModelFigures {
  std::string file;
  std::string sha256;
  ModelStats stats;
  json inputs, outputs;
  std::string preprocessing;
  json ops;
};

ModelFigures model_figures(const fs::path& path, const std::string& file, const Model& m) {
  ModelFigures f;
  f.file = file;
  f.sha256 = sha256_hex(read_file(path));
  f.stats = inspect_model(m, 1, path);
  std::vector<ValueInfo> inputs;
  for (const ValueInfo* v : m.graph.real_inputs()) inputs.push_back(*v);
  f.inputs = value_infos(inputs);
  f.outputs = value_infos(m.graph.outputs);
  f.preprocessing = preprocessing_of(m);
  for (const auto& [op, n] : f.stats.ops) f.ops[op] = n;
  return f;
}

json stats_json(const ModelStats& s) {
  return {{"params", s.params},
          {"macs", s.macs},
          {"file_bytes", s.file_bytes},
          {"compressed_bytes", s.compressed_bytes},
          {"weight_bytes", s.weight_bytes},
          {"weight_bytes_by_dtype", s.weight_bytes_by_dtype},
          {"quantized_share", s.quantized_share},
          {"sparsity", s.sparsity},
          {"peak_activation_bytes", s.peak_activation_bytes}};
}

// ---- CHECKLIST.md
// --------------------------------------------------------------------------------

// "example/input_0.npy, example/input_1.npy" for the checklist.
std::string example_files(const std::vector<std::string>& files) {
  std::string s;
  for (const std::string& f : files) s += (s.empty() ? "example/" : ", example/") + f;
  return s;
}

struct Evidence {
  const PackageOptions* options;
  const DeviceProfile* device;
  int64_t memory_limit_bytes = 0;  // what the example checks the model's needs against
  std::string arch;
  ModelFigures primary;
  std::optional<ModelFigures> fallback;
  BenchResult bench;
  DeviceEstimate estimate;
  int64_t lib_bytes = 0;
  std::map<std::string, int64_t> libs;
  ExampleRun example;
};

std::string box(bool done) { return done ? "- [x] " : "- [ ] "; }

std::vector<std::pair<bool, std::string>> checklist_items(const Evidence& ev) {
  const ModelStats& s = ev.primary.stats;
  std::vector<std::pair<bool, std::string>> items;
  // Pre-deployment
  {
    const bool quantized = s.quantized_share > 0;
    const bool sparse = s.sparsity >= 0.05;
    std::string dtypes;
    for (const auto& [d, b] : s.weight_bytes_by_dtype)
      dtypes += (dtypes.empty() ? "" : ", ") + d + " " + mib(double(b));
    const std::string figures = fixed(100 * s.quantized_share, 1) +
                                "% of the MACs in quantized nodes, " + fixed(100 * s.sparsity, 1) +
                                "% zero weights; weights " + dtypes + " (" +
                                std::to_string(s.params) + " parameters, " +
                                std::to_string(s.macs) + " MACs; `edgeopt inspect`)";
    const bool known = !ev.options->optimized_evidence.empty();
    std::string text =
        "**Model optimized**: " + (known ? ev.options->optimized_evidence + "; " : std::string()) +
        figures;
    if (!quantized && !sparse && !known)
      text += ". Not done: neither quantized nor pruned (`edgeopt quantize`, `prune`, `fit`)";
    items.emplace_back(quantized || sparse || known, text);
  }
  {
    std::string text = "**Benchmarked**: host measured p50 " + fixed(ev.bench.latency.p50_ms) +
                       " ms, p95 " + fixed(ev.bench.latency.p95_ms) + " ms over " +
                       std::to_string(ev.bench.latency.runs) + " runs, 1 thread, peak RSS " +
                       mib(double(ev.bench.peak_rss_bytes)) + "; on " + ev.device->name + " " +
                       (ev.estimate.latency_measured ? "measured" : "estimated") + " p50 " +
                       fixed(ev.estimate.p50_ms) + " ms, p95 " + fixed(ev.estimate.p95_ms) +
                       " ms (" + ev.estimate.basis + ")";
    if (!ev.estimate.latency_measured)
      text += ". Not measured on the device itself: run the example there (it prints the latency)";
    items.emplace_back(ev.estimate.latency_measured, text);
  }
  if (!ev.options->accuracy_evidence.empty())
    items.emplace_back(true, "**Accuracy validated**: " + ev.options->accuracy_evidence);
  else
    items.emplace_back(false,
                       "**Accuracy validated**: not done by `package` (it has no labelled data): "
                       "`edgeopt eval MODEL --data ...`, or `fit --package`, which validates what "
                       "it picks");
  {
    const bool done = ev.example.done;
    items.emplace_back(
        done, "**Error handling**: " +
                  (done ? "the example given a file that is not .npy: " + ev.example.bad_input +
                              "; the C API returns a status and a one-line message for every "
                              "failure (no exceptions cross it)"
                        : "not done: " + ev.example.not_done));
  }
  {
    const int64_t size = s.file_bytes + ev.lib_bytes;
    const double ram = ev.estimate.peak_ram_mb * 1024 * 1024;
    const bool fits = size <= ev.device->storage_bytes && ram <= double(ev.device->ram_bytes);
    items.emplace_back(fits, "**Size and RAM within the profile's limits**: model " +
                                 mib(double(s.file_bytes)) + " + runtime libraries " +
                                 mib(double(ev.lib_bytes)) + " = " + mib(double(size)) +
                                 (size <= ev.device->storage_bytes ? " <= " : " > ") +
                                 mib(double(ev.device->storage_bytes)) + " storage; peak RAM " +
                                 mib(ram) + " (host peak RSS, same runtime and arena)" +
                                 (ram <= double(ev.device->ram_bytes) ? " <= " : " > ") +
                                 mib(double(ev.device->ram_bytes)) + " RAM");
  }
  // Deployment
  {
    std::string text =
        "**Model packaged**: " + ev.primary.file + " (ONNX, sha256 " + ev.primary.sha256 + ")";
    if (ev.fallback) text += " and " + ev.fallback->file + " (sha256 " + ev.fallback->sha256 + ")";
    text += ", lib/ (" + std::to_string(ev.libs.size()) + " libraries for " + ev.arch +
            "), include/, example/, manifest.json";
    items.emplace_back(true, text);
  }
  {
    const bool done = ev.example.done;
    std::string text = "**Inference code tested**: ";
    if (done)
      text += "example/build.sh built the example (" + ev.arch + "), which ran " + ev.example.how +
              " on " + example_files(ev.example.inputs) + ": " + ev.example.agreement;
    else
      text += "not done: " + ev.example.not_done;
    items.emplace_back(done, text);
  }
  {
    std::string text = "**Fallback strategy**: ";
    const bool done = ev.fallback && ev.example.done;
    if (done)
      text += "the example switches to " + ev.fallback->file +
              " when the first model cannot load, fails its self-check or needs more than " +
              mib(double(ev.memory_limit_bytes)) +
              " (weights + activations, as the runtime counts them); given a corrupt model it "
              "said \"" +
              ev.example.fallback + "\"";
    else
      text += "not done: no `--fallback MODEL2` given";
    items.emplace_back(done, text);
  }
  return items;
}

std::string checklist_md(const Evidence& ev,
                         const std::vector<std::pair<bool, std::string>>& items) {
  std::ostringstream md;
  md << "# Deployment checklist: " << ev.primary.file << " on " << ev.device->name << "\n\n"
     << "Written by `edgeopt package` " << EDGEOPT_VERSION << " on " << utc_now()
     << ". Every figure was measured by it on this host unless it says *estimated*; "
        "manifest.json holds them all.\n\n"
     << "Device: " << ev.device->description << " (" << ev.arch << ").\n\n"
     << "## Pre-deployment\n\n";
  for (size_t i = 0; i < 5; ++i) md << box(items[i].first) << items[i].second << "\n";
  md << "\n## Deployment\n\n";
  for (size_t i = 5; i < items.size(); ++i) md << box(items[i].first) << items[i].second << "\n";
  md << "\n## Post-deployment\n\n"
     << "- [x] **Version**: edgeopt runtime " << EDGEOPT_VERSION
     << " (`edgeopt_version()` in the C API); the model's inputs, outputs and op types are in "
        "manifest.json\n"
     << "- [x] **Checksum**: `sha256sum " << ev.primary.file << "` must print " << ev.primary.sha256
     << " (every file's is in manifest.json)\n"
     << "- [ ] **Monitor latency**: not done by `package`: the example prints each run's "
        "latency; alert when the device's p95 drifts above "
     << fixed(ev.estimate.p95_ms) << " ms ("
     << (ev.estimate.latency_measured ? "measured" : "estimated") << ")\n"
     << "- [ ] **Monitor drift**: not done: log the predicted classes' distribution on the "
        "device and compare it with the validation data's\n";
  return md.str();
}

json manifest_json(const Evidence& ev, const fs::path& dir) {
  auto model_json = [](const ModelFigures& f, const std::string& role) {
    json j = {{"file", f.file},
              {"role", role},
              {"sha256", f.sha256},
              {"inputs", f.inputs},
              {"outputs", f.outputs},
              {"ops", f.ops},
              {"figures", stats_json(f.stats)}};
    j["preprocessing"] =
        f.preprocessing.empty() ? json("not recorded in the model") : json(f.preprocessing);
    return j;
  };
  json models = json::array({model_json(ev.primary, "primary")});
  if (ev.fallback) models.push_back(model_json(*ev.fallback, "fallback"));
  json files = json::object();
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    files[fs::relative(e.path(), dir).generic_string()] = sha256_hex(read_file(e.path()));
  }
  json libs = json::object();
  for (const auto& [name, bytes] : ev.libs) libs[name] = bytes;
  return {{"format", "edgeopt-package-1"},
          {"edgeopt_version", EDGEOPT_VERSION},
          {"created", utc_now()},
          {"device",
           {{"profile", ev.device->name},
            {"arch", ev.arch},
            {"ram_bytes", ev.device->ram_bytes},
            {"storage_bytes", ev.device->storage_bytes},
            {"memory_limit_bytes", ev.memory_limit_bytes}}},
          {"models", models},
          {"runtime",
           {{"library", "lib/libedgeopt_rt.so"},
            {"libraries_bytes", libs},
            {"total_bytes", ev.lib_bytes}}},
          {"figures",
           {{"host",
             {{"p50_ms", ev.bench.latency.p50_ms},
              {"p95_ms", ev.bench.latency.p95_ms},
              {"runs", ev.bench.latency.runs},
              {"threads", 1},
              {"peak_rss_bytes", ev.bench.peak_rss_bytes},
              {"arena_bytes", ev.bench.arena_bytes}}},
            {"device",
             {{"p50_ms", ev.estimate.p50_ms},
              {"p95_ms", ev.estimate.p95_ms},
              {"peak_ram_mb", ev.estimate.peak_ram_mb},
              {"energy_mj", ev.estimate.energy_mj},
              {"latency", ev.estimate.latency_measured ? "measured" : "estimated"},
              {"basis", ev.estimate.basis}}}}},
          {"example",
           {{"ran", ev.example.done},
            {"how", ev.example.how},
            {"printed", ev.example.printed},
            {"agreement", ev.example.agreement},
            {"fallback", ev.example.fallback},
            {"bad_input", ev.example.bad_input},
            {"not_done", ev.example.not_done}}},
          {"files", files}};
}

// The providers the runtime of `arch` uses by default (session.h, default_providers()).
std::vector<std::string> target_providers(const std::string& arch) {
  if (arch == host_arch()) return default_providers();
  return {"xnnpack", "reference"};
}

}  // namespace

void check_package_output(const fs::path& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) {
    const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    if (!fs::is_directory(parent, ec))
      fail_input("output folder ", out.string(), ": its parent folder does not exist");
    return;
  }
  if (!fs::is_directory(out, ec)) fail_input("output ", out.string(), " exists and is a file");
  if (!fs::is_empty(out, ec))
    fail_input("output folder ", out.string(), " exists and is not empty");
}

DeviceProfile check_package_target(const fs::path& out, const std::string& device_name,
                                   const fs::path& runtime_dir) {
  check_package_output(out);
  DeviceProfile device = load_device_profile(device_name);
  const std::string& arch = device.arch;
  if (arch != "x86_64" && arch != "aarch64")
    fail_unsupported("device ", device.name, ": no runtime build for ", arch, " (x86_64, aarch64)");
  const fs::path runtime = runtime_dir / "libedgeopt_rt.so";
  std::error_code ec;
  if (!fs::is_regular_file(runtime, ec))
    fail_input("no ", arch, " runtime library in ", runtime_dir.string(), " (",
               arch == "aarch64" ? "build it with `make runtime-arm64`, or give --runtime DIR"
                                 : "build it with `ninja edgeopt_rt`",
               ")");
  if (elf_machine(runtime) != machine_of(arch))
    fail_input(runtime.string(), " is not an ", arch, " library (device ", device.name, ")");
  return device;
}

PackageReport write_package(const PackageOptions& o) {
  // Everything a user can get wrong is checked before any work.
  const DeviceProfile device = check_package_target(o.out, o.device, o.runtime_dir);
  const std::string arch = device.arch;
  const fs::path runtime = o.runtime_dir / "libedgeopt_rt.so";
  // Inputs' open dims fixed by --shape (the bundle then holds the fixed model); other than a
  // leading batch, none may stay open: the example's input and the benchmark need sizes.
  Model primary = load_model(o.model);
  set_input_shapes(primary, o.shapes);
  require_static_dims(primary);
  std::optional<Model> fallback;
  if (!o.fallback.empty()) {
    fallback = load_model(o.fallback);
    set_input_shapes(*fallback, o.shapes);
    require_static_dims(*fallback);
  }
  const std::string primary_file = o.model.filename().string();
  std::string fallback_file = o.fallback.filename().string();
  if (fallback && fallback_file == primary_file) fallback_file = "fallback_" + fallback_file;
  // The device's providers must take every op (Session lists the ones they lack).
  SessionOptions target;
  target.providers = target_providers(arch);
  target.reference_fallback = false;
  Session primary_session(primary, target);
  if (fallback) {
    const Session fallback_session(*fallback, target);
  }

  TempDir tmp(o.out, "tmp");
  const fs::path dir = tmp.path();
  if (o.shapes.empty()) {
    fs::copy_file(o.model, dir / primary_file);
    if (fallback) fs::copy_file(o.fallback, dir / fallback_file);
  } else {
    save_model(primary, dir / primary_file);
    if (fallback) save_model(*fallback, dir / fallback_file);
  }
  // The bundle's copies must load on their own: a model whose weights are in external data
  // files (not bundled) does not.
  for (const auto& [from, file] : {std::pair{o.model, primary_file}, {o.fallback, fallback_file}}) {
    if (from.empty()) continue;
    try {
      load_model(dir / file, {.check = false, .infer_shapes = false});
    } catch (const Error&) {
      fail_unsupported(from.string(),
                       ": keeps its weights in external data files, which package "
                       "does not bundle (save the model with its weights inline)");
    }
  }

  Evidence ev;
  ev.options = &o;
  ev.device = &device;
  ev.arch = arch;
  ev.libs = copy_runtime(runtime, arch, dir / "lib");
  for (const auto& [name, bytes] : ev.libs) ev.lib_bytes += bytes;
  const PackageFiles files = package_files();
  fs::create_directories(dir / "include" / "edgeopt");
  fs::copy_file(files.include / "edgeopt" / "c_api.h", dir / "include" / "edgeopt" / "c_api.h");
  ev.memory_limit_bytes = o.memory_limit_bytes > 0 ? o.memory_limit_bytes : device.ram_bytes;
  copy_example(files.example, dir / "example", arch, ev.memory_limit_bytes);

  // The example's inputs (input.npy, or input_0.npy, input_1.npy, ... in the model's order) and
  // what edgeopt makes of them here, with the device's providers.
  std::vector<std::string> input_files;
  {
    const std::vector<Tensor> x = random_inputs(primary_session.inputs(), 1, 0);
    for (size_t i = 0; i < x.size(); ++i) {
      input_files.push_back(x.size() == 1 ? "input.npy" : "input_" + std::to_string(i) + ".npy");
      save_npy(dir / "example" / input_files.back(), x[i]);
    }
    save_npy(dir / "example" / "expected_output.npy", primary_session.run(x)[0]);
  }

  ev.primary = model_figures(o.model, primary_file, primary);
  if (fallback) ev.fallback = model_figures(o.fallback, fallback_file, *fallback);
  if (o.bench) {
    ev.bench = o.bench(o.model, std::max(1, o.bench_runs));
  } else {
    SessionOptions host;
    host.profile = true;  // the device estimate scales the per-node times
    BenchOptions bo;
    bo.runs = std::max(1, o.bench_runs);
    bo.shapes = o.shapes;
    ev.bench = bench_model(o.model, host, bo);
  }
  ev.estimate = estimate_on_device(device, ev.bench, 1);

  TempDir work(o.out, "example");
  ev.example = build_and_run_example(dir, work.path(), primary_file, fallback ? fallback_file : "",
                                     input_files, arch, device.dotprod);

  const auto items = checklist_items(ev);
  write_text(dir / "CHECKLIST.md", checklist_md(ev, items));
  PackageReport report;
  report.manifest = manifest_json(ev, dir);
  write_text(dir / "manifest.json", report.manifest.dump(2) + "\n");
  for (const auto& [done, text] : items)
    report.checklist.push_back((done ? "done: " : "not done: ") + text);

  // Into place: rename replaces an empty folder, never a non-empty one.
  std::error_code ec;
  if (fs::exists(o.out, ec)) fs::remove(o.out, ec);
  fs::rename(dir, o.out, ec);
  if (ec) fail_input("cannot move the bundle to ", o.out.string(), ": ", ec.message());
  tmp.release();
  fs::permissions(o.out, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
  report.dir = o.out;
  return report;
}

}  // namespace edgeopt
