# The installed package and the exported symbol list. Not under sanitizers:
# the consumers are plain builds and cannot load an instrumented library.
if(NOT SPANLOG_SANITIZE)
  add_test(NAME install_consumers
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/check_install.sh
                   ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_tests_properties(install_consumers PROPERTIES TIMEOUT 300)
  add_test(NAME exported_symbols
           COMMAND python3 ${PROJECT_SOURCE_DIR}/tests/install/check_exports.py
                   $<TARGET_FILE:spanlog> ${SL_PUBLIC_HEADERS})
endif()
