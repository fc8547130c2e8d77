// Data-parallel training with several processes on loopback (edgeopt launch + c10d/Gloo):
// N ranks give the weights of one process over the same global batches, BatchNormalization is
// synchronised, a checkpoint resumes with another world size, and the launcher fails the job
// within seconds when a rank dies or a peer never joins. The reference is the one-process run
// of the same command (train_model without a process group, torch's own batch norm).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "edgeopt/onnx_io.h"
#include "edgeopt/process.h"
#include "edgeopt/train.h"

namespace edgeopt::train {
namespace {

namespace fs = std::filesystem;

const std::string kBin = EDGEOPT_BINARY_DIR;
const std::string kModels = std::string(EDGEOPT_SOURCE_DIR) + "/models";

fs::path scratch() {
  static const fs::path d = [] {
    fs::path p = fs::temp_directory_path() / ("edgeopt_dp_test_" + std::to_string(getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

// The scratch folder goes when the test program ends.
class RemoveScratch : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(scratch(), ec);
  }
};
const ::testing::Environment* const kRemoveScratch =
    ::testing::AddGlobalTestEnvironment(new RemoveScratch);

struct Outcome {
  int exit_code = -1;
  std::string err;
  double seconds = 0;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command line from the build folder; stderr is kept, stdout too into `out` when
// given (else dropped).
Outcome sh(const std::string& cmd, const fs::path& out = "/dev/null") {
  const fs::path err = scratch() / "stderr";
  const auto t0 = std::chrono::steady_clock::now();
  const int st = std::system(
      ("cd " + kBin + " && " + cmd + " >" + out.string() + " 2>" + err.string()).c_str());
  Outcome r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = slurp(err);
  return r;
}

// The largest |a − b| over the float initializers of two models with the same names.
double max_difference(const fs::path& a, const fs::path& b) {
  const Model ma = load_model(a), mb = load_model(b);
  double d = 0;
  for (const NamedTensor& t : ma.graph.initializers) {
    if (t.tensor.dtype() != DType::kF32) continue;
    const NamedTensor* u = mb.graph.find_initializer(t.name);
    EXPECT_NE(u, nullptr) << t.name;
    if (!u) return INFINITY;
    for (int64_t i = 0; i < t.tensor.numel(); ++i)
      d = std::max(d, std::fabs(double(t.tensor.data<float>()[i]) - u->tensor.data<float>()[i]));
  }
  return d;
}

// 20 steps: 640 samples in global batches of 32.
const std::string kTwentySteps =
    " --data fashion-mnist:train --limit 640 --batch 32 --seed 3 --epochs 1 --threads 1";

const fs::path& lenet() {
  static const fs::path p = [] {
    const fs::path m = scratch() / "lenet5.onnx";
    EXPECT_EQ(sh("./edgeopt-train zoo lenet5 -o " + m.string()).exit_code, 0);
    return m;
  }();
  return p;
}

TEST(DataParallel, TwoRanksGiveTheWeightsOfOneProcess) {
  // LeNet-5 (no BatchNormalization): the ranks' gradient halves summed by all-reduce differ
  // from one process's gradient only by the order of float additions.
  const fs::path one = scratch() / "lenet_1.onnx", two = scratch() / "lenet_2.onnx";
  ASSERT_EQ(sh("./edgeopt-train train " + lenet().string() + " -o " + one.string() + kTwentySteps +
               " --lr 0.05 --augment")
                .exit_code,
            0);
  const Outcome r = sh("./edgeopt launch -n 2 -- edgeopt-train train " + lenet().string() + " -o " +
                       two.string() + kTwentySteps + " --lr 0.05 --augment");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(max_difference(one, lenet()), 1e-2) << "the weights must have been trained";
  EXPECT_LE(max_difference(one, two), 1e-5);
  // The same with three ranks (32 samples split 11/11/10) and the gradients in 24 buckets of
  // 10 KB (LeNet-5 has 61,706 parameters), reduced while the backward pass goes on.
  const fs::path three = scratch() / "lenet_3.onnx";
  ASSERT_EQ(sh("./edgeopt launch -n 3 -- edgeopt-train train " + lenet().string() + " -o " +
               three.string() + kTwentySteps + " --lr 0.05 --augment --bucket-mb 0.01")
                .exit_code,
            0);
  EXPECT_LE(max_difference(one, three), 1e-5);
}

TEST(DataParallel, EachRankReadsItsShareOfEveryEpoch) {
  // 640 samples, 2 epochs: one process reads the set once; each of 2 ranks reads the 320
  // samples of its share of each epoch (the --json of rank 0).
  const std::string args = " --data fashion-mnist:train --limit 640 --batch 32 --epochs 2 --json";
  const fs::path one = scratch() / "read_1.json", two = scratch() / "read_2.json";
  ASSERT_EQ(sh("./edgeopt-train train " + lenet().string() + " -o " +
                   (scratch() / "read_1.onnx").string() + args,
               one)
                .exit_code,
            0);
  const Outcome r = sh("./edgeopt launch -n 2 -- edgeopt-train train " + lenet().string() + " -o " +
                           (scratch() / "read_2.onnx").string() + args,
                       two);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json a = nlohmann::json::parse(slurp(one)), b = nlohmann::json::parse(slurp(two));
  ASSERT_EQ(a.at("epochs").size(), 2u);
  ASSERT_EQ(b.at("epochs").size(), 2u);
  EXPECT_EQ(a.at("epochs")[0].at("samples_read"), 640);
  EXPECT_EQ(a.at("epochs")[1].at("samples_read"), 0);
  EXPECT_EQ(b.at("epochs")[0].at("samples_read"), 320);
  EXPECT_EQ(b.at("epochs")[1].at("samples_read"), 320);
  // Same losses: the shards hold exactly the samples the batches need.
  for (int e = 0; e < 2; ++e)
    EXPECT_NEAR(a.at("epochs")[e].at("loss").get<double>(),
                b.at("epochs")[e].at("loss").get<double>(), 1e-5);
}

TEST(DataParallel, BatchNormalizationStatisticsAreThoseOfTheGlobalBatch) {
  // --sync-bn, the bundled ResNet-8 (9 BatchNormalization nodes), two steps of fine-tuning:
  // weights and running statistics as in one process. Per-rank statistics of 16 samples
  // instead of 32 (the default) move the running statistics by about 1e-2 in one step.
  const std::string model = kModels + "/fashion_resnet8.onnx";
  const fs::path one = scratch() / "bn_1.onnx", two = scratch() / "bn_2.onnx";
  const std::string args = " --data fashion-mnist:train --limit 64 --batch 32 --seed 3";
  ASSERT_EQ(sh("./edgeopt-train finetune " + model + " -o " + one.string() + args).exit_code, 0);
  const Outcome r = sh("./edgeopt launch -n 2 -- edgeopt-train finetune " + model + " -o " +
                       two.string() + args + " --sync-bn");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GT(max_difference(one, model), 1e-3);
  EXPECT_LE(max_difference(one, two), 1e-5);
  // Without --sync-bn each rank normalises with its own 16 samples' statistics.
  const fs::path local = scratch() / "bn_local.onnx";
  ASSERT_EQ(sh("./edgeopt launch -n 2 -- edgeopt-train finetune " + model + " -o " +
               local.string() + args)
                .exit_code,
            0);
  EXPECT_GT(max_difference(one, local), 1e-3);
}

TEST(DataParallel, ResumesWithAnotherWorldSize) {
  // Epoch 1 on two ranks, epoch 2 resumed from its checkpoint in one process: the weights of
  // two epochs in one process (the checkpoint holds no trace of the world size).
  const fs::path whole = scratch() / "whole.onnx", ck = scratch() / "ck.onnx",
                 resumed = scratch() / "resumed.onnx";
  const std::string args = " --data fashion-mnist:train --limit 320 --batch 32 --seed 4 --epochs 2";
  ASSERT_EQ(
      sh("./edgeopt-train train " + lenet().string() + " -o " + whole.string() + args).exit_code,
      0);
  const Outcome first = sh("./edgeopt launch -n 2 -- edgeopt-train train " + lenet().string() +
                           " -o " + (scratch() / "first.onnx").string() + args + " --stop-after 1" +
                           " --checkpoint " + ck.string());
  ASSERT_EQ(first.exit_code, 0) << first.err;
  ASSERT_TRUE(fs::exists(ck.string() + ".state"));
  ASSERT_EQ(sh("./edgeopt-train train " + lenet().string() + " -o " + resumed.string() + args +
               " --resume " + ck.string())
                .exit_code,
            0);
  EXPECT_LE(max_difference(whole, resumed), 1e-5);
}

// The pids of the children of `parent` (from /proc).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) +
                   "/children");
  pid_t p;
  while (in >> p) out.push_back(p);
  return out;
}

TEST(DataParallel, LaunchFailsWithinSecondsWhenARankDies) {
  const std::string model = lenet().string();
  const pid_t launcher = fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    const std::string out = (scratch() / "killed.onnx").string();
    const std::string err = (scratch() / "killed.err").string();
    if (!freopen(err.c_str(), "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(99);
    execl((kBin + "/edgeopt").c_str(), "edgeopt", "launch", "-n", "2", "--", "edgeopt-train",
          "train", model.c_str(), "-o", out.c_str(), "--data", "fashion-mnist:train", "--epochs",
          "50", "--batch", "32", "--threads", "1", static_cast<char*>(nullptr));
    _exit(98);
  }
  // Both ranks running, and training (joined: the model and data are loaded by then).
  std::vector<pid_t> ranks;
  for (int i = 0; i < 300 && ranks.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ranks = children_of(launcher);
  }
  ASSERT_EQ(ranks.size(), 2u);
  std::this_thread::sleep_for(std::chrono::seconds(8));
  ASSERT_EQ(::kill(ranks[1], SIGKILL), 0);
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  pid_t done = 0;
  // Without the launcher's watch the surviving rank would block in an all-reduce for the
  // group's 10-minute timeout.
  while ((done = waitpid(launcher, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (done == 0) {
    ::kill(launcher, SIGKILL);
    for (pid_t p : ranks) ::kill(p, SIGKILL);
    waitpid(launcher, &status, 0);
    FAIL() << "launch still running 60 s after a rank was killed";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 20.0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  const std::string err = slurp(scratch() / "killed.err");
  EXPECT_NE(err.find("launch: rank 1 of 2 was killed by signal 9"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(ranks[0] > 0 ? "/proc/" + std::to_string(ranks[0]) : "/"))
      << "the other rank must be stopped";
}

TEST(DataParallel, APeerThatNeverJoinsFailsTheRankWithOneLine) {
  // Rank 1 of 2 started alone: rank 0's store never appears.
  const Outcome r =
      sh("WORLD_SIZE=2 RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=1 "
         "EDGEOPT_JOIN_TIMEOUT=2 ./edgeopt-train train " +
         lenet().string() + " -o " + (scratch() / "alone.onnx").string() +
         " --data fashion-mnist:train --limit 64");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("rank 1 of 2 could not join the job at 127.0.0.1:1 within 2 s"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_LT(r.seconds, 30.0);
}

TEST(DataParallel, BadLaunchesAreRefusedWithOneLine) {
  for (const std::string& args :
       {std::string("launch -n 2"), std::string("launch -n 0 -- edgeopt --version"),
        std::string("launch -n 2 -- /nonexistent/program"),
        std::string("launch -n 2 --node-rank 3 --nodes 2 --port 5000 -- edgeopt --version")}) {
    const Outcome r = sh("./edgeopt " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
  }
  // Malformed torchrun variables reach the rank as one line too.
  const Outcome bad =
      sh("WORLD_SIZE=2 RANK=5 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 "
         "./edgeopt-train train " +
         lenet().string() + " -o " + (scratch() / "bad.onnx").string() +
         " --data fashion-mnist:train");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("RANK='5' is not an integer in [0, 1]"), std::string::npos) << bad.err;
}

TEST(DataParallel, HostsPrintsTheCommandOfEachHost) {
  const fs::path out = scratch() / "hosts.txt";
  ASSERT_EQ(std::system(("cd " + kBin + " && ./edgeopt launch -n 2 --hosts pi1,pi2,pi3 --port " +
                         "29600 -- edgeopt finetune m.onnx -o 'a b.onnx' >" + out.string())
                            .c_str()),
            0);
  const std::string text = slurp(out);
  EXPECT_NE(text.find("pi2:  edgeopt launch -n 2 --nodes 3 --node-rank 1 --master pi1 --port "
                      "29600 --join-timeout 60 -- edgeopt finetune m.onnx -o 'a b.onnx'"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace edgeopt::train

namespace edgeopt::train {
namespace {

// ---- fit across workers ---------------------------------------------------------------------

// Starts `edgeopt ARGS...` in the background, stderr to `err`; returns its pid.
pid_t spawn(const std::vector<std::string>& args, const fs::path& err) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(err.c_str(), "w", stderr) || !freopen("/dev/null", "w", stdout)) _exit(99);
    std::vector<char*> argv{const_cast<char*>("edgeopt")};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv((kBin + "/edgeopt").c_str(), argv.data());
    _exit(98);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The bundled model, 300 evaluation samples; the objective is the size, a figure that does not
// depend on the benchmark's noise, so the pick is the same in every run on the same data.
std::vector<std::string> fit_args(const fs::path& out) {
  return {"fit",
          kModels + "/fashion_resnet8.onnx",
          "--device",
          "host",
          "--calib",
          "fashion-mnist:train",
          "--eval",
          "fashion-mnist:test",
          "--eval-limit",
          "300",
          "--objective",
          "size",
          "--bench-rounds",
          "1",
          "--bench-runs",
          "10",
          "-o",
          out.string()};
}

nlohmann::json report_of(const fs::path& out) {
  return nlohmann::json::parse(slurp(out / "report.json"));
}

// The accuracy figures of every candidate evaluated on the same samples in both reports are
// equal (the builds are deterministic); and the same candidates were built.
void expect_same_search(const nlohmann::json& a, const nlohmann::json& b) {
  EXPECT_EQ(a.at("pick"), b.at("pick"));
  ASSERT_EQ(a.at("candidates").size(), b.at("candidates").size());
  int compared = 0;
  for (size_t i = 0; i < a.at("candidates").size(); ++i) {
    const auto& x = a.at("candidates")[i];
    const auto& y = b.at("candidates")[i];
    EXPECT_EQ(x.at("name"), y.at("name"));
    EXPECT_EQ(x.at("size_bytes"), y.at("size_bytes")) << x.at("name");
    EXPECT_EQ(x.at("macs"), y.at("macs")) << x.at("name");
    if (x.at("eval_count") != y.at("eval_count")) continue;  // one run cut it on latency noise
    EXPECT_EQ(x.at("top1"), y.at("top1")) << x.at("name");
    EXPECT_EQ(x.at("agreement"), y.at("agreement")) << x.at("name");
    ++compared;
  }
  EXPECT_GE(compared, 10);
}

const nlohmann::json& local_fit() {
  static const nlohmann::json r = [] {
    const fs::path out = scratch() / "fit_local";
    EXPECT_EQ(wait_exit(spawn(fit_args(out), scratch() / "fit_local.err")), 0)
        << slurp(scratch() / "fit_local.err");
    return report_of(out);
  }();
  return r;
}

TEST(FitWorkers, TwoWorkersFindWhatOneProcessFinds) {
  const std::string address = "tcp://127.0.0.1:" + std::to_string(package::free_tcp_port());
  const pid_t w1 = spawn({"fit-worker", address}, scratch() / "w1.err");
  const pid_t w2 = spawn({"fit-worker", address}, scratch() / "w2.err");
  std::vector<std::string> args = fit_args(scratch() / "fit_two");
  args.insert(args.end(), {"--workers", address});
  const pid_t fit = spawn(args, scratch() / "fit_two.err");
  ASSERT_EQ(wait_exit(fit), 0) << slurp(scratch() / "fit_two.err");
  EXPECT_EQ(wait_exit(w1), 0) << slurp(scratch() / "w1.err");
  EXPECT_EQ(wait_exit(w2), 0) << slurp(scratch() / "w2.err");
  // Both workers built candidates.
  EXPECT_NE(slurp(scratch() / "w1.err").find("build"), std::string::npos);
  EXPECT_NE(slurp(scratch() / "w2.err").find("build"), std::string::npos);
  expect_same_search(report_of(scratch() / "fit_two"), local_fit());
}

TEST(FitWorkers, ALostWorkerLosesOnlyItsCandidate) {
  const std::string address = "tcp://127.0.0.1:" + std::to_string(package::free_tcp_port());
  const fs::path a_err = scratch() / "wa.err";
  const pid_t a = spawn({"fit-worker", address}, a_err);
  const pid_t b = spawn({"fit-worker", address}, scratch() / "wb.err");
  std::vector<std::string> args = fit_args(scratch() / "fit_lost");
  args.insert(args.end(), {"--workers", address});
  const pid_t fit = spawn(args, scratch() / "fit_lost.err");
  // Worker A is killed while it builds its second candidate.
  bool killed = false;
  for (int i = 0; i < 1200 && !killed; ++i) {
    const std::string log = slurp(a_err);
    size_t builds = 0;
    for (size_t p = log.find(": build "); p != std::string::npos; p = log.find(": build ", p + 1))
      ++builds;
    if (builds >= 2) killed = ::kill(a, SIGKILL) == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(killed) << slurp(a_err);
  wait_exit(a);
  ASSERT_EQ(wait_exit(fit), 0) << slurp(scratch() / "fit_lost.err");
  EXPECT_EQ(wait_exit(b), 0);
  const std::string log = slurp(scratch() / "fit_lost.err");
  EXPECT_NE(log.find("a worker was lost: "), std::string::npos) << log;
  expect_same_search(report_of(scratch() / "fit_lost"), local_fit());
}

TEST(FitWorkers, NoWorkerAndBadAddressesFailWithOneLine) {
  const std::string address = "tcp://127.0.0.1:" + std::to_string(package::free_tcp_port());
  std::vector<std::string> args = fit_args(scratch() / "fit_none");
  const std::string line = "EDGEOPT_JOIN_TIMEOUT=3 ./edgeopt";
  std::string cmd = line;
  for (const std::string& a : args) cmd += " " + a;
  const Outcome none = sh(cmd + " --workers " + address);
  EXPECT_EQ(none.exit_code, 2) << none.err;
  // The search's log, then the error as its last line.
  const size_t last = none.err.rfind('\n', none.err.size() - 2);
  EXPECT_EQ(none.err.find("edgeopt: error: fit: no worker alive for 3 s"),
            last == std::string::npos ? 0 : last + 1)
      << none.err;
  EXPECT_FALSE(fs::exists(scratch() / "fit_none")) << "no output for a failed search";
  for (const std::string& bad :
       {std::string("127.0.0.1:5"), std::string("tcp://host:0"), std::string("tcp://host")}) {
    const Outcome r = sh(cmd + " --workers " + bad);
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("edgeopt: error: fit workers: "), std::string::npos) << r.err;
  }
  const Outcome w = sh("./edgeopt fit-worker tcp://127.0.0.1:1 --join-timeout 2");
  EXPECT_EQ(w.exit_code, 2) << w.err;
  EXPECT_NE(w.err.find("fit-worker: cannot reach the coordinator at 127.0.0.1:1"),
            std::string::npos)
      << w.err;
  EXPECT_EQ(std::count(w.err.begin(), w.err.end(), '\n'), 1) << w.err;
}

}  // namespace
}  // namespace edgeopt::train
