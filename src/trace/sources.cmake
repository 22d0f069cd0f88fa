# sources of src/trace: list(APPEND SL_SOURCES src/trace/file.c)
