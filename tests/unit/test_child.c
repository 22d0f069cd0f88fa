/*
 * test_child.c - child loggers: bound fields in order after the trace keys,
 * the parent unaffected, children of children, values copied at creation,
 * levels (set on a parent, they reach its children), and every order of freeing (run
 * under ASan to catch the rest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core_capture.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static sl_logger *root_logger(capture *c)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.service = "api";
    o.level = SL_LEVEL_DEBUG;
    return capture_logger(&o, c);
}

static void test_bound_fields_in_order(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *root = root_logger(&c);
    char rid[16] = "r-42";
    json_t *tags = json_pack("[s,s]", "a", "b");
    sl_logger *req =
        sl_child(root, SL_STR("requestId", rid), SL_STR("route", "/pay"),
                 SL_INT("attempt", 2), SL_JSON("tags", tags), SL_ERRNO("err", 0),
                 SL_NULL("none"), SL_BOOL("b", true), SL_DOUBLE("w", 0.25),
                 SL_UINT("u", 7), SL_STRN("p", "xyz", 2), SL_STR("ns", NULL));
    assert_non_null(req);
    /* Values were copied at creation: changing or freeing them is harmless. */
    strcpy(rid, "CHANGED");
    json_decref(tags);

    sl_span_context ctx;
    assert_int_equal(sl_traceparent_parse(TP, strlen(TP), &ctx), SL_OK);
    sl_context_token tok;
    assert_int_equal(sl_context_attach(&ctx, &tok), SL_OK);
    sl_info(req, "card charged", SL_INT("cents", 1299), SL_BOOL("retry", false));
    assert_int_equal(sl_context_detach(tok), SL_OK);
    sl_info(root, "parent");
    assert_int_equal(c.n, 2);

    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "traceId", "spanId",
                "correlationId", "requestId", "route", "attempt", "tags", "err", "none",
                "b", "w", "u", "p", "ns", "cents", "retry");
    assert_string_equal(get_str(r, "requestId"), "r-42");
    assert_string_equal(get_str(r, "route"), "/pay");
    assert_int_equal(get_int(r, "attempt"), 2);
    json_t *want = json_pack("[s,s]", "a", "b");
    assert_true(json_equal(json_object_get(r, "tags"), want));
    json_decref(want);
    assert_int_equal(get_int(json_object_get(r, "err"), "errno"), 0);
    assert_true(json_is_null(json_object_get(r, "none")));
    assert_true(json_is_true(json_object_get(r, "b")));
    assert_true(json_real_value(json_object_get(r, "w")) == 0.25);
    assert_int_equal(get_int(r, "u"), 7);
    assert_string_equal(get_str(r, "p"), "xy");
    assert_true(json_is_null(json_object_get(r, "ns")));
    assert_int_equal(get_int(r, "cents"), 1299);
    assert_int_equal(c.lines[0].nbound, 11);
    assert_int_equal(c.lines[0].nfields, 2);
    json_decref(r);

    r = capture_parse(&c, 1);
    ASSERT_KEYS(r, "time", "level", "msg", "service");
    assert_int_equal(c.lines[1].nbound, 0);
    json_decref(r);
    sl_logger_free(req);
    sl_logger_free(root);
    capture_clear(&c);
}

/* The record view exposes the bound fields as copies, outermost first. */
static const sl_field *seen_bound;
static size_t seen_nbound;
static char seen_first_key[32], seen_last_val[32];

static void view_write(sl_sink *sink, const sl_record *rec, const char *line, size_t len)
{
    (void)line;
    (void)len;
    seen_bound = rec->bound;
    seen_nbound = rec->nbound;
    if (rec->nbound > 0) {
        snprintf(seen_first_key, sizeof(seen_first_key), "%s", rec->bound[0].key);
        const sl_field *l = &rec->bound[rec->nbound - 1];
        assert_int_equal(l->type, SL_FIELD_STR);
        assert_int_equal(l->len, strlen(l->v.s)); /* SL_NPOS resolved */
        snprintf(seen_last_val, sizeof(seen_last_val), "%s", l->v.s);
    }
    sl_sink_count_written(sink, 1);
}

static const sl_sink_vtable view_vt = {
    .version = SL_SINK_VTABLE_VERSION, .name = "view", .write = view_write};

