# The messaging libraries export exactly what their headers declare with
# SL_API (the same check as libspanlog's exported_symbols).
if(NOT SPANLOG_SANITIZE)
  foreach(lib nats kafka)
    if(TARGET spanlog-${lib})
      add_test(NAME exported_symbols_${lib}
               COMMAND python3 ${PROJECT_SOURCE_DIR}/tests/install/check_exports.py
                       $<TARGET_FILE:spanlog-${lib}>
                       ${PROJECT_SOURCE_DIR}/messaging/${lib}/include/spanlog)
    endif()
  endforeach()
  if(TARGET spanlog-nats AND TARGET spanlog-kafka)
    add_test(NAME install_messaging
             COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/check_install_messaging.sh
                     ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
    set_tests_properties(install_messaging PROPERTIES TIMEOUT 300)
  endif()
endif()
# The carriers on in-memory header stores (no broker needed).
if(TARGET spanlog-nats_static AND TARGET spanlog-kafka_static)
  sl_add_test(test_msg_carriers SOURCES unit/test_msg_carriers.c
              LIBS spanlog-nats_static spanlog-kafka_static TIMEOUT 60)
endif()
