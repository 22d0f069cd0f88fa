/*
 * spanlog/common.h - status codes, levels, export macro and allocator hook.
 *
 * Everything here is safe to call from any thread unless a function says
 * otherwise.
 */
#ifndef SPANLOG_COMMON_H
#define SPANLOG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SL_API                __attribute__((visibility("default")))
#define SL__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SL_API
#define SL__PRINTF(fmt, args)
#endif

/*
 * The version, defined here only: CMake reads these three lines. In 0.x a
 * minor release may break the ABI, so the soname is libspanlog.so.0.MINOR
 * (the dynamic linker refuses a 0.2 library for a program linked with 0.1)
 * and the CMake package accepts only the same 0.MINOR; from 1.0 on the
 * soname is the major version.
 */
#define SPANLOG_VERSION_MAJOR 0
#define SPANLOG_VERSION_MINOR 2
#define SPANLOG_VERSION_PATCH 0

#define SL__STR2(x) #x
#define SL__STR(x)  SL__STR2(x)
#define SPANLOG_VERSION_STRING                                                           \
    SL__STR(SPANLOG_VERSION_MAJOR)                                                       \
    "." SL__STR(SPANLOG_VERSION_MINOR) "." SL__STR(SPANLOG_VERSION_PATCH)
/* MAJOR * 10000 + MINOR * 100 + PATCH, comparable with sl_version(). */
#define SPANLOG_VERSION                                                                  \
    (SPANLOG_VERSION_MAJOR * 10000 + SPANLOG_VERSION_MINOR * 100 + SPANLOG_VERSION_PATCH)

/*
 * The version of the library actually loaded (SPANLOG_VERSION and
 * SPANLOG_VERSION_STRING are the headers' version): compare them to detect
 * a mismatch. Static string; any thread.
 */
SL_API unsigned sl_version(void);
SL_API const char *sl_version_string(void);

/*
 * Test only: tests/unit/test_abi.c builds a "newer" library with this set to
 * extra trailing members of every sized struct, and runs a caller compiled
 * without it against that library. Empty otherwise.
 */
#ifndef SL__ABI_TEST_TAIL
#define SL__ABI_TEST_TAIL
#endif

/*
 * One status enum for the whole library. 0 is success, errors are negative.
 * Values are never renumbered; new ones are only appended.
 */
typedef enum sl_status {
    SL_OK = 0,
    SL_EINVAL = -1,    /* an argument is NULL, out of range or malformed */
    SL_ENOMEM = -2,    /* an allocation failed */
    SL_EPARSE = -3,    /* input text does not follow its grammar */
    SL_ERANGE = -4,    /* a value or size exceeds a limit */
    SL_ESTATE = -5,    /* the call is not valid in the object's current state */
    SL_EIO = -6,       /* an I/O or system call failed */
    SL_ETIMEDOUT = -7, /* a bounded wait ran out before the work was done */
    SL_ECLOSED = -8,   /* the object was closed */
    SL_ENOTSUP = -9,   /* the operation or option is not supported */
    SL_ENOENT = -10,   /* the thing asked for does not exist / is not set */
    SL_EAGAIN = -11,   /* would block; try again later */
    SL_EPROTO = -12    /* the peer broke its protocol or rejected ours */
} sl_status;

/* Static English text for a status; never NULL (unknown codes get a generic text). */
SL_API const char *sl_strerror(sl_status status);

/* Levels, in increasing severity. SL_LEVEL_OFF disables a logger or sink. */
typedef enum sl_level {
    SL_LEVEL_TRACE = 0,
    SL_LEVEL_DEBUG = 1,
    SL_LEVEL_INFO = 2,
    SL_LEVEL_WARN = 3,
    SL_LEVEL_ERROR = 4,
    SL_LEVEL_FATAL = 5,
    SL_LEVEL_OFF = 6
} sl_level;

/*
 * Error detail, for the errors a user must act on (like jansson's
 * json_error_t): what is wrong, which variable, option or argument, the
 * offending value (secrets such as passwords and tokens are never copied
 * here) and a byte position in that value. Caller-allocated: call
 * sl_error_init() first, which sets `size`, so that later versions of the
 * library can grow the struct without writing past an older caller's copy.
 * Functions that take an `sl_error *` accept NULL and fill it only on
 * failure. Not shared between threads.
 */
typedef struct sl_error {
    size_t size;     /* sizeof(sl_error) of the caller, set by sl_error_init */
    sl_status code;  /* SL_OK until an error is recorded */
    char text[200];  /* one line of English, NUL-terminated */
    char name[64];   /* the variable, option or argument; "" when none */
    char value[128]; /* the offending value, cut to fit; "" when none or secret */
    int position;    /* byte offset of the problem in value, -1 when unknown */
    SL__ABI_TEST_TAIL
} sl_error;

/* Clears *err and sets its size (a macro: the caller's sizeof). NULL is a
 * no-op. */
SL_API void sl_error_init_size(sl_error *err, size_t size);
#define sl_error_init(err) sl_error_init_size((err), sizeof(sl_error))

/* Lowercase name ("trace" ... "fatal", "off"); "?" for an out-of-range value. */
SL_API const char *sl_level_name(sl_level level);

/*
 * Parses a level name, case-insensitively, with surrounding blanks trimmed.
 * Accepts the names above and "warning", "err", "critical"/"crit" as aliases.
 * Returns SL_OK, or SL_EINVAL (NULL argument) / SL_EPARSE (unknown name), in
 * which case *out is left unchanged.
 */
SL_API sl_status sl_level_parse(const char *name, sl_level *out);

/*
 * Allocator hook. Every heap allocation spanlog itself makes goes through
 * these (jansson, libcurl and libc make their own). Call sl_set_allocator()
 * once, before any other spanlog call and before any thread uses spanlog;
 * NULL restores malloc/realloc/free. Not thread-safe. Returns SL_EINVAL if
 * only some of the three functions are given.
 */
typedef struct sl_allocator {
    void *(*malloc_fn)(size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void (*free_fn)(void *ptr);
} sl_allocator;

SL_API sl_status sl_set_allocator(const sl_allocator *allocator);

#ifdef __cplusplus
}
#endif
#endif /* SPANLOG_COMMON_H */
