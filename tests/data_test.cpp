// Datasets and .npy/.npz I/O, checked against NumPy, PIL/torchvision and the real
// Fashion-MNIST files.
#include "edgeopt/data.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "edgeopt/error.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

const char* kPython = "/usr/bin/python3";

bool have_python_numpy() {
  static const bool ok =
      fs::exists(kPython) && std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0;
  return ok;
}

// A fresh temp folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("edgeopt_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// Runs a Python script with the temp dir as argv[1]; true on exit status 0.
bool run_python(const TempDir& dir, const std::string& script) {
  const fs::path file = dir.path() / "script.py";
  std::ofstream(file) << script;
  const std::string cmd = std::string(kPython) + " " + file.string() + " " + dir.path().string();
  return std::system(cmd.c_str()) == 0;
}

TEST(Npy, ReadsEveryDtypeWrittenByNumpy) {
  if (!have_python_numpy()) GTEST_SKIP() << "python3 numpy not available";
  TempDir dir;
  ASSERT_TRUE(run_python(dir, R"(
import sys, numpy as np
d = sys.argv[1]
base = np.arange(24).reshape(2, 3, 4) - 7
for name, dt in [('f32', np.float32), ('f64', np.float64), ('i64', np.int64), ('i32', np.int32),
                 ('i8', np.int8), ('f16', np.float16)]:
    np.save(f'{d}/{name}.npy', (base * 1.5 if dt in (np.float32, np.float64, np.float16)
                                else base).astype(dt))
np.save(f'{d}/u8.npy', (np.arange(24).reshape(2, 3, 4) * 10).astype(np.uint8))
np.save(f'{d}/bool.npy', (np.arange(24).reshape(2, 3, 4) % 3 == 0))
np.save(f'{d}/scalar.npy', np.float32(3.25))
np.save(f'{d}/vec.npy', np.array([5, 6, 7], dtype=np.int64))
np.save(f'{d}/empty.npy', np.zeros((0, 3), dtype=np.float32))
np.save(f'{d}/fortran.npy', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))
np.save(f'{d}/big.npy', np.ones((2, 3), dtype='>f4'))
np.save(f'{d}/complex.npy', np.ones((2,), dtype=np.complex64))
)"));
  const fs::path d = dir.path();
  for (const char* name : {"f32", "f64", "f16"}) {
    const Tensor t = load_npy(d / (std::string(name) + ".npy"));
    ASSERT_EQ(t.shape(), (Shape{2, 3, 4})) << name;
    for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(t.get_f64(i), (i - 7) * 1.5) << name << " " << i;
  }
  for (const char* name : {"i64", "i32", "i8"}) {
    const Tensor t = load_npy(d / (std::string(name) + ".npy"));
    ASSERT_EQ(t.shape(), (Shape{2, 3, 4})) << name;
    for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(t.get_i64(i), i - 7) << name;
  }
  EXPECT_EQ(load_npy(d / "f32.npy").dtype(), DType::kF32);
  EXPECT_EQ(load_npy(d / "i32.npy").dtype(), DType::kI32);
  const Tensor u8 = load_npy(d / "u8.npy");
  EXPECT_EQ(u8.dtype(), DType::kU8);
  for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(u8.get_i64(i), i * 10);
  const Tensor b = load_npy(d / "bool.npy");
  EXPECT_EQ(b.dtype(), DType::kBool);
  for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(b.get_i64(i), i % 3 == 0 ? 1 : 0);
  const Tensor s = load_npy(d / "scalar.npy");
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.get_f64(0), 3.25);
  EXPECT_EQ(load_npy(d / "vec.npy").shape(), (Shape{3}));
  EXPECT_EQ(load_npy(d / "empty.npy").shape(), (Shape{0, 3}));
  for (const char* bad : {"fortran.npy", "big.npy", "complex.npy", "missing.npy"})
    EXPECT_THROW(load_npy(d / bad), Error) << bad;
  try {
    load_npy(d / "fortran.npy");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Fortran"), std::string::npos) << e.what();
  }
}

