// Running a kernel whose outputs are not in an arena: each requested output freshly allocated
// with the dtype and shape infer() gave, scratch 64-byte aligned. The session's planning-time
// folding and dynamic runs (session.cpp) and the passes' node evaluator (evaluate.cpp) both use it.
#pragma once

#include <memory>
#include <vector>

#include "kernel.h"

namespace edgeopt::rt {

// `wanted[o]`: output o is requested (its name is not empty). Runs `kernel`, whose infer() gave
// `ictx`. Returns one tensor per output, undefined where not wanted.
inline std::vector<Tensor> run_into_fresh_outputs(Kernel& kernel, const Node& node,
                                                  const InferContext& ictx,
                                                  std::vector<const Tensor*> in,
                                                  const std::vector<bool>& wanted, int threads) {
  RunContext c;
  c.in = std::move(in);
  std::vector<Tensor> outs(wanted.size());
  for (size_t o = 0; o < wanted.size(); ++o) {
    if (!wanted[o]) continue;
    const Tensor& m = ictx.outputs()[o];
    if (!m.defined())
      throw Error(ErrorKind::kInternal, "node " + node.describe() + ": kernel set no output");
    outs[o] = Tensor(m.dtype(), m.shape());
  }
  for (Tensor& t : outs) c.out.push_back(t.defined() ? &t : nullptr);
  // Not zeroed (as the arena's scratch is not): a kernel asking for megabytes of it in a
  // dynamic run would otherwise pay a memset and the page faults of first touch per run.
  const std::unique_ptr<uint8_t[]> scratch(new uint8_t[ictx.scratch_bytes() + 64]);
  c.scratch =
      reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.get()) + 63) & ~uintptr_t{63});
  c.threads = threads;
  kernel.run(c);
  return outs;
}

}  // namespace edgeopt::rt
