/* test_json.c — strict request-body parsing and field checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"

/* One arena and problem per test, so every test frees what it made. */
struct fixture {
	struct arena		*a;
	struct problem		 pb;
	struct json_object	*obj;
};

static int
setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->a = arena_new(0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	json_object_put(f->obj);
	arena_free(f->a);
	test_free(f);
	return 0;
}

/* Parses len bytes of body; returns the code. */
static enum lerr
parse_n(struct fixture *f, const char *body, size_t len)
{
	json_object_put(f->obj);
	f->obj = NULL;
	memset(&f->pb, 0, sizeof(f->pb));
	return json_parse_body(body, len, &f->obj, &f->pb, f->a);
}

#define PARSE(f, lit)	parse_n((f), (lit), sizeof(lit) - 1)

/*
 * Asserts that body is refused with one error: 400, field, message (when
 * not NULL). Failures are reported at the caller's file and line.
 */
static void
assert_refused_at(struct fixture *f, const char *body, size_t len,
    const char *field, const char *message, const char *file, int line)
{
	_assert_int_equal(parse_n(f, body, len), LERR_BAD_REQUEST, file, line);
	_assert_true(f->obj == NULL, "obj == NULL", file, line);
	_assert_int_equal(f->pb.code, LERR_BAD_REQUEST, file, line);
	_assert_int_equal(f->pb.nerrors, 1, file, line);
	_assert_string_equal(f->pb.errors[0].field, field, file, line);
	if (message != NULL)
		_assert_string_equal(f->pb.errors[0].message, message, file,
		    line);
}

#define assert_refused(f, body, len, field, msg) \
	assert_refused_at((f), (body), (len), (field), (msg), __FILE__, __LINE__)
#define REFUSED(f, lit, field, msg) \
	assert_refused((f), (lit), sizeof(lit) - 1, (field), (msg))

/* Parses (which must succeed) and checks body against spec. */
static enum lerr
check(struct fixture *f, const char *body, const struct json_field *spec)
{
	if (parse_n(f, body, strlen(body)) != LERR_OK)
		fail_msg("does not parse: %s: %s", body,
		    f->pb.nerrors ? f->pb.errors[0].message : "?");
	return json_check_object(f->obj, spec, &f->pb, f->a);
}

static void
assert_error(const struct problem *pb, int i, const char *field,
    const char *message)
{
	assert_true(i < pb->nerrors);
	assert_string_equal(pb->errors[i].field, field);
	assert_string_equal(pb->errors[i].message, message);
}

static const struct json_field member_spec[] = {
	{ "external_id",  JK_STRING, 1, 1, 64 },
	{ "amount_minor", JK_INT,    0, -1000, 1000000 },
	{ "active",       JK_BOOL,   0, 0, 0 },
	{ "attributes",   JK_OBJECT, 0, 0, 0 },
	{ "tags",         JK_ARRAY,  0, 0, 0 },
	{ NULL,           JK_STRING, 0, 0, 0 },
};

/* ---- json_parse_body ---- */

static void
test_json_parse_valid_object(void **state)
{
	struct fixture		*f = *state;
	struct json_object	*v;

	assert_int_equal(PARSE(f, "{\"a\":1,\"b\":\"x\xc3\xa9\",\"c\":[true,"
	    "null,{\"d\":-2.5}],\"e\":{}}"), LERR_OK);
	assert_non_null(f->obj);
	assert_int_equal(f->pb.nerrors, 0);
	assert_int_equal(f->pb.code, LERR_OK);
	assert_true(json_object_is_type(f->obj, json_type_object));
	assert_true(json_object_object_get_ex(f->obj, "a", &v));
	assert_int_equal(json_object_get_int64(v), 1);
	assert_true(json_object_object_get_ex(f->obj, "b", &v));
	assert_string_equal(json_object_get_string(v), "x\xc3\xa9");
	assert_true(json_object_object_get_ex(f->obj, "c", &v));
	assert_int_equal(json_object_array_length(v), 3);
}

static void
test_json_parse_accepts_arrays_and_strings_at_top(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(PARSE(f, "[1,2]"), LERR_OK);
	assert_true(json_object_is_type(f->obj, json_type_array));
	assert_int_equal(PARSE(f, "\"s\""), LERR_OK);
	assert_true(json_object_is_type(f->obj, json_type_string));
	assert_int_equal(PARSE(f, "17 "), LERR_OK);
	assert_true(json_object_is_type(f->obj, json_type_int));
}

