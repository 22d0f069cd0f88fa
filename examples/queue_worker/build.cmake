# examples/queue_worker: included by examples/CMakeLists.txt. The NATS worker
# needs libspanlog-nats, the Kafka one libspanlog-kafka; each is built only
# when its library is.
if(TARGET spanlog-nats)
  add_executable(queue_worker ${CMAKE_CURRENT_LIST_DIR}/worker.c)
  target_compile_definitions(queue_worker PRIVATE _GNU_SOURCE)
  target_link_libraries(queue_worker PRIVATE spanlog-nats PkgConfig::JANSSON
                        Threads::Threads)
endif()
if(TARGET spanlog-kafka)
  add_executable(kafka_worker ${CMAKE_CURRENT_LIST_DIR}/kafka_worker.c)
  target_compile_definitions(kafka_worker PRIVATE _GNU_SOURCE)
  target_link_libraries(kafka_worker PRIVATE spanlog-kafka Threads::Threads)
endif()
