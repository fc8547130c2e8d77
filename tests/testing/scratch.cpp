#include "scratch.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace edgeopt::test {

std::filesystem::path test_scratch_dir(const std::string& prefix) {
  const ::testing::TestInfo* t = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = t ? std::string(t->test_suite_name()) + "_" + t->name() : "none";
  for (char& c : name)
    if (c == '/') c = '_';  // parameterized names
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    (prefix + "_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::map<std::string, float> quantize_scales(const Model& m) {
  std::map<std::string, float> out;
  for (const Node& n : m.graph.nodes) {
    if (n.op_type != "QuantizeLinear") continue;
    const NamedTensor* s = m.graph.find_initializer(n.inputs.at(1));
    if (s && s->tensor.numel() == 1) out[n.inputs[0]] = s->tensor.data<float>()[0];
  }
  return out;
}

}  // namespace edgeopt::test
