// The `reduction` attribute of ScatterElements and ScatterND: how an update combines with the
// value already at its position.
#pragma once

#include <algorithm>
#include <string>

#include "common.h"

namespace edgeopt::rt::ref {

enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };

inline ScatterReduction parse_scatter_reduction(const Node& node) {
  const std::string r = node.attr_string("reduction", "none");
  if (r == "none") return ScatterReduction::kNone;
  if (r == "add") return ScatterReduction::kAdd;
  if (r == "mul") return ScatterReduction::kMul;
  if (r == "max") return ScatterReduction::kMax;
  if (r == "min") return ScatterReduction::kMin;
  fail_input("node ", node.describe(), ": unknown reduction '", r, "'");
}

// out = out (reduction) update
template <class T>
void scatter_combine(ScatterReduction r, T& out, T update) {
  switch (r) {
    case ScatterReduction::kNone:
      out = update;
      break;
    case ScatterReduction::kAdd:
      out = static_cast<T>(out + update);
      break;
    case ScatterReduction::kMul:
      out = static_cast<T>(out * update);
      break;
    case ScatterReduction::kMax:
      out = std::max(out, update);
      break;
    case ScatterReduction::kMin:
      out = std::min(out, update);
      break;
  }
}

}  // namespace edgeopt::rt::ref
