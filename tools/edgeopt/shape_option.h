// --shape NAME:1x3x640x640 (repeatable), shared by the commands that take a model whose inputs
// may have symbolic dims.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "edgeopt/input_shapes.h"
#include "edgeopt/ir.h"

namespace edgeopt::cli {

inline void add_shape_option(CLI::App& sub, std::vector<std::string>& shapes) {
  sub.add_option("--shape", shapes,
                 "Fix an input's dims, NAME:1x3x640x640 (NAME may be left out for a "
                 "single-input model); repeatable")
      ->allow_extra_args(false);
}

// The model with the --shape dims applied (parsed here, so a malformed one is one line).
inline Model with_shapes(Model model, const std::vector<std::string>& shapes) {
  std::vector<InputShape> parsed;
  for (const std::string& s : shapes) parsed.push_back(parse_input_shape(s));
  set_input_shapes(model, parsed);
  return model;
}

}  // namespace edgeopt::cli
