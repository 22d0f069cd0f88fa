/*
 * abi.c - what lets the ABI grow: the runtime version, and the size check
 * of caller-allocated structs (see internal.h, "ABI: sized structs").
 */
#include "internal.h"

bool sl__abi_options(void *defaults, size_t ours, const void *caller, size_t v1)
{
    size_t caller_size;
    memcpy(&caller_size, caller, sizeof(caller_size));
    if (caller_size < v1) {
        return false;
    }
    /* A newer caller's struct is larger: its extra fields are unknown here
     * and ignored (the prefix is what this version understands). */
    memcpy(defaults, caller, caller_size < ours ? caller_size : ours);
    memcpy(defaults, &ours, sizeof(ours));
    return true;
}

void sl__abi_init(void *caller, size_t caller_size, const void *defaults, size_t ours)
{
    if (caller == NULL || caller_size < sizeof(size_t)) {
        return;
    }
    size_t n = caller_size < ours ? caller_size : ours;
    memcpy(caller, defaults, n);
    if (caller_size > n) {
        memset((char *)caller + n, 0, caller_size - n);
    }
    memcpy(caller, &caller_size, sizeof(caller_size));
}

unsigned sl_version(void)
{
    return SPANLOG_VERSION;
}

const char *sl_version_string(void)
{
    return SPANLOG_VERSION_STRING;
}
