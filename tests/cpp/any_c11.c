/*
 * any_c11.c - the public headers without GCC's or clang's extensions: built
 * with __GNUC__ and __clang__ undefined (the level gate then uses
 * <stdatomic.h>) and again with __STDC_NO_ATOMICS__ (a volatile load), as
 * any C11 compiler would see them. Syntax only: see tests/cpp/cpp.cmake.
 */
#include <spanlog/spanlog.h>

int any_c11_log(sl_logger *lg);

int any_c11_log(sl_logger *lg)
{
    sl_info(lg, "message", SL_INT("n", 1), SL_STR("s", "v"));
    sl_logger *kid = sl_child(lg, SL_BOOL("b", 1));
    sl_logger_free(kid);
    return sl_would_log(lg, SL_LEVEL_INFO);
}
