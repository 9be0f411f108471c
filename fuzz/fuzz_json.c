/* fuzz_json.c — libFuzzer target: request bodies through src/json.c. */
#include <math.h>
#include <string.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "json.h"
#include "utf8.h"

/* A field table like a handler's: every kind, bounds on both sides. */
static const struct json_field spec[] = {
	{ "member_id", JK_STRING, 1, 1, 64 },
	{ "points", JK_INT, 1, -1000000, 1000000 },
	{ "active", JK_BOOL, 0, 0, 0 },
	{ "tags", JK_ARRAY, 0, 0, 0 },
	{ "meta", JK_OBJECT, 0, 0, 0 },
	{ NULL, JK_STRING, 0, 0, 0 },
};

static int
valid_utf8(const char *s, size_t n)
{
	return utf8_check(s, n) == n;
}

/*
 * What a parse that succeeds promises about the document: every key and
 * string valid UTF-8 without NUL, every number finite, at most
 * JSON_MAX_DEPTH arrays and objects deep.
 */
static void
check_value(struct json_object *o, int depth)
{
	size_t	i, n;

	switch (json_object_get_type(o)) {
	case json_type_string:
		n = (size_t)json_object_get_string_len(o);
		CHECK(strlen(json_object_get_string(o)) == n);
		CHECK(valid_utf8(json_object_get_string(o), n));
		break;
	case json_type_double:
		CHECK(isfinite(json_object_get_double(o)));
		break;
	case json_type_object:
		CHECK(depth < JSON_MAX_DEPTH);
		json_object_object_foreach(o, key, val) {
			CHECK(valid_utf8(key, strlen(key)));
			check_value(val, depth + 1);
		}
		break;
	case json_type_array:
		CHECK(depth < JSON_MAX_DEPTH);
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			check_value(json_object_array_get_idx(o, i), depth + 1);
		break;
	default:
		break;
	}
}

/*
 * A refusal says what is wrong: a known code other than OK, the same in
 * pb, and (but for an internal failure) at least one error with a field
 * and a message, all in valid UTF-8 since it goes back to the client.
 * The field is empty only when it names an object key "".
 */
static void
check_problem(const struct problem *pb, enum lerr rc, int empty_ok)
{
	int	i;

	CHECK(rc != LERR_OK && rc < LERR__COUNT);
	CHECK(pb->code == rc);
	CHECK(pb->nerrors >= 0 && pb->nerrors <= PROBLEM_MAX_ERRORS);
	if (rc == LERR_INTERNAL) {
		CHECK(pb->detail != NULL);
		return;
	}
	CHECK(pb->nerrors >= 1);
	for (i = 0; i < pb->nerrors; i++) {
		const struct field_error *fe = &pb->errors[i];

		CHECK(fe->field != NULL && (empty_ok || fe->field[0] != '\0'));
		CHECK(valid_utf8(fe->field, strlen(fe->field)));
		CHECK(fe->message != NULL && fe->message[0] != '\0');
		CHECK(valid_utf8(fe->message, strlen(fe->message)));
	}
}

/*
 * The problem document the client gets is valid UTF-8 and valid JSON,
 * with the status of the code and one entry per error.
 */
static void
check_rendered(const struct problem *pb, struct arena *a)
{
	struct buf		 out;
	struct json_object	*doc, *v;
	const char		*text;

	buf_init(&out, a);
	problem_render(pb, "fuzz", &out);
	text = buf_cstr(&out);
	CHECK(valid_utf8(text, out.len));
	doc = json_tokener_parse(text);
	CHECK(doc != NULL && json_object_is_type(doc, json_type_object));
	CHECK(json_object_object_get_ex(doc, "status", &v) &&
	    json_object_get_int(v) == lerr_info(pb->code)->status);
	if (json_object_object_get_ex(doc, "errors", &v))
		CHECK(json_object_array_length(v) == (size_t)pb->nerrors);
	else
		CHECK(pb->nerrors == 0);
	json_object_put(doc);
}

