# ONNX Runtime agreement of every `edgeopt quantize` output format (see quantize_ort.sh).
add_test(NAME quantize_ort_agreement
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/quantize_ort.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(quantize_ort_agreement PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)

# Opsets 9-12 in, valid ONNX out: torchvision exports quantized, checked and run by ONNX Runtime
# (see opset_ort.sh).
add_test(NAME opset_ort_agreement
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/opset_ort.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(opset_ort_agreement PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900
  FIXTURES_REQUIRED torchvision)
