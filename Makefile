# The README's two commands: `make demo` and `make test`. Both set up the machine first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: setup build demo test fuzz clean

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

clean:
	rm -rf $(BUILD) build-fuzz
