// Dataset SPEC strings → datasets (syntax documented in include/edgeopt/data.h).
#include <algorithm>
#include <charconv>
#include <cmath>

#include "data/datasets.h"
#include "edgeopt/error.h"

namespace edgeopt {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
    if (p == std::string::npos) return out;
    start = p + 1;
  }
}

int64_t parse_int(const std::string& spec, const std::string& key, const std::string& v) {
  int64_t r = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), r);
  if (ec != std::errc() || end != v.data() + v.size() || r <= 0 || r > (1 << 20))
    fail_input("dataset spec '", spec, "': ", key, "=", v, " is not a positive integer");
  return r;
}

double parse_float(const std::string& spec, const std::string& key, const std::string& v) {
  double r = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), r);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || !std::isfinite(r))
    fail_input("dataset spec '", spec, "': ", key, "=", v, " is not a number");
  return r;
}

Preprocess parse_options(const std::string& spec, const std::string& query) {
  Preprocess p;
  if (query.empty()) return p;
  std::vector<std::string> seen;
  for (const std::string& opt : split(query, '&')) {
    const size_t eq = opt.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == opt.size())
      fail_input("dataset spec '", spec, "': option '", opt, "' is not key=value");
    const std::string key = opt.substr(0, eq), val = opt.substr(eq + 1);
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      fail_input("dataset spec '", spec, "': option '", key, "' is given twice");
    seen.push_back(key);
    if (key == "size") {
      p.resize = parse_int(spec, key, val);
    } else if (key == "crop") {
      const size_t x = val.find('x');
      p.crop_h = parse_int(spec, key, val.substr(0, x));
      p.crop_w = x == std::string::npos ? p.crop_h : parse_int(spec, key, val.substr(x + 1));
    } else if (key == "channels") {
      if (val != "1" && val != "3")
        fail_input("dataset spec '", spec, "': channels must be 1 or 3, got ", val);
      p.channels = val == "1" ? 1 : 3;
    } else if (key == "scale") {
      p.scale = parse_float(spec, key, val);
      if (p.scale <= 0) fail_input("dataset spec '", spec, "': scale must be positive");
    } else if (key == "mean" || key == "std") {
      std::vector<float>& dst = key == "mean" ? p.mean : p.std;
      for (const std::string& v : split(val, ','))
        dst.push_back(static_cast<float>(parse_float(spec, key, v)));
    } else {
      fail_input("dataset spec '", spec, "': unknown option '", key,
                 "' (known: size, crop, channels, scale, mean, std)");
    }
  }
  if (p.mean.size() != p.std.size())
    fail_input("dataset spec '", spec, "': mean and std need the same number of values (got ",
               p.mean.size(), " and ", p.std.size(), ")");
  for (float s : p.std)
    if (s == 0) fail_input("dataset spec '", spec, "': std must not be 0");
  if (p.mean.size() != 1 && p.mean.size() != 0 && p.mean.size() != 3)
    fail_input("dataset spec '", spec, "': mean/std take 1 or 3 values, got ", p.mean.size());
  const int channels = p.channels;
  if (p.mean.size() > 1 && channels && static_cast<int>(p.mean.size()) != channels)
    fail_input("dataset spec '", spec, "': ", p.mean.size(), " mean/std values for ", channels,
               " channel(s)");
  return p;
}

// "[DIR][:SPLIT]" after an IDX prefix → (dir, train).
std::pair<fs::path, bool> idx_location(const std::string& spec, const std::string& rest,
                                       const fs::path& default_dir) {
  std::string dir = rest, split_name = "test";
  const size_t colon = rest.rfind(':');
  if (rest == "test" || rest == "train") {
    dir.clear();
    split_name = rest;
  } else if (colon != std::string::npos) {
    const std::string tail = rest.substr(colon + 1);
    if (tail != "test" && tail != "train")
      fail_input("dataset spec '", spec, "': split must be 'test' or 'train', got '", tail, "'");
    dir = rest.substr(0, colon);
    split_name = tail;
  }
  std::error_code ec;
  if (!dir.empty() && colon == std::string::npos && !fs::is_directory(dir, ec))
    fail_input("dataset spec '", spec, "': '", dir,
               "' is neither a split (test, train) nor a folder");
  if (dir.empty()) {
    if (default_dir.empty())
      fail_input("dataset spec '", spec, "': give the IDX folder, e.g. mnist:/data/mnist:test");
    dir = default_dir.string();
  }
  return {fs::path(dir), split_name == "train"};
}

}  // namespace

std::unique_ptr<Dataset> open_dataset(const std::string& spec) {
  if (spec.empty()) fail_input("empty dataset spec");
  const size_t q = spec.find('?');
  const std::string source = spec.substr(0, q);
  const Preprocess pre = parse_options(spec, q == std::string::npos ? "" : spec.substr(q + 1));
  if (source == "fashion-mnist" || source.rfind("fashion-mnist:", 0) == 0) {
    const std::string rest = source.size() > 14 ? source.substr(14) : "";
    const auto [dir, train] = idx_location(spec, rest, kFashionMnistDir);
    std::error_code ec;
    if (!fs::is_directory(dir, ec) && dir == fs::path(kFashionMnistDir))
      fail_input("fashion-mnist: ", dir.string(),
                 " not found (install the Debian package dataset-fashion-mnist)");
    return data::open_idx_dataset(dir, train, pre, "fashion-mnist", kFashionMnistClasses);
  }
  if (source.rfind("mnist:", 0) == 0) {
    const auto [dir, train] = idx_location(spec, source.substr(6), {});
    return data::open_idx_dataset(dir, train, pre, "mnist", {});
  }
  const fs::path path(source);
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    fail_input("dataset '", source,
               "': no such file or folder (a spec is fashion-mnist[:test|"
               ":train], mnist:DIR[:SPLIT], FILE.npz, FILE.npy or an image FOLDER)");
  if (fs::is_directory(st)) return data::open_image_folder(path, pre);
  if (path.extension() == ".npz") return data::open_npz_dataset(path, pre);
  if (path.extension() == ".npy") return data::open_npy_dataset(path, pre);
  fail_input("dataset '", source,
             "': unknown format (expected an .npz, a .npy or an image folder)");
}

void require_labels(const Dataset& data, const std::string& what) {
  if (!data.labelled())
    fail_input(data.describe(), ": ", what,
               " needs labels (an .npz with arrays x and y, an image folder with one "
               "sub-folder per class, or an IDX dataset)");
}

}  // namespace edgeopt
