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

# An older caller against a newer library: the library's objects built again
# with every sized struct grown at its end (SL__ABI_TEST_TAIL), the test
# compiled without it. See tests/unit/test_abi.c.
if(NOT SPANLOG_SANITIZE STREQUAL "thread") # nothing threaded to see
  set(SL_GROWN_SOURCES "")
  foreach(f ${SL_SOURCES}) # the generated registry has an absolute path
    if(IS_ABSOLUTE ${f})
      list(APPEND SL_GROWN_SOURCES ${f})
    else()
      list(APPEND SL_GROWN_SOURCES ${PROJECT_SOURCE_DIR}/${f})
    endif()
  endforeach()
  add_library(spanlog_grown STATIC ${SL_GROWN_SOURCES})
  target_compile_definitions(spanlog_grown PRIVATE _GNU_SOURCE)
  target_compile_options(spanlog_grown PRIVATE -include
                         ${CMAKE_CURRENT_SOURCE_DIR}/unit/abi_grown.h)
  target_include_directories(spanlog_grown PUBLIC ${PROJECT_SOURCE_DIR}/include
                             ${PROJECT_BINARY_DIR}/include
                             PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(spanlog_grown PUBLIC ${SL_LINK_LIBS} ${SL_LIBM})
  add_executable(test_abi unit/test_abi.c)
  target_compile_definitions(test_abi PRIVATE _GNU_SOURCE)
  target_include_directories(test_abi PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}
                             ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(test_abi PRIVATE spanlog_grown PkgConfig::CMOCKA)
  add_test(NAME test_abi COMMAND test_abi)
  set_tests_properties(test_abi PROPERTIES TIMEOUT 60)
endif()

# scripts/deps.sh waits for a held dpkg lock, with a bound.
add_test(NAME deps_lock_wait
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/check_deps_lock.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(deps_lock_wait PROPERTIES TIMEOUT 60)