/*
 * A number, true, false or null is a whole JSON text (RFC 8259 §2) even
 * when the body ends right after it.
 */
static void
test_json_parse_accepts_bare_scalar_ending_the_body(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(PARSE(f, "17"), LERR_OK);
	assert_int_equal(json_object_get_int64(f->obj), 17);
	assert_int_equal(PARSE(f, "-1.5"), LERR_OK);
	assert_int_equal(PARSE(f, "true"), LERR_OK);
	assert_int_equal(PARSE(f, "null"), LERR_OK);
	assert_null(f->obj);
}

static void
test_json_parse_empty_body_is_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "", "body", "a JSON body is required");
}

static void
test_json_parse_whitespace_only_body_is_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "   \n", "body", NULL);
}

static void
test_json_parse_raw_nul_byte_is_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"a\":\"x\0y\"}", "body", "the body contains a NUL byte");
	/* Even after a complete value. */
	REFUSED(f, "{}\0", "body", "the body contains a NUL byte");
}

static void
test_json_parse_escaped_nul_in_value_names_the_field(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"name\":\"Ann\\u0000e\"}", "name",
	    "must not contain a NUL character");
	REFUSED(f, "{\"a\":{\"b\":[\"ok\",\"bad\\u0000\"]}}", "a.b[1]",
	    "must not contain a NUL character");
	REFUSED(f, "{\"ok\":1,\"a\":{\"x\":true,\"b\":[{\"c\":\"\\u0000\"}]}}",
	    "a.b[0].c", "must not contain a NUL character");
	REFUSED(f, "[\"\\u0000\"]", "[0]", "must not contain a NUL character");
	REFUSED(f, "\"\\u0000\"", "body", "must not contain a NUL character");
}

static void
test_json_parse_escaped_nul_in_key_is_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"ke\\u0000y\":1}", "body",
	    "an object key contains a NUL character");
	REFUSED(f, "{\"a\":{\"\\u0000\":1}}", "body",
	    "an object key contains a NUL character");
}

static void
test_json_parse_escaped_backslash_before_u0000_is_not_nul(void **state)
{
	struct fixture		*f = *state;
	struct json_object	*v;

	/* "\\u0000" is a backslash and the text u0000: no NUL anywhere. */
	assert_int_equal(PARSE(f, "{\"a\\\\u0000\":\"\\\\u0000\"}"), LERR_OK);
	assert_true(json_object_object_get_ex(f->obj, "a\\u0000", &v));
	assert_string_equal(json_object_get_string(v), "\\u0000");
}

static void
test_json_parse_nan_and_infinity_are_refused_naming_the_field(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"amount\":NaN}", "amount",
	    "must be a number, not NaN or Infinity");
	REFUSED(f, "{\"amount\":Infinity}", "amount",
	    "must be a number, not NaN or Infinity");
	REFUSED(f, "{\"amount\":-Infinity}", "amount",
	    "must be a number, not NaN or Infinity");
	REFUSED(f, "{\"m\":{\"rate\":[1,NaN]}}", "m.rate[1]",
	    "must be a number, not NaN or Infinity");
	/* Large but finite numbers are fine here (field checks judge them). */
	assert_int_equal(PARSE(f, "{\"x\":1e308,\"y\":-1e308}"), LERR_OK);
}

static void
test_json_parse_trailing_garbage_is_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"a\":1} x", "body",
	    "unexpected data after the JSON value at byte 8");
	REFUSED(f, "{\"a\":1}{}", "body",
	    "unexpected data after the JSON value at byte 7");
	REFUSED(f, "[1]]", "body",
	    "unexpected data after the JSON value at byte 3");
	REFUSED(f, "{} // c", "body",
	    "unexpected data after the JSON value at byte 3");
}

static void
test_json_parse_trailing_whitespace_is_accepted(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(PARSE(f, " \t{\"a\":1} \t\r\n\n"), LERR_OK);
	assert_non_null(f->obj);
	assert_int_equal(f->pb.nerrors, 0);
}

/* Builds n nested arrays: "[[...]]". */
static void
nest(char *out, int n)
{
	int i;

	for (i = 0; i < n; i++)
		out[i] = '[';
	for (i = 0; i < n; i++)
		out[n + i] = ']';
	out[2 * n] = '\0';
}