TEST(Npy, WrittenFilesLoadInNumpy) {
  if (!have_python_numpy()) GTEST_SKIP() << "python3 numpy not available";
  TempDir dir;
  const fs::path d = dir.path();
  save_npy(d / "f32.npy", Tensor::from_vector<float>({1.5f, -2, 3, 4, 5, 6}, {2, 3}));
  save_npy(d / "i64.npy", Tensor::from_vector<int64_t>({-1, 2, 1LL << 40}, {3}));
  save_npy(d / "u8.npy", Tensor::from_vector<uint8_t>({0, 255}, {1, 2, 1}));
  save_npy(d / "bool.npy", Tensor::from_vector<bool>({true, false, true}, {3}));
  save_npy(d / "scalar.npy", Tensor::scalar<double>(0.125));
  save_npz(d / "pair.npz", {{"x", Tensor::from_vector<float>({1, 2}, {1, 2})},
                            {"y", Tensor::from_vector<int32_t>({7}, {1})}});
  EXPECT_TRUE(run_python(dir, R"(
import sys, numpy as np
d = sys.argv[1]
a = np.load(f'{d}/f32.npy'); assert a.dtype == np.float32 and a.shape == (2, 3), a
assert (a == np.array([[1.5, -2, 3], [4, 5, 6]], np.float32)).all()
a = np.load(f'{d}/i64.npy'); assert a.dtype == np.int64 and list(a) == [-1, 2, 1 << 40], a
a = np.load(f'{d}/u8.npy'); assert a.dtype == np.uint8 and a.shape == (1, 2, 1) and a.ravel().tolist() == [0, 255]
a = np.load(f'{d}/bool.npy'); assert a.dtype == np.bool_ and a.tolist() == [True, False, True]
a = np.load(f'{d}/scalar.npy'); assert a.shape == () and a.dtype == np.float64 and a == 0.125
z = np.load(f'{d}/pair.npz'); assert sorted(z.files) == ['x', 'y']
assert z['x'].tolist() == [[1.0, 2.0]] and z['y'].dtype == np.int32 and z['y'].tolist() == [7]
with open(f'{d}/f32.npy', 'rb') as f: head = f.read(10)
assert (10 + head[8] + 256 * head[9]) % 64 == 0
)"));
  // And back through our own reader.
  const auto arrays = load_npz(d / "pair.npz");
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays[0].first, "x");
  EXPECT_EQ(arrays[1].second.get_i64(0), 7);
}