/* What json_check_object must answer for spec, worked out the plain way. */
static enum lerr
expected_check(struct json_object *doc)
{
	const struct json_field	*f;
	struct json_object	*v;
	int			 malformed = 0, invalid = 0;
	int64_t			 x;

	if (!json_object_is_type(doc, json_type_object))
		return LERR_BAD_REQUEST;
	json_object_object_foreach(doc, key, val) {
		(void)val;
		for (f = spec; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL)
			invalid = 1;
	}
	for (f = spec; f->name != NULL; f++) {
		if ((v = json_object_object_get(doc, f->name)) == NULL) {
			invalid |= f->required;
			continue;
		}
		switch (f->kind) {
		case JK_STRING:
			if (!json_object_is_type(v, json_type_string))
				malformed = 1;
			else if (json_object_get_string_len(v) < f->min ||
			    json_object_get_string_len(v) > f->max)
				invalid = 1;
			break;
		case JK_INT:
			x = json_object_get_int64(v);
			if (!json_object_is_type(v, json_type_int) ||
			    x < f->min || x > f->max)
				malformed = 1;
			break;
		case JK_BOOL:
			malformed |= !json_object_is_type(v, json_type_boolean);
			break;
		case JK_OBJECT:
			malformed |= !json_object_is_type(v, json_type_object);
			break;
		case JK_ARRAY:
			malformed |= !json_object_is_type(v, json_type_array);
			break;
		}
	}
	if (malformed)
		return LERR_BAD_REQUEST;
	return invalid ? LERR_VALIDATION : LERR_OK;
}

/*
 * json_check_object names fields that are there: one of the table or a
 * key of the document, or "body" when the document is no object.
 */
static void
check_fields_named(const struct problem *pb, struct json_object *doc)
{
	const struct json_field	*f;
	const char		*name;
	int			 i, known;

	for (i = 0; i < pb->nerrors; i++) {
		name = pb->errors[i].field;
		if (!json_object_is_type(doc, json_type_object)) {
			CHECK(strcmp(name, "body") == 0);
			continue;
		}
		known = json_object_object_get_ex(doc, name, NULL);
		for (f = spec; f->name != NULL && !known; f++)
			known = strcmp(f->name, name) == 0;
		CHECK(known);
	}
}

/* The checks on a document that parsed; doc is the caller's to put. */
static void
check_document(const uint8_t *data, size_t len, struct json_object *doc,
    struct arena *a)
{
	struct problem		 pb;
	struct json_object	*again;
	const char		*text;
	enum lerr		 rc;

	CHECK(memchr(data, '\0', len) == NULL);
	CHECK(valid_utf8((const char *)data, len));
	check_value(doc, 0);

	/* What json-c writes back, the parser takes, and it is the same. */
	text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	memset(&pb, 0, sizeof(pb));
	rc = json_parse_body(text, strlen(text), &again, &pb, a);
	CHECK(rc == LERR_OK);
	CHECK(json_object_equal(doc, again));
	json_object_put(again);

	memset(&pb, 0, sizeof(pb));
	rc = json_check_object(doc, spec, &pb, a);
	CHECK(rc == expected_check(doc));
	if (rc == LERR_OK) {
		CHECK(pb.code == LERR_OK && pb.nerrors == 0);
		return;
	}
	check_problem(&pb, rc, 1);
	check_fields_named(&pb, doc);
	check_rendered(&pb, a);
}

/* The literal null, maybe with white space around it. */
static int
is_null_body(const uint8_t *data, size_t len)
{
	const char	*ws = " \t\r\n";
	size_t		 i = 0;

	while (i < len && strchr(ws, data[i]) != NULL && data[i] != '\0')
		i++;
	if (len - i < 4 || memcmp(data + i, "null", 4) != 0)
		return 0;
	for (i += 4; i < len; i++)
		if (strchr(ws, data[i]) == NULL || data[i] == '\0')
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct arena		*a = arena_new(0);
	struct json_object	*doc = NULL;
	struct problem		 pb;
	enum lerr		 rc;

	memset(&pb, 0, sizeof(pb));
	rc = json_parse_body((const char *)data, len, &doc, &pb, a);
	/* json-c's null is NULL: only the body "null" gives none. */
	CHECK(rc == LERR_OK || doc == NULL);
	CHECK(doc != NULL || rc != LERR_OK || is_null_body(data, len));
	if (rc == LERR_OK) {
		CHECK(pb.code == LERR_OK && pb.nerrors == 0);
		check_document(data, len, doc, a);
	} else {
		check_problem(&pb, rc, 0);
		check_rendered(&pb, a);
	}
	/* Error messages and field names only: linear in the body. */
	CHECK(arena_used(a) <= 32 * len + 65536);
	json_object_put(doc);
	arena_free(a);	/* LeakSanitizer: nothing outlives the arena */
	return 0;
}
