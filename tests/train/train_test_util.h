// Helpers shared by the training tests.
#pragma once

#include <cstdint>

#include "edgeopt/data.h"
#include "edgeopt/eval.h"
#include "edgeopt/ir.h"
#include "edgeopt/session.h"

namespace edgeopt::train {

// Top-1 of `m`, run by edgeopt's runtime, on the first `limit` Fashion-MNIST test images.
inline double fashion_top1(const Model& m, int64_t limit) {
  auto data = open_dataset("fashion-mnist:test");
  EvalOptions eo;
  eo.limit = limit;
  Session s(m);
  return evaluate(s, *data, eo).metrics.top1();
}

}  // namespace edgeopt::train