static void
test_json_parse_depth_16_accepted_and_17_refused(void **state)
{
	struct fixture	*f = *state;
	char		 doc[128];

	nest(doc, JSON_MAX_DEPTH);
	assert_int_equal(parse_n(f, doc, strlen(doc)), LERR_OK);
	nest(doc, JSON_MAX_DEPTH + 1);
	assert_refused(f, doc, strlen(doc), "body",
	    "the JSON document is nested deeper than 16 levels");
	nest(doc, 40);
	assert_refused(f, doc, strlen(doc), "body",
	    "the JSON document is nested deeper than 16 levels");
}

/* Builds n nested objects {"k":...} around the value 1. */
static size_t
nest_objects(char *out, size_t len, int n)
{
	size_t	used = 0;
	int	i;

	for (i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "{\"k\":");
	used += (size_t)snprintf(out + used, len - used, "1");
	for (i = 0; i < n; i++)
		out[used++] = '}';
	out[used] = '\0';
	return used;
}

/*
 * Sixteen levels of containers are allowed whether the innermost one is
 * empty or holds a value: a scalar is not a level of nesting.
 */
static void
test_json_parse_depth_16_with_a_value_inside_accepted(void **state)
{
	struct fixture	*f = *state;
	char		 doc[256];
	size_t		 n;
	int		 i;

	n = nest_objects(doc, sizeof(doc), JSON_MAX_DEPTH + 1);
	assert_refused(f, doc, n, "body",
	    "the JSON document is nested deeper than 16 levels");
	n = 0;
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++)
		doc[n++] = '[';
	doc[n++] = '1';
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++)
		doc[n++] = ']';
	assert_refused(f, doc, n, "body",
	    "the JSON document is nested deeper than 16 levels");
	/* Exactly 16 deep, with a value at the bottom. */
	n = nest_objects(doc, sizeof(doc), JSON_MAX_DEPTH);
	assert_int_equal(parse_n(f, doc, n), LERR_OK);
	n = 0;
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		doc[n++] = '[';
	doc[n++] = '1';
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		doc[n++] = ']';
	assert_int_equal(parse_n(f, doc, n), LERR_OK);
}

static void
test_json_parse_invalid_utf8_is_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"a\":\"\xff\"}", "body", "invalid UTF-8 at byte 6");
	REFUSED(f, "{\"a\":\"\x80\"}", "body", "invalid UTF-8 at byte 6");
	REFUSED(f, "{\"a\":\"\xc3\"}", "body", "invalid UTF-8 at byte 6");
	REFUSED(f, "{\"\xfe\":1}", "body", "invalid UTF-8 at byte 2");
	REFUSED(f, "{\"a\":\"ok\xe2\x82\"}", "body", "invalid UTF-8 at byte 8");
}
/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF. */
static void
test_json_parse_overlong_surrogate_and_out_of_range_utf8_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"a\":\"\xc0\xaf\"}", "body",
	    "invalid UTF-8 at byte 6");
	REFUSED(f, "{\"a\":\"\xe0\x80\x80\"}", "body",
	    "invalid UTF-8 at byte 6");
	REFUSED(f, "{\"a\":\"\xed\xa0\x80\"}", "body",
	    "invalid UTF-8 at byte 6");
	REFUSED(f, "{\"a\":\"\xf4\x90\x80\x80\"}", "body",
	    "invalid UTF-8 at byte 6");
	REFUSED(f, "{\"a\":\"\xf5\x80\x80\x80\"}", "body",
	    "invalid UTF-8 at byte 6");
}

static void
test_json_parse_raw_control_character_in_string_is_refused(void **state)
{
	struct fixture *f = *state;

	/* RFC 8259 §7: U+0000..U+001F must be escaped inside strings. */
	REFUSED(f, "{\"a\":\"x\ny\"}", "body", NULL);
	REFUSED(f, "{\"a\":\"\x01\"}", "body", NULL);
	REFUSED(f, "{\"a\":\"\t\"}", "body", NULL);
}

static void
test_json_parse_truncated_document_is_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"a\":", "body", "the JSON document is incomplete");
	REFUSED(f, "{\"a\":\"xy", "body", "the JSON document is incomplete");
	REFUSED(f, "[1,2", "body", "the JSON document is incomplete");
	REFUSED(f, "{", "body", "the JSON document is incomplete");
}

