// Latency statistics against hand-computed values (no timing assertions).
#include "edgeopt/bench.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

TEST(Percentile, LinearInterpolationLikeNumpy) {
  const std::vector<double> v = {1, 2, 3, 4};
  // rank = p/100 · (n − 1)
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);   // rank 1.5
  EXPECT_DOUBLE_EQ(percentile(v, 90), 3.7);   // rank 2.7
  EXPECT_DOUBLE_EQ(percentile(v, 95), 3.85);  // rank 2.85
  EXPECT_DOUBLE_EQ(percentile(v, 100), 4.0);
  const std::vector<double> w = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110};
  EXPECT_DOUBLE_EQ(percentile(w, 99), 109.0);  // rank 9.9
  EXPECT_DOUBLE_EQ(percentile(w, 25), 35.0);   // rank 2.5
  EXPECT_DOUBLE_EQ(percentile({7}, 99), 7.0);
  EXPECT_THROW(percentile({}, 50), Error);
  EXPECT_THROW(percentile(v, 101), Error);
}

TEST(LatencyStats, HandComputed) {
  const LatencyStats s = latency_stats({4, 1, 3, 2});
  EXPECT_EQ(s.runs, 4);
  EXPECT_DOUBLE_EQ(s.total_ms, 10.0);
  EXPECT_DOUBLE_EQ(s.mean_ms, 2.5);
  // Sample std: sqrt((2.25 + 0.25 + 0.25 + 2.25) / 3)
  EXPECT_DOUBLE_EQ(s.std_ms, std::sqrt(5.0 / 3.0));
  EXPECT_DOUBLE_EQ(s.min_ms, 1.0);
  EXPECT_DOUBLE_EQ(s.max_ms, 4.0);
  EXPECT_DOUBLE_EQ(s.p50_ms, 2.5);
  EXPECT_DOUBLE_EQ(s.p90_ms, 3.7);
  EXPECT_DOUBLE_EQ(s.p99_ms, 3.97);
  EXPECT_DOUBLE_EQ(latency_stats({5}).std_ms, 0.0);
}

TEST(RandomInputs, SymbolicDimsBecomeBatchThenOne) {
  ValueInfo a;
  a.name = "a";
  a.dtype = DType::kF32;
  a.has_shape = true;
  a.dims = {Dim{-1, "N"}, Dim{3, ""}, Dim{-1, "H"}};
  ValueInfo b = a;
  b.name = "b";
  b.dtype = DType::kI64;
  b.dims = {Dim{2, ""}};
  const auto t = random_inputs({a, b}, 4);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].shape(), (Shape{4, 3, 1}));
  EXPECT_EQ(t[1].shape(), (Shape{2}));
  for (int64_t i = 0; i < t[0].numel(); ++i) {
    EXPECT_GE(t[0].data<float>()[i], 0.0f);
    EXPECT_LT(t[0].data<float>()[i], 1.0f);
  }
  EXPECT_EQ(random_inputs({a}, 4)[0].data<float>()[5], t[0].data<float>()[5]);  // deterministic
  EXPECT_THROW(random_inputs({a}, 0), Error);
}

TEST(Bench, ReportsEveryField) {
  EXPECT_GT(peak_rss_bytes(), 0);
  // A saved Relu model with a symbolic batch.
  const Model m = test::relu_model({-1, 16});
  const fs::path path =
      fs::temp_directory_path() / ("edgeopt_bench_test_" + std::to_string(::getpid()) + ".onnx");
  save_model(m, path);
  SessionOptions so;
  so.profile = true;
  BenchOptions bo;
  bo.warmup = 2;
  bo.runs = 5;
  bo.batch = 3;
  const BenchResult r = bench_model(path, so, bo);
  fs::remove(path);
  EXPECT_EQ(r.batch, 3);
  EXPECT_EQ(r.latency.runs, 5);
  EXPECT_GT(r.file_bytes, 0);
  EXPECT_GT(r.peak_rss_bytes, 0);
  EXPECT_GE(r.latency.p99_ms, r.latency.p50_ms);
  EXPECT_GE(r.latency.p50_ms, r.latency.min_ms);
  EXPECT_GT(r.throughput_ips, 0);
  ASSERT_EQ(r.profile.size(), 1u);
  EXPECT_EQ(r.profile[0].op_type, "Relu");
  EXPECT_EQ(r.profile[0].calls, 5);  // warm-up runs are not profiled
  EXPECT_THROW(bench_model("/nonexistent.onnx", so, bo), Error);
}

}  // namespace
}  // namespace edgeopt
