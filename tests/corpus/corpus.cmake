# The real-model corpus (tests/corpus/corpus.json): one CTest test per model, under the label the
# manifest gives it. `corpus` runs in `make test`; `large_models` (too slow for CI) only on demand:
#   ctest -L '^corpus$'        ctest -L large_models
# (Label arguments are regular expressions: a name without "corpus" in it keeps `ctest -L corpus`
# from picking up the large ones.) Each label has a setup test that fetches and exports its models
# into build/corpus (cached) and a summary test, run after the models, that prints the
# model x check table and fails unless every model of the label ran every check since the setup.
set(EDGEOPT_CORPUS_MANIFEST ${CMAKE_CURRENT_SOURCE_DIR}/corpus/corpus.json)
set(EDGEOPT_CORPUS_DIR ${PROJECT_BINARY_DIR}/corpus)
set(EDGEOPT_CORPUS_RUN /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/corpus/run_corpus.py
  ${EDGEOPT_CORPUS_MANIFEST} ${EDGEOPT_CORPUS_DIR})
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${EDGEOPT_CORPUS_MANIFEST})

file(READ ${EDGEOPT_CORPUS_MANIFEST} corpus_json)
string(JSON corpus_count LENGTH ${corpus_json} models)
math(EXPR corpus_last "${corpus_count} - 1")
foreach(label corpus large_models)
  add_test(NAME ${label}_setup
    COMMAND /usr/bin/python3 ${PROJECT_SOURCE_DIR}/scripts/make_corpus.py
            ${EDGEOPT_CORPUS_MANIFEST} ${EDGEOPT_CORPUS_DIR} --label ${label})
  set_tests_properties(${label}_setup PROPERTIES FIXTURES_SETUP ${label}_models TIMEOUT 1800
    LABELS ${label})
  add_test(NAME ${label}_summary COMMAND ${EDGEOPT_CORPUS_RUN} --summary --label ${label}
    --ort ${PROJECT_SOURCE_DIR}/bench/ort/run_ort.js)
  set_tests_properties(${label}_summary PROPERTIES LABELS ${label} SKIP_RETURN_CODE 77)
  set(${label}_tests "")
endforeach()
foreach(i RANGE ${corpus_last})
  string(JSON name GET ${corpus_json} models ${i} name)
  string(JSON label GET ${corpus_json} models ${i} label)
  add_test(NAME ${label}.${name}
    COMMAND ${EDGEOPT_CORPUS_RUN} --edgeopt $<TARGET_FILE:edgeopt>
            --ort ${PROJECT_SOURCE_DIR}/bench/ort/run_ort.js --model ${name}
            --python=$<$<TARGET_EXISTS:edgeopt_python>:${PROJECT_BINARY_DIR}/python>)
  set_tests_properties(${label}.${name} PROPERTIES FIXTURES_REQUIRED ${label}_models
    LABELS ${label} TIMEOUT 1800 SKIP_RETURN_CODE 77)
  list(APPEND ${label}_tests ${label}.${name})
endforeach()
# The summary runs after the models of its run (it is not a fixture cleanup, so that running one
# model alone does not fail on the others).
foreach(label corpus large_models)
  set_tests_properties(${label}_summary PROPERTIES DEPENDS "${${label}_tests}")
endforeach()
# The gate's own logic (unexpected passes, other errors, tolerances are caught).
add_test(NAME corpus_gate_test
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/corpus/run_corpus_test.py)
set_tests_properties(corpus_gate_test PROPERTIES LABELS corpus)
