# Unit tests of the delivery runtime (src/deliver/): the ring, the retry
# policy, and the runtime itself against scripted transports.
sl_add_test(test_deliver_ring SOURCES unit/test_deliver_ring.c)
sl_add_test(test_deliver_backoff SOURCES unit/test_deliver_backoff.c)
sl_add_test(test_deliver SOURCES unit/test_deliver.c LABELS threads)
# Loki's transport honours the runtime's close deadline with a push in flight.
sl_add_test(test_loki_close SOURCES integration/test_loki_close.c LABELS threads)
