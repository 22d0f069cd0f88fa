/*
 * cmp_spdlog.cpp - the spdlog peer of the side-by-side benchmark (Debian's
 * libspdlog 1.10, compiled library, external fmt 9).
 *
 * The record is spdlog's own formatting of the workload's JSON line:
 *
 *   pattern  {"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","service":"%n",%v}
 *            (UTC, microseconds; the logger's name is the service)
 *   payload  "msg":"{}","traceId":"{}",...,"retry":{}  formatted by fmt on
 *            the calling thread with the ids from a thread-local span.
 *
 * The trace ids go in the payload, not in a custom pattern flag: an async
 * logger runs the pattern on its worker thread, where the caller's
 * thread-local span is not visible. spdlog escapes nothing, so it does less
 * work than spanlog and jansson (which escape every string).
 *
 * Implementations (--impl):
 *   spdlog                synchronous logger, sink with std::mutex (_mt)
 *   spdlog-async-block    async logger, 8192-slot queue, 1 worker, policy block
 *   spdlog-async-overrun  the same with policy overrun_oldest (drops oldest)
 * Benches (--bench): null (a sink that runs the formatter and drops the
 * line, like spanlog's null sink receives the encoded line), devnull and
 * file (spdlog's file sink code: details::file_helper, stdio-buffered,
 * flushed only at the end, as basic_file_sink does by default), disabled (a
 * debug call on an info logger), sample (one line to stdout).
 */
#include <spdlog/async.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>

#include "common/harness.h"
#include "common/runner.h"
#include "common/workload.h"

namespace
{

const char *const kPattern =
    "{\"time\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",\"service\":\"%n\",%v}";

/* Counts what reached the sink, so async drops and drains can be measured. */
struct counters {
    std::atomic<uint64_t> records{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> flushes{0};
};

/* Runs the formatter, as every real sink does, and drops the line. */
class discard_sink final : public spdlog::sinks::base_sink<std::mutex>
{
  public:
    counters c;

  protected:
    void sink_it_(const spdlog::details::log_msg &msg) override
    {
        spdlog::memory_buf_t buf;
        formatter_->format(msg, buf);
        c.records.fetch_add(1, std::memory_order_relaxed);
        c.bytes.fetch_add(buf.size(), std::memory_order_relaxed);
    }
    void flush_() override
    {
        c.flushes.fetch_add(1, std::memory_order_relaxed);
    }
};

/* basic_file_sink's code (it is final, so it cannot be wrapped) plus counters. */
class counted_file_sink final : public spdlog::sinks::base_sink<std::mutex>
{
  public:
    counters c;
    explicit counted_file_sink(const std::string &path)
    {
        file_.open(path, true);
    }

  protected:
    void sink_it_(const spdlog::details::log_msg &msg) override
    {
        spdlog::memory_buf_t buf;
        formatter_->format(msg, buf);
        file_.write(buf);
        c.records.fetch_add(1, std::memory_order_relaxed);
        c.bytes.fetch_add(buf.size(), std::memory_order_relaxed);
    }
    void flush_() override
    {
        file_.flush();
        c.flushes.fetch_add(1, std::memory_order_relaxed);
    }

