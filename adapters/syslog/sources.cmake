# sources of adapters/syslog: the pure formatter, the options/targets, the
# sink with its datagram transports, the TCP queue + worker, and TLS.
list(APPEND SL_SOURCES
  adapters/syslog/format.c
  adapters/syslog/sanitize.c
  adapters/syslog/target.c
  adapters/syslog/sink.c
  adapters/syslog/tcp.c
  adapters/syslog/tls.c)

# TLS (RFC 5425) needs OpenSSL (Debian: libssl-dev, already pulled in by
# libcurl4-openssl-dev). The libraries are created after this file is read,
# so the link is added when the top-level directory is done; the lead may
# move these lines into the top-level CMakeLists.txt.
find_package(OpenSSL REQUIRED)
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL
  target_link_libraries spanlog_obj PRIVATE OpenSSL::SSL OpenSSL::Crypto)
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL
  target_link_libraries spanlog PRIVATE OpenSSL::SSL OpenSSL::Crypto)
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL
  target_link_libraries spanlog_static INTERFACE
  "$<BUILD_INTERFACE:OpenSSL::SSL;OpenSSL::Crypto>" "$<INSTALL_INTERFACE:ssl;crypto>")