static void test_children_of_children(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *root = root_logger(&c);
    sl_logger *a = sl_child(root, SL_STR("a", "1"));
    sl_logger *b = sl_child(a, SL_STR("b", "2"), SL_INT("n", 2));
    sl_logger *cc = sl_child(b, SL_STR("c", "3"));
    sl_logger *sib = sl_child(a, SL_STR("sib", "x"));
    sl_logger *empty = NULL;
    assert_int_equal(sl_logger_child(cc, NULL, 0, &empty), SL_OK);
    assert_true(a && b && cc && sib && empty);
    sl_info(cc, "deep", SL_STR("call", "y"));
    sl_info(sib, "sibling");
    sl_info(a, "a");
    sl_info(empty, "empty");
    assert_int_equal(c.n, 4);
    json_t *r = capture_parse(&c, 0);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "a", "b", "n", "c", "call");
    json_decref(r);
    r = capture_parse(&c, 1);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "a", "sib");
    json_decref(r);
    r = capture_parse(&c, 2);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "a");
    json_decref(r);
    r = capture_parse(&c, 3);
    ASSERT_KEYS(r, "time", "level", "msg", "service", "a", "b", "n", "c");
    json_decref(r);
    sl_logger_free(empty);
    sl_logger_free(sib);
    sl_logger_free(cc);
    sl_logger_free(b);
    sl_logger_free(a);
    sl_logger_free(root);
    capture_clear(&c);

    /* The view of a grandchild's bound fields. */
    sl_logger *lg = NULL;
    sl_sink *s = NULL;
    assert_int_equal(sl_logger_new(NULL, &lg), SL_OK);
    assert_int_equal(sl_sink_new(&view_vt, NULL, &s), SL_OK);
    assert_int_equal(sl_logger_add_sink(lg, s, SL_LEVEL_TRACE), SL_OK);
    sl_logger *c1 = sl_child(lg, SL_STR("outer", "o"));
    sl_logger *c2 = sl_child(c1, SL_STR("inner", "i"));
    sl_info(c2, "x");
    assert_int_equal(seen_nbound, 2);
    assert_string_equal(seen_first_key, "outer");
    assert_string_equal(seen_last_val, "i");
    sl_logger_free(c1);
    sl_info(c2, "parent gone");
    assert_int_equal(seen_nbound, 2);
    sl_logger_free(c2);
    sl_logger_free(lg);
}

static void test_levels_are_per_logger(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *root = root_logger(&c); /* debug */
    sl_logger_set_level(root, SL_LEVEL_WARN);
    sl_logger *child = sl_child(root, SL_STR("k", "v"));
    assert_int_equal(sl_logger_get_level(child), SL_LEVEL_WARN);
    sl_logger_set_level(child, SL_LEVEL_TRACE);
    assert_int_equal(sl_logger_get_level(root), SL_LEVEL_WARN);
    sl_debug(child, "child debug");
    sl_debug(root, "root debug");
    assert_int_equal(c.n, 1);
    assert_string_equal(c.lines[0].msg, "child debug");
    sl_logger_free(root);
    sl_logger_free(child);
    capture_clear(&c);
}

/*
 * Setting a logger's level reaches its existing children (raising a service
 * to debug at runtime reaches every request logger), except a child whose
 * level was set on itself; freeing a middle logger leaves its children
 * following the grandparent.
 */
