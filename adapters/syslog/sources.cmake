# sources of adapters/syslog: the pure formatter, the options/targets, the
# sink with its datagram transports, the TCP queue + worker, and TLS.
list(APPEND SL_SOURCES
  adapters/syslog/format.c
  adapters/syslog/sanitize.c
  adapters/syslog/target.c
  adapters/syslog/sink.c
  adapters/syslog/tcp.c)
# TLS (RFC 5425) links OpenSSL; -DSPANLOG_WITH_SYSLOG_TLS=OFF leaves it out
# (tls:// targets are then refused with SL_ENOTSUP).
if(SPANLOG_WITH_SYSLOG_TLS)
  find_package(OpenSSL REQUIRED)
  list(APPEND SL_SOURCES adapters/syslog/tls.c)
  list(APPEND SL_LINK_LIBS OpenSSL::SSL OpenSSL::Crypto)
  list(APPEND SL_FIND_DEPENDENCIES OpenSSL)
  list(APPEND SL_PC_REQUIRES libssl libcrypto)
else()
  list(APPEND SL_SOURCES adapters/syslog/tls_none.c)
endif()
list(APPEND SL_ADAPTERS syslog)
