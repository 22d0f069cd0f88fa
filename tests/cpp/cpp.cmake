# The public headers from C++: tests/cpp/test_cpp.cpp built by every C++
# compiler found (g++ and clang++, both required in CI) at C++17 and C++20.
find_program(SL_GXX g++)
find_program(SL_CLANGXX clang++)
set(SL_CPP_COMPILERS "")
foreach(c SL_GXX SL_CLANGXX)
  if(${c})
    list(APPEND SL_CPP_COMPILERS ${${c}})
  endif()
endforeach()
if(SL_CPP_COMPILERS)
  set(SL_CPP_SAN "")
  if(SPANLOG_SANITIZE)
    set(SL_CPP_SAN "-fsanitize=${SPANLOG_SANITIZE} -fno-omit-frame-pointer")
    # One sanitizer runtime per process: only the C++ compiler of the
    # library's C compiler's family can link against the instrumented library.
    if(CMAKE_C_COMPILER_ID STREQUAL "GNU" AND SL_GXX)
      set(SL_CPP_COMPILERS ${SL_GXX})
    elseif(CMAKE_C_COMPILER_ID MATCHES "Clang" AND SL_CLANGXX)
      set(SL_CPP_COMPILERS ${SL_CLANGXX})
    endif()
  endif()
  add_test(NAME test_cpp_headers
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cpp/run.sh ${PROJECT_SOURCE_DIR}
                   ${PROJECT_BINARY_DIR} $<TARGET_FILE:spanlog> "${SL_CPP_SAN}"
                   ${SL_CPP_COMPILERS})
  set_tests_properties(test_cpp_headers PROPERTIES TIMEOUT 600
                       ENVIRONMENT "CC=${CMAKE_C_COMPILER}")
endif()

# The headers as a C11 compiler without GNU extensions (and without the
# __atomic builtins: poisoned) sees them.
foreach(variant stdatomic volatile)
  set(extra "")
  if(variant STREQUAL "volatile")
    set(extra "-D__STDC_NO_ATOMICS__")
  endif()
  add_test(NAME headers_c11_${variant}
           COMMAND ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror -U__GNUC__
                   -U__clang__ -D__atomic_load_n=sl_no_such_builtin ${extra}
                   -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_BINARY_DIR}/include -fsyntax-only
                   ${CMAKE_CURRENT_SOURCE_DIR}/cpp/any_c11.c)
endforeach()

# The headers from the source tree's include/ alone, without the build's
# generated <spanlog/features.h> (a program pointed at a checkout): C11, and
# C++17 for each C++ compiler. test_cpp.cpp logs with every macro (tests/
# for its capture helper, which includes only the public headers).
add_test(NAME headers_source_tree_c11
         COMMAND ${CMAKE_C_COMPILER} -std=c11 -Wall -Wextra -Wpedantic -Werror
                 -I${PROJECT_SOURCE_DIR}/include -fsyntax-only
                 ${CMAKE_CURRENT_SOURCE_DIR}/cpp/any_c11.c)
foreach(cxx ${SL_CPP_COMPILERS})
  get_filename_component(name ${cxx} NAME)
  add_test(NAME headers_source_tree_${name}_cxx17
           COMMAND ${cxx} -std=c++17 -Wall -Wextra -Wpedantic -Werror
                   -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/tests -fsyntax-only
                   ${CMAKE_CURRENT_SOURCE_DIR}/cpp/test_cpp.cpp)
endforeach()
