#include "edgeopt/tensor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "edgeopt/error.h"

namespace edgeopt {
namespace {

TEST(Tensor, OwnsZeroedAlignedStorage) {
  Tensor t(DType::kF32, {2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
}

// The process's virtual size in KiB (VmSize of /proc/self/status).
int64_t virtual_kib() {
  std::ifstream f("/proc/self/status");
  std::string key;
  int64_t kib = 0;
  while (f >> key) {
    if (key == "VmSize:" && f >> kib) return kib;
    f.ignore(1 << 12, '\n');
  }
  return -1;
}

// Tensors of 2 MiB or more get a mapping of their own, trimmed to a 2 MiB boundary: freeing
// them gives every part back (a part left mapped per tensor would pile up run after run).
TEST(Tensor, LargeTensorsGiveTheirMappingsBack) {
  { const Tensor warm(DType::kF32, {(1 << 19) + 17}); }
  const int64_t before = virtual_kib();
  ASSERT_GT(before, 0);
  for (int i = 0; i < 64; ++i) {
    Tensor t(DType::kF32, {(1 << 19) + 17 * i});  // 2 MiB and a little more
    ASSERT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % (uintptr_t{2} << 20), 0u);
    t.data<float>()[t.numel() - 1] = 1.f;  // the last page is there and writable
  }
  // Left-over parts would add up to 2 MiB each (128 MiB here); allow other threads' noise.
  EXPECT_LE(virtual_kib(), before + 8 * 1024);
}

TEST(Tensor, ShapeOverflowIsInputError) {
  EXPECT_THROW(shape_numel({int64_t{1} << 40, int64_t{1} << 40}), Error);
  EXPECT_THROW(shape_numel({-1, 3}), Error);
}

TEST(DType, HalfRoundTripMatchesIeee) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);
  EXPECT_EQ(f16_to_f32(0x0001), 5.9604644775390625e-08f);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(5.9604644775390625e-08f), 0x0001);
  for (uint32_t h = 0; h < 0x7c00; ++h) EXPECT_EQ(f32_to_f16(f16_to_f32(h)), h);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}

}  // namespace
}  // namespace edgeopt
