# sources of adapters/syslog: the pure formatter, the options/targets, the
# sink with its datagram transports, the TCP queue + worker, and TLS.
list(APPEND SL_SOURCES
  adapters/syslog/format.c
  adapters/syslog/sanitize.c
  adapters/syslog/target.c
  adapters/syslog/sink.c
  adapters/syslog/tcp.c
  adapters/syslog/tls.c)

# TLS (RFC 5425) links OpenSSL: see the top-level CMakeLists.txt.
