/*
 * fuzz.h - shared by the fuzz targets: the libFuzzer entry point and the
 * property checks. A failed check aborts, which libFuzzer (and the
 * regression driver) report as a crash with the input that caused it.
 */
#ifndef SPANLOG_FUZZ_H
#define SPANLOG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#endif
