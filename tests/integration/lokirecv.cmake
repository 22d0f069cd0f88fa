# The Loki API receiver (tests/integration/loki_receiver.py) is the strict
# peer the Loki sink's integration tests push to; this self-test proves the
# receiver itself enforces Loki's rules and injects its faults as documented.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
find_program(SL_PYTHON3 python3)
if(SL_PYTHON3)
  add_test(NAME loki_receiver_selftest
           COMMAND ${SL_PYTHON3}
                   ${CMAKE_CURRENT_SOURCE_DIR}/integration/loki_receiver_selftest.py)
  set_tests_properties(loki_receiver_selftest PROPERTIES TIMEOUT 120)
else()
  message(WARNING "python3 not found: loki_receiver_selftest is not registered")
endif()
