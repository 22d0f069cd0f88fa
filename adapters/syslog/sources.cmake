# sources of adapters/syslog: the pure formatter, the options/targets, the
# sink with its datagram transports, and the TCP queue + worker.
list(APPEND SL_SOURCES
  adapters/syslog/format.c
  adapters/syslog/target.c
  adapters/syslog/sink.c
  adapters/syslog/tcp.c)
