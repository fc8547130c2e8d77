# The arm64 tests of `make test-arm64` (label arm64), run under qemu-aarch64 by the cross build
# (cmake/aarch64-linux-gnu.cmake). Emulated XNNPACK is 70-500x slower than native, so this is a
# bounded subset, with small inputs:
#   arm64_units                the GoogleTest suites of the reference and XNNPACK providers (and
#                              XNNPACK vs reference on the torchvision models; again on a
#                              Cortex-A72 in arm64_xnnpack_torchvision_cortex_a72)
#   onnx_conformance_xnnpack_* the ONNX backend test data on xnnpack,reference (defined in
#                              conformance.cmake): simple, pytorch-converted, pytorch-operator,
#   arm64_conformance_xnnpack_node_*  and the node tests of the ops XNNPACK takes
#   arm64_torchvision          the reference provider against PyTorch's outputs, fp32 (4 models x
#                              opsets 13, 17; XNNPACK vs reference on them is in arm64_units)
#   arm64_int8_vs_x86_<cpu>    PyTorch's FX int8 ResNet-18 on this build's default providers
#                              against the x86 build's `edgeopt run` outputs, on a Cortex-A72
#                              (Pi 4, no dot product) and qemu's `max` core (dot product, like a
#                              Pi 5)
# Not here: TorchvisionFxInt8 against PyTorch's int8 logits. Its bounds were measured at 224x224;
# at 64x64 the reference provider meets them on neither x86 nor arm64 (84.9% of the logits
# within one step, max 5 steps: a 2x2 final average pool averages fewer rounding errors).
# The torchvision fixtures are exported at 64x64 (scripts/make_torchvision_fixtures.py --size 64)
# by the host's Python into <build-arm64>/fixtures; the x86 build (EDGEOPT_HOST_BUILD_DIR) writes
# the x86 logits.
set(EDGEOPT_HOST_BUILD_DIR ${PROJECT_SOURCE_DIR}/build CACHE PATH
  "The x86 build whose edgeopt writes the int8 logits the arm64 build is compared with")
set(EDGEOPT_ARM64_FIXTURES ${PROJECT_BINARY_DIR}/fixtures)
set(EDGEOPT_ARM64_X86_DIR ${PROJECT_BINARY_DIR}/x86_logits)
# A GoogleTest run that ran no test fails, and one that skipped a test where every test must run.
set(EDGEOPT_GTEST_NONE_RAN "\\[==========\\] 0 tests from")
set(EDGEOPT_GTEST_ALL_RAN "\\[  SKIPPED \\];${EDGEOPT_GTEST_NONE_RAN}")

add_test(NAME arm64_fixtures
  COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/make_torchvision_fixtures.py
          ${EDGEOPT_ARM64_FIXTURES} --size 64 --fx-int8)
set_tests_properties(arm64_fixtures PROPERTIES FIXTURES_SETUP arm64_fixtures TIMEOUT 900
  LABELS arm64)
add_test(NAME arm64_x86_logits
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/arm64/x86_logits.sh ${EDGEOPT_HOST_BUILD_DIR}/edgeopt
          ${EDGEOPT_ARM64_FIXTURES} ${EDGEOPT_ARM64_X86_DIR} 8)
set_tests_properties(arm64_x86_logits PROPERTIES FIXTURES_SETUP arm64_x86_logits
  FIXTURES_REQUIRED arm64_fixtures TIMEOUT 300 LABELS arm64)

add_test(NAME arm64_units COMMAND edgeopt_tests
  "--gtest_filter=DType.*:Tensor.*:QuantCommon.*:Reference*:*/BackendTest.*:Onnx/*:Node/QuantConformance.*:Xnnpack*:*/XnnpackConv.*:Models/Xnnpack*-ReferenceConv.ResNet18Timing")
add_test(NAME arm64_torchvision COMMAND edgeopt_torchvision_tests
  "--gtest_filter=Models/Torchvision.ReferenceMatchesPyTorch/*")
