// What the runtime asks of a node beyond its kernel (internal).
#pragma once

#include "edgeopt/ir.h"

namespace edgeopt::rt {

// Random ops: never computed ahead of a run, even when all their inputs are known.
inline bool is_nondeterministic(const Node& n) {
  return n.op_type.rfind("Random", 0) == 0 || n.op_type == "Multinomial" ||
         n.op_type == "Bernoulli";
}

}  // namespace edgeopt::rt
