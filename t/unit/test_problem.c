/* test_problem.c — the error table and RFC 9457 problem documents. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "problem.h"

struct fixture {
	struct arena		*a;
	struct json_object	*doc;
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

	json_object_put(f->doc);
	arena_free(f->a);
	test_free(f);
	return 0;
}

/* Renders pb, checks it is one JSON object and a newline, returns it. */
static struct json_object *
render(struct fixture *f, const struct problem *pb, const char *request_id,
    char **text)
{
	struct json_tokener	*tok;
	struct buf		 b;
	char			*s;
	size_t			 len;

	buf_init(&b, f->a);
	problem_render(pb, request_id, &b);
	s = buf_cstr(&b);
	len = strlen(s);
	assert_true(len > 2);
	assert_int_equal(s[len - 1], '\n');
	tok = json_tokener_new();
	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	json_object_put(f->doc);
	f->doc = json_tokener_parse_ex(tok, s, (int)(len - 1));
	if (json_tokener_get_error(tok) != json_tokener_success)
		fail_msg("not valid JSON: %s", s);
	assert_int_equal(json_tokener_get_parse_end(tok), len - 1);
	json_tokener_free(tok);
	assert_true(json_object_is_type(f->doc, json_type_object));
	if (text != NULL)
		*text = s;
	return f->doc;
}

static const char *
get_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\"", key);
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static int64_t
get_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\"", key);
	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_int64(v);
}

static void
test_problem_404_with_request_id_renders_all_members(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d, *v;
	char			*text;

	memset(&pb, 0, sizeof(pb));
	assert_int_equal(problem_set(&pb, f->a, LERR_NOT_FOUND,
	    "no member %d", 42), LERR_NOT_FOUND);
	d = render(f, &pb, "0123abcd", &text);
	assert_string_equal(get_str(d, "type"), "urn:loyalty:problem:not-found");
	assert_string_equal(get_str(d, "title"), "Not found");
	assert_int_equal(get_int(d, "status"), 404);
	assert_string_equal(get_str(d, "detail"), "no member 42");
	assert_string_equal(get_str(d, "request_id"), "0123abcd");
	assert_false(json_object_object_get_ex(d, "errors", &v));
	assert_int_equal(json_object_object_length(d), 5);
	/* The exact text, members in this order. */
	assert_string_equal(text, "{\"type\":\"urn:loyalty:problem:not-found\","
	    "\"title\":\"Not found\",\"status\":404,\"detail\":\"no member 42\","
	    "\"request_id\":\"0123abcd\"}\n");
}

static void
test_problem_without_request_id_renders_null(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d, *v;

	memset(&pb, 0, sizeof(pb));
	pb.code = LERR_INTERNAL;
	d = render(f, &pb, NULL, NULL);
	assert_true(json_object_object_get_ex(d, "request_id", &v));
	assert_null(v);
	/* No detail given: the title stands in. */
	assert_string_equal(get_str(d, "detail"), "Internal server error");
	assert_int_equal(get_int(d, "status"), 500);
}

static void
test_problem_with_errors_array(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d, *errs, *e;

	memset(&pb, 0, sizeof(pb));
	assert_int_equal(problem_field(&pb, f->a, LERR_VALIDATION, "phone",
	    "must be E.164"), LERR_VALIDATION);
	assert_int_equal(problem_field(&pb, f->a, LERR_VALIDATION, "name",
	    "must be %d to %d bytes long", 1, 80), LERR_VALIDATION);
	pb.detail = "some fields are invalid";
	d = render(f, &pb, "r1", NULL);
	assert_string_equal(get_str(d, "type"), "urn:loyalty:problem:validation");
	assert_string_equal(get_str(d, "title"), "Validation failed");
	assert_int_equal(get_int(d, "status"), 422);
	assert_string_equal(get_str(d, "detail"), "some fields are invalid");
	assert_true(json_object_object_get_ex(d, "errors", &errs));
	assert_true(json_object_is_type(errs, json_type_array));
	assert_int_equal(json_object_array_length(errs), 2);
	e = json_object_array_get_idx(errs, 0);
	assert_string_equal(get_str(e, "field"), "phone");
	assert_string_equal(get_str(e, "message"), "must be E.164");
	assert_int_equal(json_object_object_length(e), 2);
	e = json_object_array_get_idx(errs, 1);
	assert_string_equal(get_str(e, "field"), "name");
	assert_string_equal(get_str(e, "message"), "must be 1 to 80 bytes long");
}

