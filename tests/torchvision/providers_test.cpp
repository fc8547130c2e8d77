// `edgeopt inspect --providers` on torchvision ResNet-18: the session the CLI builds puts every
// convolution on onednn (where it is compiled in), and static quantization would make every
// Conv and the Gemm int8.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "edgeopt/session.h"

namespace fs = std::filesystem;

namespace {

TEST(InspectProviders, ResNet18ConvsRunOnOnednn) {
  const fs::path model = fs::path(EDGEOPT_BINARY_DIR) / "fixtures" / "resnet18_op13.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " is missing: run `ctest -R make_fixtures`";
  const auto have = edgeopt::available_providers();
  if (std::find(have.begin(), have.end(), "onednn") == have.end())
    GTEST_SKIP() << "onednn is not compiled in";
  const std::string cmd = std::string(EDGEOPT_BINARY_DIR) + "/edgeopt inspect " + model.string() +
                          " --providers --json";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << cmd;
  const nlohmann::json j = nlohmann::json::parse(out);
  int convs = 0, gemms = 0;
  for (const auto& n : j["nodes"]) {
    if (n["op"] == "Conv") {
      ++convs;
      EXPECT_EQ(n["provider"], "onednn") << n["name"];
      EXPECT_TRUE(n["int8"].get<bool>()) << n["name"];
    }
    if (n["op"] == "Gemm") {
      ++gemms;
      EXPECT_TRUE(n["int8"].get<bool>()) << n["name"];
    }
  }
  EXPECT_EQ(convs, 20);
  EXPECT_EQ(gemms, 1);
  EXPECT_GT(j["providers"]["onednn"]["mac_share"].get<double>(), 0.99);
  EXPECT_GT(j["int8"]["mac_share"].get<double>(), 0.99);
}

}  // namespace
