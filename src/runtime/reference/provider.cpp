// The reference provider as data (kernel.h, ProviderDef): last in priority, a kernel for every
// op, behind every session's providers and the oracle of the tests.
#include "runtime/kernel.h"

namespace edgeopt::rt::ref {

EDGEOPT_REGISTER_PROVIDER("reference", /*priority=*/100, /*default_here=*/true,
                          /*fallback=*/true);

}  // namespace edgeopt::rt::ref