static void
test_json_parse_single_quotes_are_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"a\":'b'}", "body", NULL);
	REFUSED(f, "['a']", "body", NULL);
	REFUSED(f, "{'a':1}", "body", NULL);
}

static void
test_json_parse_comments_are_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{/* c */\"a\":1}", "body", NULL);
	REFUSED(f, "{\"a\":1 // c\n}", "body", NULL);
	REFUSED(f, "/* c */{\"a\":1}", "body", NULL);
	REFUSED(f, "# c\n{\"a\":1}", "body", NULL);
}

static void
test_json_parse_other_grammar_extensions_are_refused(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"a\":1,}", "body", NULL);
	REFUSED(f, "[1,]", "body", NULL);
	REFUSED(f, "{\"a\":01}", "body", NULL);
	REFUSED(f, "{\"a\":+1}", "body", NULL);
	REFUSED(f, "{\"a\":.5}", "body", NULL);
	REFUSED(f, "{a:1}", "body", NULL);
	REFUSED(f, "{\"a\":True}", "body", NULL);
	REFUSED(f, "{\"a\":nan}", "body", NULL);
}

static void
test_json_parse_error_message_names_the_byte(void **state)
{
	struct fixture *f = *state;

	REFUSED(f, "{\"a\":+1}", "body", NULL);
	assert_non_null(strstr(f->pb.errors[0].message,
	    "invalid JSON at byte 5"));
}

/* ---- json_check_object ---- */

static void
test_json_check_valid_object_passes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"external_id\":\"C-1\",\"amount_minor\":5,"
	    "\"active\":true,\"attributes\":{\"x\":1},\"tags\":[\"a\"]}",
	    member_spec), LERR_OK);
	assert_int_equal(f->pb.nerrors, 0);
	assert_null(f->pb.detail);
	assert_int_equal(check(f, "{\"external_id\":\"C\"}", member_spec),
	    LERR_OK);
}

static void
test_json_check_unknown_field_is_422_naming_it(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"external_id\":\"C-1\",\"balance\":100}",
	    member_spec), LERR_VALIDATION);
	assert_int_equal(f->pb.code, LERR_VALIDATION);
	assert_int_equal(f->pb.nerrors, 1);
	assert_error(&f->pb, 0, "balance", "unknown field");
	assert_string_equal(f->pb.detail, "balance unknown field");
}

static void
test_json_check_missing_required_is_422(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"amount_minor\":1}", member_spec),
	    LERR_VALIDATION);
	assert_int_equal(f->pb.nerrors, 1);
	assert_error(&f->pb, 0, "external_id", "is required");
	assert_string_equal(f->pb.detail, "external_id is required");
	/* null does not satisfy a required field. */
	assert_int_equal(check(f, "{\"external_id\":null}", member_spec),
	    LERR_VALIDATION);
	assert_error(&f->pb, 0, "external_id", "is required");
}

static void
test_json_check_string_for_int_is_400(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":\"5\"}",
	    member_spec), LERR_BAD_REQUEST);
	assert_int_equal(f->pb.nerrors, 1);
	assert_error(&f->pb, 0, "amount_minor", "must be an integer");
}

static void
test_json_check_float_for_int_is_400(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":1.0}",
	    member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "amount_minor", "must be an integer");
	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":1e3}",
	    member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "amount_minor", "must be an integer");
	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":1.5}",
	    member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "amount_minor", "must be an integer");
}

static void
test_json_check_integer_bounds_are_inclusive(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":-1000}",
	    member_spec), LERR_OK);
	assert_int_equal(check(f,
	    "{\"external_id\":\"C\",\"amount_minor\":1000000}", member_spec),
	    LERR_OK);
}

static void
test_json_check_integer_out_of_range_is_400(void **state)
{
	struct fixture	*f = *state;
	const char	*msg = "must be an integer from -1000 to 1000000";

	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":-1001}",
	    member_spec), LERR_BAD_REQUEST);
	assert_int_equal(f->pb.nerrors, 1);
	assert_error(&f->pb, 0, "amount_minor", msg);
	assert_int_equal(check(f,
	    "{\"external_id\":\"C\",\"amount_minor\":1000001}", member_spec),
	    LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "amount_minor", msg);
}

