// --input of the commands that feed a model data from files (run, bench): "NAME=x.npy" for the
// input NAME, a bare ".npz" for the inputs its arrays are named after, a bare ".npy" for the next
// input not given otherwise, in the model's input order.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/tensor.h"

namespace edgeopt::cli {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "name=path" when `name` is one of `names`, else ("", arg): a path may itself contain '='.
inline std::pair<std::string, std::string> split_named(const std::string& arg,
                                                       const std::vector<std::string>& names) {
  const size_t eq = arg.find('=');
  if (eq != std::string::npos) {
    const std::string name = arg.substr(0, eq);
    if (std::find(names.begin(), names.end(), name) != names.end())
      return {name, arg.substr(eq + 1)};
  }
  return {"", arg};
}

// The tensors `args` give, by input name (`names`: the model's inputs, in order). With
// `all_required`, every input must be given; otherwise the others are left out of the map.
inline std::map<std::string, Tensor> read_input_files(const std::vector<std::string>& names,
                                                      const std::vector<std::string>& args,
                                                      bool all_required) {
  std::map<std::string, Tensor> feeds;
  std::vector<std::string> positional;
  auto put = [&](const std::string& name, Tensor t, const std::string& from) {
    if (!feeds.emplace(name, std::move(t)).second)
      fail_input("input '", name, "' given twice (again by ", from, ")");
  };
  for (const std::string& a : args) {
    auto [name, path] = split_named(a, names);
    if (!name.empty()) {
      put(name, load_npy(path), path);
    } else if (ends_with(path, ".npz")) {
      for (auto& [k, t] : load_npz(path)) {
        if (std::find(names.begin(), names.end(), k) == names.end())
          fail_input(path, ": array '", k, "' matches no model input");
        put(k, std::move(t), path);
      }
    } else {
      positional.push_back(path);
    }
  }
  size_t next = 0;
  for (const std::string& path : positional) {
    while (next < names.size() && feeds.count(names[next])) ++next;
    if (next == names.size())
      fail_input(path, ": more inputs given than the model takes (", names.size(), ")");
    put(names[next], load_npy(path), path);
  }
  if (all_required) {
    std::string missing;
    for (const std::string& n : names)
      if (!feeds.count(n)) missing += (missing.empty() ? "" : ", ") + n;
    if (!missing.empty()) fail_input("missing --input for model input(s): ", missing);
  }
  return feeds;
}

}  // namespace edgeopt::cli
