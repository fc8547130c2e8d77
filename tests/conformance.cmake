# ONNX backend conformance (Debian's libonnx-testdata) and torchvision real-model tests.
# Included from tests/CMakeLists.txt after GoogleTest is found.

set(EDGEOPT_ONNX_TESTDATA /usr/share/libonnx-testdata/data)
set(EDGEOPT_CONFORMANCE_SKIP ${PROJECT_SOURCE_DIR}/tests/conformance_skip.txt)

# The runner finds the checked-in skip list by default.
target_compile_definitions(edgeopt_conformance PRIVATE
  EDGEOPT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# One CTest test per test-data folder; each runs every test of the folder and passes iff none
# fails (tests whose ops have no kernel yet are counted as skipped).
add_test(NAME onnx_conformance
  COMMAND edgeopt_conformance --data ${EDGEOPT_ONNX_TESTDATA}/node
          --skip ${EDGEOPT_CONFORMANCE_SKIP})
foreach(folder simple pytorch-converted pytorch-operator)
  string(REPLACE "-" "_" suffix ${folder})
  add_test(NAME onnx_conformance_${suffix}
    COMMAND edgeopt_conformance --data ${EDGEOPT_ONNX_TESTDATA}/${folder}
            --skip ${EDGEOPT_CONFORMANCE_SKIP})
endforeach()
set_tests_properties(onnx_conformance onnx_conformance_simple onnx_conformance_pytorch_converted
  onnx_conformance_pytorch_operator PROPERTIES TIMEOUT 900)
# The same test data with each fast provider first: the nodes it takes run on it (the fused
# and laid-out graphs its rewrite makes included), the reference provider runs the rest.
foreach(provider onednn xnnpack)
  foreach(folder node simple pytorch-converted pytorch-operator)
    string(REPLACE "-" "_" suffix ${folder})
    add_test(NAME onnx_conformance_${provider}_${suffix}
      COMMAND edgeopt_conformance --data ${EDGEOPT_ONNX_TESTDATA}/${folder}
              --skip ${EDGEOPT_CONFORMANCE_SKIP} --provider ${provider},reference)
    set_tests_properties(onnx_conformance_${provider}_${suffix} PROPERTIES TIMEOUT 900)
  endforeach()
endforeach()

# torchvision models exported by PyTorch (Debian's python3-torch), cached in the build folder.
set(EDGEOPT_FIXTURES_DIR ${PROJECT_BINARY_DIR}/fixtures)
add_test(NAME make_fixtures
  COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/make_torchvision_fixtures.py
          ${EDGEOPT_FIXTURES_DIR} --fx-int8 --legacy-opsets)
set_tests_properties(make_fixtures PROPERTIES FIXTURES_SETUP torchvision TIMEOUT 900)

file(GLOB EDGEOPT_TORCHVISION_TEST_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/torchvision/*.cpp)
add_executable(edgeopt_torchvision_tests ${EDGEOPT_TORCHVISION_TEST_SOURCES})
target_link_libraries(edgeopt_torchvision_tests PRIVATE edgeopt_core GTest::gtest
  GTest::gtest_main)
target_compile_definitions(edgeopt_torchvision_tests PRIVATE
  EDGEOPT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" EDGEOPT_BINARY_DIR="${PROJECT_BINARY_DIR}")
# Test names are fixed (model x opset), so discovery needs no fixtures; running them does.
gtest_discover_tests(edgeopt_torchvision_tests DISCOVERY_TIMEOUT 60
  PROPERTIES FIXTURES_REQUIRED torchvision TIMEOUT 600)