static void
test_problem_detail_falls_back_to_field_and_message(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d;

	memset(&pb, 0, sizeof(pb));
	problem_field(&pb, f->a, LERR_BAD_REQUEST, "amount_minor",
	    "must be an integer");
	problem_field(&pb, f->a, LERR_VALIDATION, "x", "unknown field");
	d = render(f, &pb, "r", NULL);
	assert_string_equal(get_str(d, "detail"),
	    "amount_minor must be an integer");
	assert_int_equal(get_int(d, "status"), 400);
}

static void
test_problem_detail_for_body_field_is_the_message_alone(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d;

	memset(&pb, 0, sizeof(pb));
	problem_field(&pb, f->a, LERR_BAD_REQUEST, "body",
	    "the JSON document is incomplete");
	d = render(f, &pb, "r", NULL);
	assert_string_equal(get_str(d, "detail"),
	    "the JSON document is incomplete");
}

static void
test_problem_405_with_allow_and_extra_json(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d, *v;

	memset(&pb, 0, sizeof(pb));
	problem_set(&pb, f->a, LERR_METHOD, "DELETE is not allowed here; "
	    "allowed: %s", "GET, HEAD");
	pb.allow = "GET, HEAD";
	pb.extra_json = "\"allow\":[\"GET\",\"HEAD\"],\"retry_after\":5";
	d = render(f, &pb, "rid-405", NULL);
	assert_string_equal(get_str(d, "type"),
	    "urn:loyalty:problem:method-not-allowed");
	assert_string_equal(get_str(d, "title"), "Method not allowed");
	assert_int_equal(get_int(d, "status"), 405);
	assert_string_equal(get_str(d, "detail"),
	    "DELETE is not allowed here; allowed: GET, HEAD");
	assert_string_equal(get_str(d, "request_id"), "rid-405");
	assert_true(json_object_object_get_ex(d, "allow", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_string_equal(json_object_get_string(
	    json_object_array_get_idx(v, 1)), "HEAD");
	assert_int_equal(get_int(d, "retry_after"), 5);
}

static void
test_problem_extra_json_after_errors_and_empty_extra_ignored(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d, *v;

	memset(&pb, 0, sizeof(pb));
	problem_field(&pb, f->a, LERR_CONFLICT, "event_id", "already used");
	pb.extra_json = "\"existing\":{\"id\":7}";
	d = render(f, &pb, "r", NULL);
	assert_true(json_object_object_get_ex(d, "errors", &v));
	assert_true(json_object_object_get_ex(d, "existing", &v));
	assert_int_equal(get_int(v, "id"), 7);
	assert_int_equal(get_int(d, "status"), 409);
	/* An empty tail adds nothing (and no stray comma). */
	pb.extra_json = "";
	d = render(f, &pb, "r", NULL);
	assert_int_equal(json_object_object_length(d), 6);
}

static void
test_problem_special_characters_are_escaped(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d, *e;
	const char		*nasty = "a \"quoted\" \\ back\nslash\t\x01\x7f"
	    " caf\xc3\xa9 </script>";

	memset(&pb, 0, sizeof(pb));
	problem_field(&pb, f->a, LERR_VALIDATION, "we\"ird\\field\n",
	    "%s", nasty);
	pb.detail = nasty;
	d = render(f, &pb, "id\"with\\quote", NULL);
	assert_string_equal(get_str(d, "detail"), nasty);
	assert_string_equal(get_str(d, "request_id"), "id\"with\\quote");
	e = json_object_array_get_idx(json_object_object_get(d, "errors"), 0);
	assert_non_null(e);
	assert_string_equal(get_str(e, "field"), "we\"ird\\field\n");
	assert_string_equal(get_str(e, "message"), nasty);
}

static void
test_problem_invalid_utf8_still_renders_valid_json(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d;

	memset(&pb, 0, sizeof(pb));
	problem_field(&pb, f->a, LERR_VALIDATION, "n\xffme", "bad \xc3");
	d = render(f, &pb, "r\xfe", NULL);
	assert_string_equal(get_str(d, "detail"),
	    "n\xef\xbf\xbdme bad \xef\xbf\xbd");
	assert_string_equal(get_str(d, "request_id"), "r\xef\xbf\xbd");
}

static void
test_problem_field_400_beats_422_and_not_the_reverse(void **state)
{
	struct fixture	*f = *state;
	struct problem	 pb;

	memset(&pb, 0, sizeof(pb));
	assert_int_equal(problem_field(&pb, f->a, LERR_VALIDATION, "a", "x"),
	    LERR_VALIDATION);
	assert_int_equal(problem_field(&pb, f->a, LERR_BAD_REQUEST, "b", "y"),
	    LERR_BAD_REQUEST);
	assert_int_equal(problem_field(&pb, f->a, LERR_VALIDATION, "c", "z"),
	    LERR_BAD_REQUEST);
	assert_int_equal(pb.code, LERR_BAD_REQUEST);
	assert_int_equal(pb.nerrors, 3);
	assert_string_equal(pb.errors[2].field, "c");
	/* A code other than 400/422 set first is not overridden. */
	memset(&pb, 0, sizeof(pb));
	problem_field(&pb, f->a, LERR_CONFLICT, "a", "x");
	assert_int_equal(problem_field(&pb, f->a, LERR_BAD_REQUEST, "b", "y"),
	    LERR_CONFLICT);
}

static void
test_problem_field_copies_its_strings(void **state)
{
	struct fixture	*f = *state;
	struct problem	 pb;
	char		 field[16] = "volatile";

	memset(&pb, 0, sizeof(pb));
	problem_field(&pb, f->a, LERR_VALIDATION, field, "n=%d", 3);
	memset(field, 'X', sizeof(field) - 1);
	assert_string_equal(pb.errors[0].field, "volatile");
	assert_string_equal(pb.errors[0].message, "n=3");
}

static void
test_problem_max_errors_cap_is_respected(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d, *errs;
	int			 i;

	memset(&pb, 0, sizeof(pb));
	for (i = 0; i < PROBLEM_MAX_ERRORS + 5; i++)
		problem_field(&pb, f->a, LERR_VALIDATION, "f", "error %d", i);
	assert_int_equal(pb.nerrors, PROBLEM_MAX_ERRORS);
	assert_string_equal(pb.errors[PROBLEM_MAX_ERRORS - 1].message,
	    "error 15");
	/* Past the cap the code still rises to 400. */
	assert_int_equal(problem_field(&pb, f->a, LERR_BAD_REQUEST, "g", "x"),
	    LERR_BAD_REQUEST);
	assert_int_equal(pb.nerrors, PROBLEM_MAX_ERRORS);
	d = render(f, &pb, "r", NULL);
	assert_true(json_object_object_get_ex(d, "errors", &errs));
	assert_int_equal(json_object_array_length(errs), PROBLEM_MAX_ERRORS);
	assert_int_equal(get_int(d, "status"), 400);
}

static void
test_problem_set_returns_code_and_formats_detail(void **state)
{
	struct fixture	*f = *state;
	struct problem	 pb;

	memset(&pb, 0, sizeof(pb));
	assert_int_equal(problem_set(&pb, f->a, LERR_TOO_LARGE,
	    "body of %zu bytes exceeds %d", (size_t)2000000, 1048576),
	    LERR_TOO_LARGE);
	assert_int_equal(pb.code, LERR_TOO_LARGE);
	assert_string_equal(pb.detail, "body of 2000000 bytes exceeds 1048576");
}

static void
test_lerr_info_maps_every_code_to_its_status(void **state)
{
	static const struct {
		enum lerr	 code;
		int		 status;
		const char	*slug;
	} want[] = {
		{ LERR_OK, 200, "ok" },
		{ LERR_BAD_REQUEST, 400, "bad-request" },
		{ LERR_UNAUTHORIZED, 401, "unauthorized" },
		{ LERR_FORBIDDEN, 403, "forbidden" },
		{ LERR_NOT_FOUND, 404, "not-found" },
		{ LERR_METHOD, 405, "method-not-allowed" },
		{ LERR_CONFLICT, 409, "conflict" },
		{ LERR_TOO_LARGE, 413, "payload-too-large" },
		{ LERR_MEDIA_TYPE, 415, "unsupported-media-type" },
		{ LERR_VALIDATION, 422, "validation" },
		{ LERR_LOCKED, 423, "account-locked" },
		{ LERR_RATE_LIMITED, 429, "rate-limited" },
		{ LERR_INTERNAL, 500, "internal-error" },
		{ LERR_DB_UNAVAILABLE, 503, "database-unavailable" },
		{ LERR_NOT_READY, 503, "not-ready" },
	};
	size_t	i;
	int	seen[LERR__COUNT] = { 0 };

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), LERR__COUNT);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct lerr_info *info = lerr_info(want[i].code);

		assert_non_null(info);
		assert_int_equal(info->status, want[i].status);
		assert_string_equal(info->slug, want[i].slug);
		assert_non_null(info->title);
		assert_true(info->title[0] != '\0');
		seen[want[i].code]++;
	}
	for (i = 0; i < LERR__COUNT; i++)
		assert_int_equal(seen[i], 1);
}

