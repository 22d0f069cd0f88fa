# The stdout / fd sink, driven through the sink API (threads and processes).
sl_add_test(test_fd_sink SOURCES unit/test_fd_sink.c unit/fd_files.c LABELS threads
            TIMEOUT 300)
# The same sink behind real loggers (threads inside spans, processes, exit).
sl_add_test(test_fd_sink_logger SOURCES unit/test_fd_sink_logger.c unit/fd_files.c
            LABELS threads TIMEOUT 300)
# The fd sink's asynchronous mode (writer thread, ring, fork, exit).
sl_add_test(test_fd_async SOURCES unit/test_fd_async.c unit/fd_files.c LABELS threads
            TIMEOUT 300)
