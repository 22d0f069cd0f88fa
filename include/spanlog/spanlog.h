/*
 * spanlog.h - structured JSON logging with distributed-trace correlation.
 * The umbrella header: include this one.
 */
#ifndef SPANLOG_SPANLOG_H
#define SPANLOG_SPANLOG_H

/*
 * <spanlog/features.h> says what a build contains. CMake generates it into
 * the build tree and installs it beside these headers, where a left-out
 * adapter's header is not installed. A program compiled against the source
 * tree's include/ alone does not see it; so where the compiler can ask
 * (__has_include: GCC 5, clang, C23, C++17), it is included when present,
 * and without it loki.h is included when it is there. Only a compiler that
 * cannot ask needs the generated header.
 */
#if defined(__has_include)
#if __has_include("spanlog/features.h")
#include "spanlog/features.h"
#define SL__UMBRELLA_LOKI SPANLOG_WITH_LOKI
#elif __has_include("spanlog/loki.h")
#define SL__UMBRELLA_LOKI 1
#else
#define SL__UMBRELLA_LOKI 0
#endif
#else
#include "spanlog/features.h"
#define SL__UMBRELLA_LOKI SPANLOG_WITH_LOKI
#endif
#include "common.h"
#include "trace.h"
#include "log.h"
#include "span.h"
#include "baggage.h"
#include "propagation.h"
#include "sink.h"
#include "filter.h"
#include "control.h"
#include "pretty.h"
#include "stdout.h"
#include "syslog.h"
#if SL__UMBRELLA_LOKI
#include "loki.h"
#endif
#undef SL__UMBRELLA_LOKI

#endif /* SPANLOG_SPANLOG_H */
