# The README's two commands: `make demo` and `make test`. Both set up the machine first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PYTHON ?= /usr/bin/python3

.PHONY: setup build demo test test-arm64 test-arm64-ci runtime-arm64 fuzz wheel clean

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@ninja -C $(BUILD) -j $(JOBS)

# The main job on the bundled default model and data; it ends on a Raspberry Pi 4 under
# qemu-aarch64, with the arm64 runtime cross-built into $(ARM64_BUILD).
demo: build
	@JOBS=$(JOBS) bash scripts/demo.sh $(BUILD) $(ARM64_BUILD)

# Every test: GoogleTest suites, ONNX conformance, the real-model corpus, fuzzing of the loader
# (not the corpus models too slow for CI: `ctest -L large_models`; nor the selective runtime
# build, a second CMake tree: `ctest -L selective`). Prints ctest's summary.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'large_models|selective'

# A wheel of the Python bindings into $(BUILD)/dist/ (docs/python.md): packs the module the build
# made, with Debian's python3-build and no network (pyproject.toml, setup.py).
wheel: build
	@EDGEOPT_BUILD_DIR=$(BUILD) $(PYTHON) -m build --wheel --no-isolation --outdir $(BUILD)/dist .

# The arm64 build, cross-compiled (cmake/aarch64-linux-gnu.cmake, scripts/build_arm64.sh) into
# $(ARM64_BUILD) and tested under qemu-aarch64: every test labelled arm64 (tests/arm64.cmake says
# which). Needs the x86 build (its Python fixtures and its int8 outputs are the reference).
ARM64_BUILD ?= build-arm64
test-arm64: build
	@bash scripts/build_arm64.sh $(ARM64_BUILD) $(BUILD) $(JOBS) edgeopt edgeopt_arm64_units \
	  edgeopt_conformance edgeopt_torchvision_tests edgeopt_arm64_tests edgeopt_c_api_test \
	  edgeopt_c_api_test_static
	@cd $(ARM64_BUILD) && ctest --output-on-failure -j $(JOBS) -L arm64

# What CI runs after `make test` (.ci/run): the subset labelled arm64_ci, and only the targets it
# needs (tests/arm64.cmake says which tests and why).
test-arm64-ci: build
	@bash scripts/build_arm64.sh $(ARM64_BUILD) $(BUILD) $(JOBS) edgeopt edgeopt_arm64_units \
	  edgeopt_conformance edgeopt_arm64_tests edgeopt_c_api_test edgeopt_c_api_test_static
	@cd $(ARM64_BUILD) && ctest --output-on-failure -j $(JOBS) -L arm64_ci

# The arm64 runtime library alone (libedgeopt_rt.so and .a in $(ARM64_BUILD)), what
# `edgeopt package --device raspberry-pi-4` bundles (docs/package.md); no tests, no CLI.
# OPS_FROM=model.onnx: a selective build, with the kernels of that model's ops only.
OPS_FROM ?=
runtime-arm64: setup
	@EDGEOPT_OPS_FROM="$(if $(OPS_FROM),$(abspath $(OPS_FROM)))" \
	  bash scripts/build_arm64.sh $(ARM64_BUILD) $(BUILD) $(JOBS) edgeopt_rt edgeopt_rt_static

clean:
	rm -rf $(BUILD) $(ARM64_BUILD) build-fuzz
