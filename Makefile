# The README's two commands: `make demo` and `make test`. Both set up the machine first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PYTHON ?= /usr/bin/python3

.PHONY: setup build demo test fuzz wheel clean

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

clean:
	rm -rf $(BUILD) build-fuzz
