// Fuzzes recipe files (`optimize --recipe`): JSON parsing and the full validation of steps and
// options that must happen before any work starts.
#include "edgeopt/error.h"
#include "edgeopt/recipe.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = edgeopt::fuzz::scratch_dir() / "recipe.json";
  edgeopt::fuzz::write_bytes(path, {reinterpret_cast<const char*>(data), size});
  try {
    (void)edgeopt::load_recipe(path);
  } catch (const edgeopt::Error&) {
  }
  return 0;
}