static void
test_json_check_huge_integers_are_400_not_saturated(void **state)
{
	struct fixture *f = *state;
	static const struct json_field wide[] = {
		{ "n", JK_INT, 1, -4611686018427387904LL, 4611686018427387904LL },
		{ NULL, JK_STRING, 0, 0, 0 },
	};
	const char *msg = "must be an integer from -4611686018427387904 to "
	    "4611686018427387904";

	(void)state;
	assert_int_equal(check(f, "{\"n\":99999999999999999999}", wide),
	    LERR_BAD_REQUEST);
	assert_int_equal(f->pb.nerrors, 1);
	assert_error(&f->pb, 0, "n", msg);
	assert_int_equal(check(f, "{\"n\":-99999999999999999999}", wide),
	    LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "n", msg);
	assert_int_equal(check(f, "{\"n\":9223372036854775807}", wide),
	    LERR_BAD_REQUEST);
	assert_int_equal(check(f, "{\"n\":-9223372036854775808}", wide),
	    LERR_BAD_REQUEST);
	assert_int_equal(check(f, "{\"n\":18446744073709551615}", wide),
	    LERR_BAD_REQUEST);
	assert_int_equal(check(f, "{\"n\":4611686018427387904}", wide), LERR_OK);
	assert_int_equal(check(f, "{\"n\":-4611686018427387904}", wide),
	    LERR_OK);
	/* And with the narrow member table. */
	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":"
	    "99999999999999999999}", member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "amount_minor",
	    "must be an integer from -1000 to 1000000");
	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":"
	    "-99999999999999999999}", member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "amount_minor",
	    "must be an integer from -1000 to 1000000");
}

static void
test_json_check_string_length_bounds_are_422(void **state)
{
	struct fixture	*f = *state;
	char		 body[200], id[70];

	assert_int_equal(check(f, "{\"external_id\":\"\"}", member_spec),
	    LERR_VALIDATION);
	assert_int_equal(f->pb.nerrors, 1);
	assert_error(&f->pb, 0, "external_id", "must be 1 to 64 bytes long");
	memset(id, 'i', 65);
	id[65] = '\0';
	snprintf(body, sizeof(body), "{\"external_id\":\"%s\"}", id);
	assert_int_equal(check(f, body, member_spec), LERR_VALIDATION);
	assert_error(&f->pb, 0, "external_id", "must be 1 to 64 bytes long");
	/* Exactly 64 bytes is fine; length counts bytes, not characters. */
	id[64] = '\0';
	snprintf(body, sizeof(body), "{\"external_id\":\"%s\"}", id);
	assert_int_equal(check(f, body, member_spec), LERR_OK);
	memset(id, 0, sizeof(id));
	for (int i = 0; i < 32; i++)
		memcpy(id + 2 * i, "\xc3\xa9", 2);
	snprintf(body, sizeof(body), "{\"external_id\":\"%s\"}", id);
	assert_int_equal(check(f, body, member_spec), LERR_OK);
	snprintf(body, sizeof(body), "{\"external_id\":\"%sx\"}", id);
	assert_int_equal(check(f, body, member_spec), LERR_VALIDATION);
}

static void
test_json_check_bool_object_array_kinds(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"external_id\":\"C\",\"active\":1}",
	    member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "active", "must be true or false");
	assert_int_equal(check(f, "{\"external_id\":\"C\",\"active\":\"true\"}",
	    member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "active", "must be true or false");
	assert_int_equal(check(f, "{\"external_id\":\"C\",\"attributes\":[]}",
	    member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "attributes", "must be an object");
	assert_int_equal(check(f, "{\"external_id\":\"C\",\"tags\":{}}",
	    member_spec), LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "tags", "must be an array");
	assert_int_equal(check(f, "{\"external_id\":5}", member_spec),
	    LERR_BAD_REQUEST);
	assert_error(&f->pb, 0, "external_id", "must be a string");
	assert_int_equal(check(f, "{\"external_id\":\"C\",\"active\":false,"
	    "\"attributes\":{},\"tags\":[]}", member_spec), LERR_OK);
}

static void
test_json_check_null_for_optional_field_is_accepted(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"external_id\":\"C\",\"amount_minor\":null,"
	    "\"active\":null,\"attributes\":null,\"tags\":null}", member_spec),
	    LERR_OK);
	assert_int_equal(f->pb.nerrors, 0);
}