  private:
    spdlog::details::file_helper file_;
};

struct ctx {
    std::shared_ptr<spdlog::logger> logger;
    counters *c = nullptr;
    std::shared_ptr<spdlog::details::thread_pool> pool;
    bool async = false;
};

inline void write_record(spdlog::logger &lg)
{
    const wl_span *sp = wl_current();
    if (sp->valid) {
        lg.info("\"msg\":\"{}\",\"traceId\":\"{}\",\"spanId\":\"{}\",\"correlationId\":"
                "\"{}\","
                "\"cents\":{},\"route\":\"{}\",\"ratio\":{},\"retry\":{}",
                WL_MSG, sp->trace_hex, sp->span_hex, sp->corr, WL_CENTS, WL_ROUTE,
                WL_RATIO, static_cast<bool>(WL_RETRY));
    } else {
        lg.info("\"msg\":\"{}\",\"cents\":{},\"route\":\"{}\",\"ratio\":{},\"retry\":{}",
                WL_MSG, WL_CENTS, WL_ROUTE, WL_RATIO, static_cast<bool>(WL_RETRY));
    }
}

void one(void *arg)
{
    write_record(*static_cast<ctx *>(arg)->logger);
}

void begin(void *)
{
    wl_span_start();
}

void end(void *)
{
    wl_span_end();
}

/* Waits until the async worker has handled everything queued so far. */
void drain(void *arg)
{
    auto *c = static_cast<ctx *>(arg);
    if (!c->async) {
        return;
    }
    while (c->pool->queue_size() != 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    /* The queue is empty but the worker may still be writing the last record:
     * a flush message is handled after it (one worker, FIFO). */
    uint64_t f0 = c->c->flushes.load();
    c->logger->flush();
    while (c->c->flushes.load() == f0) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

uint64_t handled(void *arg)
{
    return static_cast<ctx *>(arg)->c->records.load();
}

std::shared_ptr<spdlog::logger> make_logger(const std::string &impl,
                                            spdlog::sink_ptr sink, ctx &c)
{
    std::shared_ptr<spdlog::logger> lg;
    if (impl == "spdlog") {
        lg = std::make_shared<spdlog::logger>(WL_SERVICE, sink);
    } else {
        auto policy = impl == "spdlog-async-block"
                          ? spdlog::async_overflow_policy::block
                          : spdlog::async_overflow_policy::overrun_oldest;
        c.pool = std::make_shared<spdlog::details::thread_pool>(8192, 1);
        c.async = true;
        lg = std::make_shared<spdlog::async_logger>(WL_SERVICE, sink, c.pool, policy);
    }
    lg->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        kPattern, spdlog::pattern_time_type::utc));
    lg->set_level(spdlog::level::info);
    lg->flush_on(spdlog::level::off);
    return lg;
}

int run_disabled(const bench_args &a, ctx &c)
{
    bench_batches b;
    if (bench_batches_init(&b, 2000) != 0) {
        return 1;
    }
    wl_span_start();
    spdlog::logger &lg = *c.logger;
    const wl_span *sp = wl_current();
    uint64_t budget = static_cast<uint64_t>(3e8 * a.budget_scale);
    BENCH_BATCHES(&b, 20000, budget,
                  lg.debug("\"msg\":\"{}\",\"traceId\":\"{}\",\"cents\":{}", WL_MSG,
                           sp->trace_hex, WL_CENTS));
    bench_result r;
    bench_result_init(&r, "disabled", a.impl, 1);
    bench_result_fill(&r, &b, nullptr, 1, 0);
    bench_alloc_count_start();
    for (int i = 0; i < 10000; i++) {
        lg.debug("\"msg\":\"{}\",\"traceId\":\"{}\",\"cents\":{}", WL_MSG, sp->trace_hex,
                 WL_CENTS);
    }
    uint64_t n = bench_alloc_count_stop();
    if (bench_alloc_count_available()) {
        r.allocs_per_op = static_cast<double>(n) / 10000.0;
    }
    r.peak_rss_kb = bench_peak_rss_kb();
    bench_result_print(stdout, &r);
    bench_batches_free(&b);
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    bench_args a;
    if (bench_parse_args(argc, argv, &a) != 0) {
        return 2;
    }
    std::string impl = a.impl;
    std::string bench = a.bench;
    if (impl != "spdlog" && impl != "spdlog-async-block" &&
        impl != "spdlog-async-overrun") {
        std::fprintf(stderr, "spdlog: unknown impl %s\n", a.impl);
        return 2;
    }
    ctx c;
    std::string path;
    spdlog::sink_ptr sink;
    if (bench == "sample") {
        auto s = std::make_shared<spdlog::sinks::stdout_sink_mt>();
        auto lg = std::make_shared<spdlog::logger>(WL_SERVICE, s);
        lg->set_formatter(std::make_unique<spdlog::pattern_formatter>(
            kPattern, spdlog::pattern_time_type::utc));
        wl_span_start();
        write_record(*lg);
        lg->flush();
        return 0;
    } else if (bench == "null" || bench == "disabled") {
        auto s = std::make_shared<discard_sink>();
        c.c = &s->c;
        sink = s;
    } else if (bench == "devnull" || bench == "file") {
        path = bench == "devnull" ? std::string("/dev/null")
                                  : std::string(a.dir) + "/" + impl + "-" +
                                        std::to_string(a.threads) + ".log";
        if (bench == "file") {
            std::remove(path.c_str());
        }
        auto s = std::make_shared<counted_file_sink>(path);
        c.c = &s->c;
        sink = s;
    } else {
        std::fprintf(stderr, "spdlog: no bench %s\n", a.bench);
        return 2;
    }
    c.logger = make_logger(impl, sink, c);
    if (bench == "disabled") {
        return run_disabled(a, c);
    }

    bench_ops ops{};
    ops.ctx = &c;
    ops.thread_begin = begin;
    ops.thread_end = end;
    ops.one = one;
    ops.drain = c.async ? drain : nullptr;
    ops.handled = c.async ? handled : nullptr;
    ops.count_allocs = 1;
    bench_cfg cfg;
    bench_cfg_init(&cfg, a.threads, a.budget_scale);
    bench_result r;
    bench_result_init(&r, a.bench, a.impl, a.threads);
    if (bench_run(&ops, &cfg, &r) != 0) {
        return 1;
    }
    if (c.async) {
        drain(&c);
    }
    c.logger->flush();
    uint64_t recs = c.c->records.load();
    if (recs > 0) {
        r.bytes_per_record =
            static_cast<double>(c.c->bytes.load()) / static_cast<double>(recs);
    }
    r.peak_rss_kb = bench_peak_rss_kb();
    c.logger.reset();
    if (bench == "file") {
        std::remove(path.c_str());
    }
    bench_result_print(stdout, &r);
    return 0;
}
