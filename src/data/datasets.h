// Dataset implementations behind open_dataset(). Internal to src/data.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "edgeopt/data.h"

namespace edgeopt::data {

// IDX image/label files of an MNIST-style folder; `title` names it in messages and reports.
// `class_names` empty: "0".."9" (or up to the largest label).
std::unique_ptr<Dataset> open_idx_dataset(const std::filesystem::path& dir, bool train,
                                          const Preprocess& pre, const std::string& title,
                                          std::vector<std::string> class_names);
// Arrays x and y of an .npz file; or its arrays, unlabelled, when it has no y.
std::unique_ptr<Dataset> open_npz_dataset(const std::filesystem::path& path, const Preprocess& pre);
// One unlabelled array in a .npy file.
std::unique_ptr<Dataset> open_npy_dataset(const std::filesystem::path& path, const Preprocess& pre);
// DIR/<class>/<image> folder, or DIR/<image> (unlabelled) when DIR has no sub-folders.
std::unique_ptr<Dataset> open_image_folder(const std::filesystem::path& dir, const Preprocess& pre);

// Refuses (invalid input, naming `name`) the images Debian's stb_image would decode past its
// buffers: a JPEG whose Huffman tables overflow, a 16-bit PNM; other bytes pass unchecked
// (see image_guard.cpp).
void check_image_bytes(const std::string& bytes, const std::string& name);

// "0", "1", ..., n-1.
std::vector<std::string> numbered_classes(int64_t n);

}  // namespace edgeopt::data
