// Typed access to a recipe step's options, with one-line errors naming the key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edgeopt/error.h"

namespace edgeopt {

inline double opt_double(const nlohmann::json& o, const char* key, double def) {
  if (!o.contains(key)) return def;
  if (!o[key].is_number()) fail_input("recipe option \"", key, "\" must be a number");
  return o[key].get<double>();
}

inline int64_t opt_int(const nlohmann::json& o, const char* key, int64_t def) {
  if (!o.contains(key)) return def;
  if (!o[key].is_number_integer()) fail_input("recipe option \"", key, "\" must be an integer");
  return o[key].get<int64_t>();
}

inline bool opt_bool(const nlohmann::json& o, const char* key, bool def) {
  if (!o.contains(key)) return def;
  if (!o[key].is_boolean()) fail_input("recipe option \"", key, "\" must be true or false");
  return o[key].get<bool>();
}

inline std::string opt_string(const nlohmann::json& o, const char* key, const std::string& def) {
  if (!o.contains(key)) return def;
  if (!o[key].is_string()) fail_input("recipe option \"", key, "\" must be a string");
  return o[key].get<std::string>();
}

inline std::vector<std::string> opt_strings(const nlohmann::json& o, const char* key) {
  if (!o.contains(key)) return {};
  const nlohmann::json& v = o[key];
  if (v.is_string()) return {v.get<std::string>()};
  std::vector<std::string> out;
  if (!v.is_array()) fail_input("recipe option \"", key, "\" must be a list of strings");
  for (const auto& x : v) {
    if (!x.is_string()) fail_input("recipe option \"", key, "\" must be a list of strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

}  // namespace edgeopt