static void
test_lerr_info_out_of_range_is_500(void **state)
{
	const struct lerr_info *info;

	(void)state;
	info = lerr_info(LERR__COUNT);
	assert_int_equal(info->status, 500);
	assert_string_equal(info->slug, "internal-error");
	info = lerr_info((enum lerr)1000);
	assert_int_equal(info->status, 500);
	info = lerr_info((enum lerr)-1);
	assert_int_equal(info->status, 500);
	assert_ptr_equal(lerr_info((enum lerr)77), lerr_info(LERR_INTERNAL));
}

static void
test_problem_render_of_out_of_range_code_is_500(void **state)
{
	struct fixture		*f = *state;
	struct problem		 pb;
	struct json_object	*d;

	memset(&pb, 0, sizeof(pb));
	pb.code = (enum lerr)99;
	d = render(f, &pb, "r", NULL);
	assert_int_equal(get_int(d, "status"), 500);
	assert_string_equal(get_str(d, "type"),
	    "urn:loyalty:problem:internal-error");
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_problem_404_with_request_id_renders_all_members),
		T(test_problem_without_request_id_renders_null),
		T(test_problem_with_errors_array),
		T(test_problem_detail_falls_back_to_field_and_message),
		T(test_problem_detail_for_body_field_is_the_message_alone),
		T(test_problem_405_with_allow_and_extra_json),
		T(test_problem_extra_json_after_errors_and_empty_extra_ignored),
		T(test_problem_special_characters_are_escaped),
		T(test_problem_invalid_utf8_still_renders_valid_json),
		T(test_problem_field_400_beats_422_and_not_the_reverse),
		T(test_problem_field_copies_its_strings),
		T(test_problem_max_errors_cap_is_respected),
		T(test_problem_set_returns_code_and_formats_detail),
		T(test_lerr_info_maps_every_code_to_its_status),
		T(test_lerr_info_out_of_range_is_500),
		T(test_problem_render_of_out_of_range_code_is_500),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
