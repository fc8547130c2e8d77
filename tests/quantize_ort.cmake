# ONNX Runtime agreement of every `edgeopt quantize` output format (see quantize_ort.sh).
add_test(NAME quantize_ort_agreement
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/quantize_ort.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(quantize_ort_agreement PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)
