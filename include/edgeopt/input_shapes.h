// Fixing a model's symbolic input dims (`--shape NAME:1x3x640x640`), and the check that no
// symbolic dim other than the batch is left where figures or benchmark inputs depend on it.
#pragma once

#include <string>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt {

struct InputShape {
  std::string name;  // empty: the model's only input
  Shape dims;
};

// Parses "NAME:D0xD1x..." or "D0xD1x..." (positive integers); throws Error (invalid input)
// quoting the text otherwise.
InputShape parse_input_shape(const std::string& text);

// Sets the dims of the model's inputs. A shape must name an input of the model (or have no name
// when the model has one input), have its rank, and agree with its static dims; otherwise throws
// Error (invalid input) naming the input and the dim.
void set_input_shapes(Model& model, const std::vector<InputShape>& shapes);

// Throws Error (invalid input) when an input of the model has a symbolic dim other than dim 0,
// naming the input and the dim and suggesting the --shape that fixes it:
//   input 'images' dim 2 'height' is symbolic: give --shape images:1x3xHxW
void require_static_dims(const Model& model);

// Names of the inputs whose dim 0 is symbolic (what a default batch applies to).
std::vector<std::string> symbolic_batch_inputs(const Model& model);

}  // namespace edgeopt