static void test_level_reaches_children(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *root = root_logger(&c); /* debug */
    sl_logger_set_level(root, SL_LEVEL_INFO);
    sl_logger *req = sl_child(root, SL_STR("requestId", "r1"));
    sl_logger *sub = sl_child(req, SL_STR("step", "db"));
    sl_logger *other = sl_child(root, SL_STR("requestId", "r2"));
    sl_debug(sub, "hidden");
    assert_int_equal(c.n, 0);

    sl_logger_set_level(root, SL_LEVEL_DEBUG);
    assert_int_equal(sl_logger_get_level(req), SL_LEVEL_DEBUG);
    assert_int_equal(sl_logger_get_level(sub), SL_LEVEL_DEBUG);
    assert_int_equal(sl_logger_get_level(other), SL_LEVEL_DEBUG);
    sl_debug(sub, "grandchild debug");
    assert_int_equal(c.n, 1);
    json_t *r = capture_parse(&c, 0);
    assert_string_equal(get_str(r, "msg"), "grandchild debug");
    assert_string_equal(get_str(r, "requestId"), "r1");
    json_decref(r);

    /* An explicit level on req: it stops following, and its child follows it. */
    sl_logger_set_level(req, SL_LEVEL_ERROR);
    sl_logger_set_level(root, SL_LEVEL_TRACE);
    assert_int_equal(sl_logger_get_level(req), SL_LEVEL_ERROR);
    assert_int_equal(sl_logger_get_level(sub), SL_LEVEL_ERROR);
    assert_int_equal(sl_logger_get_level(other), SL_LEVEL_TRACE);
    sl_logger_set_level(req, SL_LEVEL_WARN);
    assert_int_equal(sl_logger_get_level(sub), SL_LEVEL_WARN);

    /* Following again: the parent's level now, and later changes. */
    sl_logger_inherit_level(req);
    assert_int_equal(sl_logger_get_level(req), SL_LEVEL_TRACE);
    assert_int_equal(sl_logger_get_level(sub), SL_LEVEL_TRACE);
    sl_logger_set_level(root, SL_LEVEL_WARN);
    assert_int_equal(sl_logger_get_level(sub), SL_LEVEL_WARN);
    sl_logger_inherit_level(root); /* a root has no parent: no change */
    sl_logger_inherit_level(NULL);
    assert_int_equal(sl_logger_get_level(root), SL_LEVEL_WARN);

    /* req freed: sub follows root. */
    sl_logger_free(req);
    sl_logger_set_level(root, SL_LEVEL_ERROR);
    assert_int_equal(sl_logger_get_level(sub), SL_LEVEL_ERROR);
    /* root freed first: the survivors keep their level and still log. */
    sl_logger_free(root);
    assert_int_equal(sl_logger_get_level(other), SL_LEVEL_ERROR);
    sl_logger_set_level(other, SL_LEVEL_INFO);
    sl_info(other, "orphan");
    sl_info(sub, "not at error");
    assert_int_equal(c.n, 2);
    assert_string_equal(c.lines[1].msg, "orphan");
    sl_logger_free(sub);
    sl_logger_free(other);
    capture_clear(&c);
}

static void test_bad_arguments(void **unused)
{
    (void)unused;
    capture c;
    capture_init(&c);
    sl_logger *root = root_logger(&c);
    sl_logger *out = root;
    assert_int_equal(sl_logger_child(NULL, NULL, 0, &out), SL_EINVAL);
    assert_null(out);
    assert_int_equal(sl_logger_child(root, NULL, 0, NULL), SL_EINVAL);
    assert_int_equal(sl_logger_child(root, NULL, 2, &out), SL_EINVAL);
    assert_null(sl_logger_child_or_null(NULL, NULL, 0));
    assert_null(sl_child(NULL, SL_STR("k", "v")));
    /* Bound fields that cannot fit in a record are refused. */
    char *big = malloc(70000);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    assert_int_equal(sl_logger_child(root, &SL_STR("big", big), 1, &out), SL_ERANGE);
    assert_null(out);
    free(big);
    sl_logger_free(root);
    capture_clear(&c);
}

/* Three loggers (root, child, grandchild) freed in each of the 6 orders;
 * the survivors keep logging; the sink is destroyed exactly when the last
 * one goes. */
static void test_every_freeing_order(void **unused)
{
    (void)unused;
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int o = 0; o < 6; o++) {
        capture c;
        capture_init(&c);
        sl_logger *lg[3];
        lg[0] = root_logger(&c);
        json_t *j = json_object();
        json_object_set_new(j, "k", json_string("v"));
        lg[1] = sl_child(lg[0], SL_STR("one", "1"), SL_JSON("j", j));
        lg[2] = sl_child(lg[1], SL_STR("two", "2"));
        json_decref(j);
        size_t expect = 0;
        for (int step = 0; step < 3; step++) {
            sl_logger_free(lg[orders[o][step]]);
            lg[orders[o][step]] = NULL;
            assert_int_equal(c.destroyed, step == 2);
            for (int k = 0; k < 3; k++) {
                if (lg[k] != NULL) {
                    sl_info(lg[k], "alive", SL_INT("k", k));
                    expect++;
                }
            }
        }
        assert_int_equal(c.n, expect);
        assert_int_equal(c.closes, 1);
        for (size_t i = 0; i < c.n; i++) {
            json_t *r = capture_parse(&c, i);
            json_int_t k = get_int(r, "k");
            if (k >= 1) {
                assert_string_equal(get_str(json_object_get(r, "j"), "k"), "v");
            }
            if (k == 2) {
                assert_string_equal(get_str(r, "two"), "2");
            }
            json_decref(r);
        }
        capture_clear(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_fields_in_order),
        cmocka_unit_test(test_children_of_children),
        cmocka_unit_test(test_levels_are_per_logger),
        cmocka_unit_test(test_level_reaches_children),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_every_freeing_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
