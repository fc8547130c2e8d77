# The README's two commands: `make demo` and `make test`. Both set up the machine first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PYTHON ?= /usr/bin/python3

.PHONY: setup build demo test test-arm64 runtime-arm64 fuzz wheel clean

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@ninja -C $(BUILD) -j $(JOBS)

# The main job on the bundled default model and data.
demo: build
	@bash scripts/demo.sh $(BUILD)

# Every test: GoogleTest suites, ONNX conformance, the real-model corpus, fuzzing of the loader
# (not the corpus models too slow for CI: `ctest -L large_models`). Prints ctest's summary.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE large_models

# A wheel of the Python bindings into $(BUILD)/dist/ (docs/python.md): packs the module the build
# made, with Debian's python3-build and no network (pyproject.toml, setup.py).
wheel: build
	@EDGEOPT_BUILD_DIR=$(BUILD) $(PYTHON) -m build --wheel --no-isolation --outdir $(BUILD)/dist .

# The arm64 build, cross-compiled (cmake/aarch64-linux-gnu.cmake) into $(ARM64_BUILD) and tested
# under qemu-aarch64: the subset labelled arm64 (tests/arm64.cmake says which). Needs the x86
# build (its Python fixtures and its int8 outputs are the reference).
ARM64_BUILD ?= build-arm64
test-arm64: build
	@bash scripts/setup_arm64.sh $(abspath $(ARM64_BUILD))/sysroot
	@cmake --no-warn-unused-cli -S . -B $(ARM64_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	  -DEDGEOPT_HOST_BUILD_DIR=$(abspath $(BUILD)) >/dev/null
	@ninja -C $(ARM64_BUILD) -j $(JOBS) edgeopt edgeopt_tests edgeopt_conformance \
	  edgeopt_torchvision_tests edgeopt_arm64_tests edgeopt_c_api_test edgeopt_c_api_test_static
	@cd $(ARM64_BUILD) && ctest --output-on-failure -j $(JOBS) -L arm64

# The arm64 runtime library alone (libedgeopt_rt.so and .a in $(ARM64_BUILD)), what
# `edgeopt package --device raspberry-pi-4` bundles (docs/package.md); no tests, no CLI.
# OPS_FROM=model.onnx: a selective build, with the kernels of that model's ops only.
OPS_FROM ?=
runtime-arm64: setup
	@bash scripts/setup_arm64.sh $(abspath $(ARM64_BUILD))/sysroot
	@cmake --no-warn-unused-cli -S . -B $(ARM64_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
	  -DEDGEOPT_OPS_FROM="$(abspath $(OPS_FROM))" \
	  -DEDGEOPT_HOST_BUILD_DIR=$(abspath $(BUILD)) >/dev/null
	@ninja -C $(ARM64_BUILD) -j $(JOBS) edgeopt_rt edgeopt_rt_static

clean:
	rm -rf $(BUILD) $(ARM64_BUILD) build-fuzz
