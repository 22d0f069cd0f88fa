/*
 * spanlog/spanlog.hpp - a thin, header-only C++ layer over the C API:
 * RAII scopes for spans and contexts, and an owning logger handle. Nothing
 * here adds behaviour; every call is the C call it wraps, so the C headers'
 * documentation (threads, ownership, errors) applies. C++17 or later.
 *
 *     spanlog::logger lg = spanlog::logger::from_env("api");
 *     spanlog::span_scope span("checkout", SL_SPAN_SERVER);
 *     sl_info(lg.get(), "charged", SL_INT("cents", 1299));
 */
#ifndef SPANLOG_SPANLOG_HPP
#define SPANLOG_SPANLOG_HPP

#include <initializer_list>
#include <utility>

#include "spanlog.h"

namespace spanlog
{

/* Starts a span (a child of the thread's current context, or a new root)
 * and ends it when the scope exits. Same thread as it was made on. */
class span_scope
{
  public:
    explicit span_scope(const char *name, sl_span_kind kind = SL_SPAN_INTERNAL) noexcept
        : span_(sl_span_start(name, kind))
    {
    }
    span_scope(const char *name, sl_span_kind kind,
               const sl_span_context *parent) noexcept
        : span_(sl_span_start_with_parent(name, kind, parent))
    {
    }
    ~span_scope()
    {
        sl_span_end(span_);
    }
    span_scope(const span_scope &) = delete;
    span_scope &operator=(const span_scope &) = delete;

    /* The span (NULL only when memory ran out), for sl_span_set and friends. */
    sl_span *get() const noexcept
    {
        return span_;
    }

  private:
    sl_span *span_;
};

/* Makes ctx the thread's current context for the scope (sl_context_attach);
 * detaches it at scope exit. ok() is false when attach failed. */
class context_scope
{
  public:
    explicit context_scope(const sl_span_context &ctx) noexcept
        : ok_(sl_context_attach(&ctx, &token_) == SL_OK)
    {
    }
    ~context_scope()
    {
        if (ok_) {
            (void)sl_context_detach(token_);
        }
    }
    context_scope(const context_scope &) = delete;
    context_scope &operator=(const context_scope &) = delete;
    bool ok() const noexcept
    {
        return ok_;
    }

  private:
    sl_context_token token_{};
    bool ok_;
};

/* Owns one sl_logger (sl_logger_free at destruction); movable, not copyable. */
class logger
{
  public:
    logger() noexcept = default;
    explicit logger(sl_logger *lg) noexcept : lg_(lg) {}
    ~logger()
    {
        sl_logger_free(lg_);
    }
    logger(logger &&o) noexcept : lg_(std::exchange(o.lg_, nullptr)) {}
    logger &operator=(logger &&o) noexcept
    {
        if (this != &o) {
            sl_logger_free(lg_);
            lg_ = std::exchange(o.lg_, nullptr);
        }
        return *this;
    }
    logger(const logger &) = delete;
    logger &operator=(const logger &) = delete;

    /* sl_logger_from_env(); an empty handle (get() == NULL) on failure,
     * with err (may be NULL, else prepared by sl_error_init) saying why. */
    static logger from_env(const char *service, sl_error *err = nullptr) noexcept
    {
        sl_logger *lg = nullptr;
        (void)sl_logger_from_env(service, &lg, err);
        return logger(lg);
    }
    /* sl_logger_child_or_null() with these bound fields. */
    static logger child(sl_logger *parent,
                        std::initializer_list<sl_field> fields) noexcept
    {
        return logger(sl_logger_child_or_null(parent, fields.begin(), fields.size()));
    }

    sl_logger *get() const noexcept
    {
        return lg_;
    }
    explicit operator bool() const noexcept
    {
        return lg_ != nullptr;
    }

  private:
    sl_logger *lg_ = nullptr;
};

} // namespace spanlog

#endif /* SPANLOG_SPANLOG_HPP */