set_tests_properties(arm64_units arm64_torchvision PROPERTIES LABELS arm64 TIMEOUT 1200
  FIXTURES_REQUIRED arm64_fixtures)
# The unit suites skip a few ONNX test-data defects (reasons in the tests); the torchvision
# tests skip only when a fixture is missing, which must not pass here.
set_tests_properties(arm64_units PROPERTIES FAIL_REGULAR_EXPRESSION "${EDGEOPT_GTEST_NONE_RAN}")
set_tests_properties(arm64_torchvision PROPERTIES FAIL_REGULAR_EXPRESSION "${EDGEOPT_GTEST_ALL_RAN}")

add_executable(edgeopt_arm64_tests ${CMAKE_CURRENT_SOURCE_DIR}/arm64/int8_x86_agreement_test.cpp)
target_include_directories(edgeopt_arm64_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/torchvision)
target_link_libraries(edgeopt_arm64_tests PRIVATE edgeopt_core GTest::gtest GTest::gtest_main)
target_compile_definitions(edgeopt_arm64_tests PRIVATE
  EDGEOPT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" EDGEOPT_BINARY_DIR="${PROJECT_BINARY_DIR}")
# XNNPACK picks its kernels by the CPU's features: its torchvision runs again on a Cortex-A72
# (arm64_units runs them on `max`).
add_test(NAME arm64_xnnpack_torchvision_cortex_a72
  COMMAND ${EDGEOPT_QEMU_AARCH64} -cpu cortex-a72 $<TARGET_FILE:edgeopt_tests>
          "--gtest_filter=Models/XnnpackTorchvision.*")
set_tests_properties(arm64_xnnpack_torchvision_cortex_a72 PROPERTIES LABELS arm64 TIMEOUT 900
  FIXTURES_REQUIRED arm64_fixtures FAIL_REGULAR_EXPRESSION "${EDGEOPT_GTEST_ALL_RAN}")

foreach(cpu max cortex-a72)
  string(REPLACE "-" "_" suffix ${cpu})
  add_test(NAME arm64_int8_vs_x86_${suffix}
    COMMAND ${EDGEOPT_QEMU_AARCH64} -cpu ${cpu} $<TARGET_FILE:edgeopt_arm64_tests>)
  set_tests_properties(arm64_int8_vs_x86_${suffix} PROPERTIES LABELS arm64 TIMEOUT 900
    FIXTURES_REQUIRED "arm64_fixtures;arm64_x86_logits"
    ENVIRONMENT "EDGEOPT_FIXTURES_DIR=${EDGEOPT_ARM64_FIXTURES};EDGEOPT_X86_DIR=${EDGEOPT_ARM64_X86_DIR}"
    FAIL_REGULAR_EXPRESSION "${EDGEOPT_GTEST_ALL_RAN}")
endforeach()

foreach(folder simple pytorch-converted pytorch-operator)
  string(REPLACE "-" "_" suffix ${folder})
  set_property(TEST onnx_conformance_xnnpack_${suffix} APPEND PROPERTY LABELS arm64)
endforeach()
# The node folder's 932 tests take over 15 minutes under qemu: its tests of the ops the XNNPACK
# provider takes (src/runtime/xnnpack/rewrite.cpp), one run per name filter. The reference
# kernels meet the rest of the node data in arm64_units (ElementwiseNodeTest,
# ReferenceShapeNodeTest, QuantConformance).
foreach(filter test_conv test_gemm pool test_relu test_add test_mul test_clip test_elu
    test_hardswish test_leakyrelu test_matmul test_sigmoid test_flatten)
  add_test(NAME arm64_conformance_xnnpack_node_${filter}
    COMMAND edgeopt_conformance --data ${EDGEOPT_ONNX_TESTDATA}/node
            --skip ${EDGEOPT_CONFORMANCE_SKIP} --provider xnnpack,reference --filter ${filter})
  set_tests_properties(arm64_conformance_xnnpack_node_${filter} PROPERTIES LABELS arm64
    TIMEOUT 900 FAIL_REGULAR_EXPRESSION "(^|[^0-9])0 passed")
endforeach()