TEST(Npz, StoredAndDeflatedArchivesStreamAsDatasets) {
  if (!have_python_numpy()) GTEST_SKIP() << "python3 numpy not available";
  TempDir dir;
  ASSERT_TRUE(run_python(dir, R"(
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.standard_normal((300, 2, 3, 3)).astype(np.float32)
y = (np.arange(300) % 4).astype(np.int64)
np.savez(f'{d}/stored.npz', x=x, y=y)
np.savez_compressed(f'{d}/deflated.npz', x=x, y=y)
np.save(f'{d}/x.npy', x)
np.savez(f'{d}/u8.npz', x=np.arange(12, dtype=np.uint8).reshape(3, 4), y=np.array([0, 1, 2], np.int32))
np.savez(f'{d}/noy.npz', x=x)
np.savez(f'{d}/fewer.npz', x=x, y=y[:10])
)"));
  const fs::path d = dir.path();
  const Tensor x = load_npy(d / "x.npy");
  for (const char* name : {"stored.npz", "deflated.npz"}) {
    auto ds = open_dataset((d / name).string());
    ASSERT_EQ(ds->size(), 300) << name;
    EXPECT_EQ(ds->sample_shape(), (Shape{2, 3, 3}));
    EXPECT_EQ(ds->num_classes(), 4);
    // Out of order reads: forward skip, then backwards (restarts the inflater).
    for (int64_t begin : {100, 7, 290, 0}) {
      const Batch b = ds->read(begin, 10);
      ASSERT_EQ(b.x.shape(), (Shape{10, 2, 3, 3}));
      for (int64_t i = 0; i < b.x.numel(); ++i)
        ASSERT_EQ(b.x.data<float>()[i], x.data<float>()[begin * 18 + i]) << name << " " << begin;
      for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(b.y.data<int64_t>()[i], (begin + i) % 4);
    }
    EXPECT_THROW(ds->read(295, 10), Error);
    // Whole-archive loading agrees.
    const auto arrays = load_npz(d / name);
    ASSERT_EQ(arrays.size(), 2u);
    EXPECT_EQ(arrays[0].second.shape(), (Shape{300, 2, 3, 3}));
    EXPECT_EQ(arrays[0].second.data<float>()[5000], x.data<float>()[5000]);
  }
  // u8 arrays scale to [0, 1] by default; mean/std apply after.
  auto u8 = open_dataset((d / "u8.npz").string());
  Batch b = u8->read(0, 3);
  EXPECT_FLOAT_EQ(b.x.data<float>()[11], 11.0f / 255.0f);
  u8 = open_dataset((d / "u8.npz").string() + "?scale=1&mean=1&std=2");
  b = u8->read(0, 3);
  EXPECT_FLOAT_EQ(b.x.data<float>()[11], (11.0f - 1.0f) / 2.0f);
  // Without y (an .npz of x alone, a .npy): the same samples, unlabelled (calibration data).
  for (const char* name : {"noy.npz", "x.npy"}) {
    auto ds = open_dataset((d / name).string());
    EXPECT_FALSE(ds->labelled()) << name;
    EXPECT_TRUE(ds->input_names().empty()) << name;
    ASSERT_EQ(ds->size(), 300) << name;
    const Batch nb = ds->read(290, 10);
    EXPECT_FALSE(nb.y.defined()) << name;
    ASSERT_EQ(nb.x.shape(), (Shape{10, 2, 3, 3}));
    for (int64_t i = 0; i < nb.x.numel(); ++i)
      ASSERT_EQ(nb.x.data<float>()[i], x.data<float>()[290 * 18 + i]) << name;
  }
  EXPECT_THROW(open_dataset((d / "fewer.npz").string()), Error);
  EXPECT_THROW(open_dataset((d / "stored.npz").string() + "?size=4"), Error);
}

TEST(Idx, FashionMnistTestSetDecodes) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto ds = open_dataset("fashion-mnist:test");
  ASSERT_EQ(ds->size(), 10000);
  EXPECT_EQ(ds->sample_shape(), (Shape{1, 28, 28}));
  ASSERT_EQ(ds->num_classes(), 10);
  EXPECT_EQ(ds->class_names()[9], "Ankle boot");
  const Batch all = ds->read(0, 10000);
  EXPECT_EQ(all.y.data<int64_t>()[0], 9);  // the first test image is an ankle boot
  EXPECT_EQ(all.y.data<int64_t>()[1], 2);
  std::vector<int64_t> per_class(10, 0);
  for (int64_t i = 0; i < 10000; ++i) per_class[all.y.data<int64_t>()[i]]++;
  for (int64_t c : per_class) EXPECT_EQ(c, 1000);
  float lo = 1, hi = 0;
  for (int64_t i = 0; i < all.x.numel(); ++i)
    lo = std::min(lo, all.x.data<float>()[i]), hi = std::max(hi, all.x.data<float>()[i]);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  // Against Python's own gzip decoding of the same file.
  if (have_python_numpy()) {
    TempDir dir;
    ASSERT_TRUE(run_python(dir, R"(
import sys, gzip, numpy as np
d = sys.argv[1]
with gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz') as f:
    raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
np.save(f'{d}/img.npy', raw[[0, 1234, 9999]])
)"));
    const Tensor ref = load_npy(dir.path() / "img.npy");
    const int64_t idx[3] = {0, 1234, 9999};
    for (int k = 0; k < 3; ++k)
      for (int64_t p = 0; p < 784; ++p)
        ASSERT_FLOAT_EQ(all.x.data<float>()[idx[k] * 784 + p],
                        ref.data<uint8_t>()[k * 784 + p] / 255.0f);
  }
  // Normalisation, RGB replication and resize options.
  auto norm = open_dataset("fashion-mnist?mean=0.5&std=0.25&channels=3&size=32");
  EXPECT_EQ(norm->sample_shape(), (Shape{3, 32, 32}));
  const Batch nb = norm->read(9998, 2);
  EXPECT_EQ(nb.x.shape(), (Shape{2, 3, 32, 32}));
  EXPECT_EQ(nb.x.data<float>()[0], nb.x.data<float>()[1024]);  // channels replicate
}

TEST(Idx, TrainSplitStreams) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto ds = open_dataset("fashion-mnist:train");
  ASSERT_EQ(ds->size(), 60000);
  const Batch first = ds->read(0, 1);
  EXPECT_EQ(first.y.data<int64_t>()[0], 9);  // the first training image is an ankle boot too
  const Batch tail = ds->read(59990, 10);
  EXPECT_EQ(tail.x.shape(), (Shape{10, 1, 28, 28}));
  auto mnist_dir = open_dataset(std::string("mnist:") + kFashionMnistDir + ":test");
  EXPECT_EQ(mnist_dir->size(), 10000);
  EXPECT_EQ(mnist_dir->class_names()[3], "3");
}

