# messaging/: trace propagation over NATS and Kafka, as two small libraries
# beside libspanlog (libspanlog-nats, libspanlog-kafka). The core never
# depends on them: a build without libnats or librdkafka simply has fewer
# libraries. Each is built from the public spanlog API only, so the shared
# library links against an unchanged libspanlog; a static twin (linked to
# spanlog_static) serves the tests and anyone linking statically.
#
# SPANLOG_WITH_NATS / SPANLOG_WITH_KAFKA: AUTO (default: built when the
# client library is found), ON (required: an error when it is missing), OFF.
set(SPANLOG_WITH_NATS AUTO CACHE STRING "NATS carrier and helpers: AUTO, ON or OFF")
set(SPANLOG_WITH_KAFKA AUTO CACHE STRING "Kafka carrier and helpers: AUTO, ON or OFF")
set_property(CACHE SPANLOG_WITH_NATS PROPERTY STRINGS AUTO ON OFF)
set_property(CACHE SPANLOG_WITH_KAFKA PROPERTY STRINGS AUTO ON OFF)

set(SL_MESSAGING_LIBS "")

# sl_messaging_lib(NAME PKG HEADER SOURCES...): NAME's shared and static
# libraries from the common part and SOURCES, when PKG (a pkg-config
# module) is found; sets SL_HAVE_<NAME>.
function(sl_messaging_lib name option pkg header)
  string(TOUPPER ${name} up)
  set(SL_HAVE_${up} OFF PARENT_SCOPE)
  if(${option} STREQUAL "OFF")
    return()
  endif()
  if(${option} STREQUAL "ON")
    pkg_check_modules(SLDEP_${up} REQUIRED IMPORTED_TARGET ${pkg})
  else()
    pkg_check_modules(SLDEP_${up} QUIET IMPORTED_TARGET ${pkg})
    if(NOT SLDEP_${up}_FOUND)
      message(STATUS "spanlog: ${pkg} not found, libspanlog-${name} not built")
      return()
    endif()
  endif()
  set(dir ${PROJECT_SOURCE_DIR}/messaging)
  add_library(spanlog_${name}_obj OBJECT ${dir}/common/msg.c ${ARGN})
  set_target_properties(spanlog_${name}_obj PROPERTIES POSITION_INDEPENDENT_CODE ON
                        C_VISIBILITY_PRESET hidden)
  target_compile_definitions(spanlog_${name}_obj PRIVATE _GNU_SOURCE)
  target_include_directories(spanlog_${name}_obj PRIVATE ${PROJECT_SOURCE_DIR}
                             ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include
                             ${dir}/${name}/include)
  target_link_libraries(spanlog_${name}_obj PRIVATE PkgConfig::SLDEP_${up})

  add_library(spanlog-${name} SHARED $<TARGET_OBJECTS:spanlog_${name}_obj>)
  add_library(spanlog-${name}_static STATIC $<TARGET_OBJECTS:spanlog_${name}_obj>)
  set_target_properties(spanlog-${name} PROPERTIES VERSION ${PROJECT_VERSION}
                        SOVERSION ${SL_SOVERSION} C_VISIBILITY_PRESET hidden)
  set_target_properties(spanlog-${name}_static PROPERTIES OUTPUT_NAME spanlog-${name})
  foreach(t spanlog-${name} spanlog-${name}_static)
    target_include_directories(${t} PUBLIC
      $<BUILD_INTERFACE:${dir}/${name}/include>
      $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  endforeach()
  # The public header includes the client's, so users see it too.
  target_link_libraries(spanlog-${name} PUBLIC spanlog PkgConfig::SLDEP_${up})
  target_link_libraries(spanlog-${name}_static PUBLIC spanlog_static
                        PkgConfig::SLDEP_${up})
  add_library(spanlog::spanlog-${name} ALIAS spanlog-${name})

  install(TARGETS spanlog-${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES ${dir}/${name}/include/spanlog/${header}
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/spanlog)
  set(SL_MSG_NAME ${name})
  set(SL_MSG_PKG ${pkg})
  configure_file(${dir}/spanlog-msg.pc.in ${PROJECT_BINARY_DIR}/spanlog-${name}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/spanlog-${name}.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
  set(SL_HAVE_${up} ON PARENT_SCOPE)
  message(STATUS "spanlog: libspanlog-${name} (${pkg} ${SLDEP_${up}_VERSION})")
endfunction()

# The .pc files find their prefix relative to themselves, like spanlog.pc.
file(RELATIVE_PATH SL_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" SL_PC_TO_PREFIX "${SL_PC_TO_PREFIX}")

sl_messaging_lib(nats SPANLOG_WITH_NATS libnats nats.h
  ${PROJECT_SOURCE_DIR}/messaging/nats/carrier.c
  ${PROJECT_SOURCE_DIR}/messaging/nats/traced.c)
sl_messaging_lib(kafka SPANLOG_WITH_KAFKA rdkafka kafka.h
  ${PROJECT_SOURCE_DIR}/messaging/kafka/carrier.c
  ${PROJECT_SOURCE_DIR}/messaging/kafka/traced.c)
