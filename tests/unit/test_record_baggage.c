/*
 * test_record_baggage.c - the logger option that copies chosen baggage keys
 * into every record: present keys written after the bound fields, absent
 * ones omitted, hostile values escaped, the value following the context.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core_capture.h"

static sl_logger *baggage_logger(capture *c, const char *const *keys, size_t n)
{
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.baggage_keys = keys;
    o.nbaggage_keys = n;
    return capture_logger(&o, c);
}

static sl_baggage *parse(const char *header)
{
    sl_baggage *b = NULL;
    assert_int_equal(sl_baggage_parse(header, strlen(header), &b, NULL), SL_OK);
    return b;
}

/*
 * Logs one record ("m") with the baggage `header` current, then detaches it;
 * returns c's first record parsed (the caller decrefs it).
 */
static json_t *log_first_under(sl_logger *lg, capture *c, const char *header)
{
    sl_baggage *b = parse(header);
    sl_context_token tok;
    assert_int_equal(sl_baggage_attach(b, &tok), SL_OK);
    sl_info(lg, "m");
    assert_int_equal(sl_context_detach(tok), SL_OK);
    sl_baggage_free(b);
    return capture_parse(c, 0);
}

static void test_keys_written_in_place(void **state)
{
    capture c;
    capture_init(&c);
    const char *keys[] = {"tenantId", "region", "absent"};
    sl_logger *root = baggage_logger(&c, keys, 3);
    assert_non_null(root);
    sl_logger *lg = sl_child(root, SL_STR("requestId", "r-1"));
    assert_non_null(lg);

    sl_baggage *b = parse("region=eu%2Dwest,tenantId=acme,other=x");
    sl_context_token tok;
    assert_int_equal(sl_baggage_attach(b, &tok), SL_OK);
    sl_info(lg, "with baggage", SL_INT("n", 1));
    assert_int_equal(sl_context_detach(tok), SL_OK);
    sl_info(lg, "without");
    sl_baggage_free(b);

    assert_int_equal(c.n, 2);
    json_t *r = capture_parse(&c, 0);
    /* Order: head, bound, baggage in option order, call fields. */
    ASSERT_KEYS(r, "time", "level", "msg", "requestId", "tenantId", "region", "n");
    assert_string_equal(get_str(r, "tenantId"), "acme");
    assert_string_equal(get_str(r, "region"), "eu-west"); /* percent-decoded */
    assert_null(json_object_get(r, "other"));
    json_decref(r);
    r = capture_parse(&c, 1);
    ASSERT_KEYS(r, "time", "level", "msg", "requestId");
    json_decref(r);
    sl_logger_free(lg);
    sl_logger_free(root);
    capture_clear(&c);
}

static void test_hostile_values_and_last_entry_wins(void **state)
{
    capture c;
    capture_init(&c);
    const char *keys[] = {"k"};
    sl_logger *lg = baggage_logger(&c, keys, 1);
    assert_non_null(lg);
    /* A quote, a backslash and a newline, percent-encoded; then a repeat. */
    json_t *r = log_first_under(lg, &c, "k=first,k=a%22b%5Cc%0Ad");
    assert_string_equal(get_str(r, "k"), "a\"b\\c\nd");
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
}

static void test_options_checked(void **state)
{
    sl_logger *lg = NULL;
    sl_logger_options o;
    sl_logger_options_init(&o);
    o.nbaggage_keys = 1; /* keys NULL */
    assert_int_equal(sl_logger_new(&o, &lg), SL_EINVAL);
    const char *empty[] = {""};
    o.baggage_keys = empty;
    assert_int_equal(sl_logger_new(&o, &lg), SL_EINVAL);
    const char *nul[] = {NULL};
    o.baggage_keys = nul;
    assert_int_equal(sl_logger_new(&o, &lg), SL_EINVAL);
    const char *many[SL_MAX_BAGGAGE_KEYS + 1];
    for (size_t i = 0; i <= SL_MAX_BAGGAGE_KEYS; i++) {
        many[i] = "k";
    }
    o.baggage_keys = many;
    o.nbaggage_keys = SL_MAX_BAGGAGE_KEYS + 1;
    assert_int_equal(sl_logger_new(&o, &lg), SL_EINVAL);
    assert_null(lg);
    /* The option's strings are copied: the caller's array may go away. */
    char key[] = "tenantId";
    const char *one[] = {key};
    o.baggage_keys = one;
    o.nbaggage_keys = 1;
    capture c;
    capture_init(&c);
    lg = capture_logger(&o, &c);
    assert_non_null(lg);
    memset(key, 'x', strlen(key));
    json_t *r = log_first_under(lg, &c, "tenantId=t1");
    assert_string_equal(get_str(r, "tenantId"), "t1");
    json_decref(r);
    sl_logger_free(lg);
    capture_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_written_in_place),
        cmocka_unit_test(test_hostile_values_and_last_entry_wins),
        cmocka_unit_test(test_options_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