TEST(Spec, BadSpecsAreInputErrors) {
  for (const char* bad : {"", "fashion-mnist:val", "fashion-mnist?size=0", "fashion-mnist?zoom=2",
                          "fashion-mnist?mean=0.5", "fashion-mnist?mean=1,2&std=1,2&channels=1",
                          "fashion-mnist?std=0&mean=0", "fashion-mnist?channels=2",
                          "fashion-mnist?size=abc", "mnist:", "mnist:/nonexistent/dir:test",
                          "/nonexistent/file.npz", "fashion-mnist?crop=64"}) {
    try {
      open_dataset(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2) << bad;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
}

// A PNG whose IDAT chunk declares 1 GiB in a file of a few dozen bytes: refused in one line
// before stb_image (which would grow its buffer to 2 GiB first; found by fuzzing).
TEST(ImageFolder, PngChunkLongerThanTheFileIsRefused) {
  TempDir dir;
  fs::create_directories(dir.path() / "a");
  std::string png("\x89PNG\r\n\x1a\n", 8);
  auto chunk = [&](const char* type, uint32_t length, const std::string& data) {
    for (int shift = 24; shift >= 0; shift -= 8) png += static_cast<char>((length >> shift) & 0xff);
    png += type;
    png += data;
    png += std::string(4, '\0');  // CRC (stb does not check it)
  };
  // IHDR: 7x5, 8-bit RGB.
  chunk("IHDR", 13, std::string("\0\0\0\x07\0\0\0\x05\x08\x02\0\0\0", 13));
  chunk("IDAT", 1u << 30, "x\x9c");
  std::ofstream(dir.path() / "a" / "bad.png", std::ios::binary) << png;
  try {
    open_dataset(dir.path().string())->read(0, 1);
    ADD_FAILURE() << "decoded";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("corrupt PNG: chunk 'IDAT' declares 1073741824 bytes"),
              std::string::npos)
        << e.what();
  }
}

TEST(ImageFolder, MatchesTorchvisionPreprocessing) {
  if (!have_python_numpy() || std::system("/usr/bin/python3 -c 'import PIL' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3 PIL not available";
  TempDir dir;
  // Random RGB PNGs of different sizes in two classes (written out of order), and the
  // reference preprocessing done with PIL as torchvision does it (importing torch is slow):
  // Resize(20) → CenterCrop(16) → ToTensor → Normalize.
  ASSERT_TRUE(run_python(dir, R"(
import sys, os, numpy as np
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(1)
files = [('dog', 'b.png', (30, 41)), ('cat', 'x.png', (24, 24)), ('dog', 'a.png', (50, 25)),
         ('cat', 'sub/y.png', (21, 33))]
for cls, name, (h, w) in files:
    os.makedirs(os.path.dirname(f'{d}/img/{cls}/{name}'), exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(f'{d}/img/{cls}/{name}')
open(f'{d}/img/cat/notes.txt', 'w').write('not an image')
def resize(im, size):  # torchvision.transforms.Resize(size) on a PIL image
    w, h = im.size
    if w <= h: return im.resize((size, int(size * h / w)), Image.BILINEAR)
    return im.resize((int(size * w / h), size), Image.BILINEAR)
def center_crop(im, c):  # torchvision.transforms.CenterCrop(c)
    w, h = im.size
    top, left = int(round((h - c) / 2.0)), int(round((w - c) / 2.0))
    return im.crop((left, top, left + c, top + c))
mean = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
std = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]
def tf(im):
    a = np.asarray(center_crop(resize(im, 20), 16), np.float32).transpose(2, 0, 1) / 255
    return (a - mean) / std
order = [('cat', 'sub/y.png'), ('cat', 'x.png'), ('dog', 'a.png'), ('dog', 'b.png')]
np.save(f'{d}/ref.npy', np.stack([tf(Image.open(f'{d}/img/{c}/{n}').convert('RGB')) for c, n in order]))
g = center_crop(Image.open(f'{d}/img/cat/x.png').convert('L'), 20)
np.save(f'{d}/gray.npy', (np.asarray(g, np.float32) / 255)[None])
)"));
  const std::string folder = (dir.path() / "img").string();
  auto ds = open_dataset(folder + "?size=20&crop=16&mean=0.485,0.456,0.406&std=0.229,0.224,0.225");
  ASSERT_EQ(ds->size(), 4);
  EXPECT_EQ(ds->class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(ds->sample_shape(), (Shape{3, 16, 16}));
  const Batch b = ds->read(0, 4);
  EXPECT_EQ(b.y.to_i64_vector(), (std::vector<int64_t>{0, 0, 1, 1}));
  const Tensor ref = load_npy(dir.path() / "ref.npy");
  ASSERT_EQ(ref.shape(), b.x.shape());
  // PIL rounds the resized image to 8 bits; we keep floats: allow 1.5 levels / std.
  double max_err = 0;
  for (int64_t i = 0; i < ref.numel(); ++i)
    max_err = std::max(max_err, std::abs(double(ref.data<float>()[i]) - b.x.data<float>()[i]));
  EXPECT_LT(max_err, 1.5 / 255.0 / 0.224);
  // Unresized images of different sizes cannot form one batch: a clear error.
  auto raw = open_dataset(folder);
  EXPECT_THROW(raw->read(0, 4), Error);
  // Without resize pixels are exact; stb's and PIL's RGB → gray weights differ by < 2 levels.
  auto gray = open_dataset(folder + "?channels=1&crop=20");
  const Batch g = gray->read(1, 1);
  const Tensor gref = load_npy(dir.path() / "gray.npy");
  ASSERT_EQ(g.x.shape(), (Shape{1, 1, 20, 20}));
  for (int64_t i = 0; i < gref.numel(); ++i)
    EXPECT_NEAR(g.x.data<float>()[i], gref.data<float>()[i], 2.01 / 255.0);
}

}  // namespace
}  // namespace edgeopt
