/*
 * spanlog.h - structured JSON logging with distributed-trace correlation.
 * The umbrella header: include this one.
 */
#ifndef SPANLOG_SPANLOG_H
#define SPANLOG_SPANLOG_H

#include "spanlog/features.h" /* generated: what this build contains */
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
#if SPANLOG_WITH_LOKI
#include "loki.h"
#endif

#endif /* SPANLOG_SPANLOG_H */
