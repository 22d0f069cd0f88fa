# Unit tests of the delivery runtime (src/deliver/): the ring, the retry
# policy, and the runtime itself against scripted transports.
sl_add_test(test_deliver_ring SOURCES unit/test_deliver_ring.c)
sl_add_test(test_deliver_backoff SOURCES unit/test_deliver_backoff.c)
