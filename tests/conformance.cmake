# ONNX backend conformance (Debian's libonnx-testdata) and torchvision real-model tests.
# Included from tests/CMakeLists.txt after GoogleTest is found.

set(EDGEOPT_ONNX_TESTDATA /usr/share/libonnx-testdata/data)
set(EDGEOPT_CONFORMANCE_SKIP ${PROJECT_SOURCE_DIR}/tests/conformance_skip.txt)

# The runner finds the checked-in skip list by default.
target_compile_definitions(edgeopt_conformance PRIVATE
  EDGEOPT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# The checked-in baseline: per provider and folder, how many tests pass. A test that passes
# no test fails (tests whose ops have no kernel are counted as skipped), so without it a lost
# kernel registration would pass unnoticed; with it, fewer passes than the baseline fail.
set(EDGEOPT_CONFORMANCE_BASELINE ${PROJECT_SOURCE_DIR}/tests/conformance_baseline.txt)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${EDGEOPT_CONFORMANCE_BASELINE})
file(STRINGS ${EDGEOPT_CONFORMANCE_BASELINE} baseline_lines REGEX "^[a-z]")
foreach(line IN LISTS baseline_lines)
  string(REGEX MATCH "^([a-z]+) +([a-z-]+) +([0-9]+)" matched "${line}")
  if(NOT matched)
    message(FATAL_ERROR "${EDGEOPT_CONFORMANCE_BASELINE}: bad line '${line}'")
  endif()
  set(baseline_${CMAKE_MATCH_1}_${CMAKE_MATCH_2} ${CMAKE_MATCH_3})
endforeach()

# One CTest test per provider and test-data folder; each runs every test of the folder and
# passes iff none fails and at least the baseline's count pass. With onednn or xnnpack first,
# the nodes it takes run on it (the fused and laid-out graphs its rewrite makes included), the
# reference provider runs the rest.
foreach(provider reference onednn xnnpack)
  foreach(folder node simple pytorch-converted pytorch-operator)
    string(REPLACE "-" "_" suffix ${folder})
    if(provider STREQUAL "reference")
      set(name onnx_conformance_${suffix})
      if(folder STREQUAL "node")
        set(name onnx_conformance)
      endif()
      set(providers reference)
    else()
      set(name onnx_conformance_${provider}_${suffix})
      set(providers ${provider},reference)
    endif()
    if(NOT DEFINED baseline_${provider}_${folder})
      message(FATAL_ERROR "${EDGEOPT_CONFORMANCE_BASELINE}: no line for ${provider} ${folder}")
    endif()
    add_test(NAME ${name}
      COMMAND edgeopt_conformance --data ${EDGEOPT_ONNX_TESTDATA}/${folder}
              --skip ${EDGEOPT_CONFORMANCE_SKIP} --provider ${providers}
              --min-passed ${baseline_${provider}_${folder}})
    set_tests_properties(${name} PROPERTIES TIMEOUT 900)
  endforeach()
endforeach()
# The skip list stays true: an entry whose test now passes fails this test.
add_test(NAME onnx_conformance_skip_list
  COMMAND edgeopt_conformance --data ${EDGEOPT_ONNX_TESTDATA}/node
          --skip ${EDGEOPT_CONFORMANCE_SKIP} --only-skipped)

# torchvision models exported by PyTorch (Debian's python3-torch), cached in the build folder.
# --prune-models too: the grouped-conv and channel-shuffle families are read by the pruning
# tests and by c_api_lite_vs_tool, whichever runs first.
set(EDGEOPT_FIXTURES_DIR ${PROJECT_BINARY_DIR}/fixtures)
add_test(NAME make_fixtures
  COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/make_torchvision_fixtures.py
          ${EDGEOPT_FIXTURES_DIR} --fx-int8 --legacy-opsets --prune-models)
set_tests_properties(make_fixtures PROPERTIES FIXTURES_SETUP torchvision TIMEOUT 900)

file(GLOB EDGEOPT_TORCHVISION_TEST_SOURCES CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/torchvision/*.cpp)
add_executable(edgeopt_torchvision_tests ${EDGEOPT_TORCHVISION_TEST_SOURCES})
target_link_libraries(edgeopt_torchvision_tests PRIVATE edgeopt_testing edgeopt_core GTest::gtest
  GTest::gtest_main)
target_compile_definitions(edgeopt_torchvision_tests PRIVATE
  EDGEOPT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" EDGEOPT_BINARY_DIR="${PROJECT_BINARY_DIR}")
# Test names are fixed (model x opset), so discovery needs no fixtures; running them does.
gtest_discover_tests(edgeopt_torchvision_tests DISCOVERY_TIMEOUT 60
  PROPERTIES FIXTURES_REQUIRED torchvision TIMEOUT 600)