static void
test_json_check_non_object_is_400(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "[1]", member_spec), LERR_BAD_REQUEST);
	assert_int_equal(f->pb.nerrors, 1);
	assert_error(&f->pb, 0, "body", "must be a JSON object");
	assert_int_equal(check(f, "\"x\"", member_spec), LERR_BAD_REQUEST);
}

static void
test_json_check_several_errors_listed_and_400_beats_422(void **state)
{
	struct fixture *f = *state;

	/* 422 (unknown), then 400 (type), then 422 (required). */
	assert_int_equal(check(f, "{\"zz\":1,\"amount_minor\":\"x\","
	    "\"active\":0}", member_spec), LERR_BAD_REQUEST);
	assert_int_equal(f->pb.code, LERR_BAD_REQUEST);
	assert_int_equal(f->pb.nerrors, 4);
	assert_error(&f->pb, 0, "zz", "unknown field");
	assert_error(&f->pb, 1, "external_id", "is required");
	assert_error(&f->pb, 2, "amount_minor", "must be an integer");
	assert_error(&f->pb, 3, "active", "must be true or false");
	assert_string_equal(f->pb.detail, "some fields are invalid");
}

static void
test_json_check_several_422_errors_stay_422(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(check(f, "{\"a\":1,\"b\":2}", member_spec),
	    LERR_VALIDATION);
	assert_int_equal(f->pb.nerrors, 3);
	assert_error(&f->pb, 0, "a", "unknown field");
	assert_error(&f->pb, 1, "b", "unknown field");
	assert_error(&f->pb, 2, "external_id", "is required");
}

static void
test_json_check_keeps_an_earlier_detail(void **state)
{
	struct fixture *f = *state;

	if (parse_n(f, "{\"q\":1}", 7) != LERR_OK)
		fail();
	f->pb.detail = "set before";
	assert_int_equal(json_check_object(f->obj, member_spec, &f->pb, f->a),
	    LERR_VALIDATION);
	assert_string_equal(f->pb.detail, "set before");
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_json_parse_valid_object),
		T(test_json_parse_accepts_arrays_and_strings_at_top),
		T(test_json_parse_accepts_bare_scalar_ending_the_body),
		T(test_json_parse_empty_body_is_refused),
		T(test_json_parse_whitespace_only_body_is_refused),
		T(test_json_parse_raw_nul_byte_is_refused),
		T(test_json_parse_escaped_nul_in_value_names_the_field),
		T(test_json_parse_escaped_nul_in_key_is_refused),
		T(test_json_parse_escaped_backslash_before_u0000_is_not_nul),
		T(test_json_parse_nan_and_infinity_are_refused_naming_the_field),
		T(test_json_parse_trailing_garbage_is_refused),
		T(test_json_parse_trailing_whitespace_is_accepted),
		T(test_json_parse_depth_16_accepted_and_17_refused),
		T(test_json_parse_depth_16_with_a_value_inside_accepted),
		T(test_json_parse_invalid_utf8_is_refused),
		T(test_json_parse_overlong_surrogate_and_out_of_range_utf8_refused),
		T(test_json_parse_raw_control_character_in_string_is_refused),
		T(test_json_parse_truncated_document_is_refused),
		T(test_json_parse_single_quotes_are_refused),
		T(test_json_parse_comments_are_refused),
		T(test_json_parse_other_grammar_extensions_are_refused),
		T(test_json_parse_error_message_names_the_byte),
		T(test_json_check_valid_object_passes),
		T(test_json_check_unknown_field_is_422_naming_it),
		T(test_json_check_missing_required_is_422),
		T(test_json_check_string_for_int_is_400),
		T(test_json_check_float_for_int_is_400),
		T(test_json_check_integer_bounds_are_inclusive),
		T(test_json_check_integer_out_of_range_is_400),
		T(test_json_check_huge_integers_are_400_not_saturated),
		T(test_json_check_string_length_bounds_are_422),
		T(test_json_check_bool_object_array_kinds),
		T(test_json_check_null_for_optional_field_is_accepted),
		T(test_json_check_non_object_is_400),
		T(test_json_check_several_errors_listed_and_400_beats_422),
		T(test_json_check_several_422_errors_stay_422),
		T(test_json_check_keeps_an_earlier_detail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
