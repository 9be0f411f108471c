/* json.c — strict parsing of request bodies and checks of their fields. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

/*
 * Finds the first value that the grammar lets through but the API never
 * accepts: a string with an embedded NUL, or NaN or Infinity (json-c takes
 * them even in strict mode). Fills path with the field's dotted name and
 * returns the message, or NULL when all is well.
 */
static const char *
find_bad_value(struct json_object *o, char *path, size_t pathlen)
{
	size_t		 len = strlen(path), i, n;
	const char	*bad = NULL;

	switch (json_object_get_type(o)) {
	case json_type_string:
		if (strlen(json_object_get_string(o)) !=
		    (size_t)json_object_get_string_len(o))
			return "must not contain a NUL character";
		return NULL;
	case json_type_double:
		if (!isfinite(json_object_get_double(o)))
			return "must be a number, not NaN or Infinity";
		return NULL;
	case json_type_object: {
		json_object_object_foreach(o, key, val) {
			snprintf(path + len, pathlen - len, "%s%s",
			    len ? "." : "", key);
			if ((bad = find_bad_value(val, path, pathlen)) != NULL)
				return bad;
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			snprintf(path + len, pathlen - len, "[%zu]", i);
			if ((bad = find_bad_value(json_object_array_get_idx(o,
			    i), path, pathlen)) != NULL)
				return bad;
		}
		break;
	default:
		break;
	}
	path[len] = '\0';
	return NULL;
}

/*
 * What json-c lets through even in strict mode, found on the raw text:
 * a single-quoted object key, a raw control character inside a string,
 * nesting deeper than JSON_MAX_DEPTH. Returns the offending byte or -1.
 * Also notes an escaped NUL anywhere: json-c would cut an object key at
 * it, so keys can only be checked here, on the text.
 */
static long
text_fault(const char *s, size_t len, const char **why, int *escaped_nul)
{
	size_t	i;
	int	in_string = 0, depth = 0;

	*escaped_nul = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (in_string) {
			if (c == '"')
				in_string = 0;
			else if (c == '\\') {
				if (i + 5 < len && s[i + 1] == 'u' &&
				    memcmp(s + i + 2, "0000", 4) == 0)
					*escaped_nul = 1;
				i++;
			} else if (c < 0x20) {
				*why = "control character in a string";
				return (long)i;
			}
			continue;
		}
		switch (c) {
		case '"':
			in_string = 1;
			break;
		case '\'':
			*why = "single quotes";
			return (long)i;
		case '[':
		case '{':
			if (++depth > JSON_MAX_DEPTH) {
				*why = NULL;
				return (long)i;
			}
			break;
		case ']':
		case '}':
			depth--;
			break;
		}
	}
	return -1;
}

enum lerr
json_parse_body(const char *body, size_t len, struct json_object **out,
    struct problem *pb, struct arena *a)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	size_t			 end;
	char			 path[256] = "";
	const char		*bad;
	int			 escaped_nul;

	*out = NULL;
	if (len == 0)
		return problem_field(pb, a, LERR_BAD_REQUEST, "body",
		    "a JSON body is required");
	if (memchr(body, '\0', len) != NULL)
		return problem_field(pb, a, LERR_BAD_REQUEST, "body",
		    "the body contains a NUL byte");
	/* json-c's own check lets UTF-16 surrogates through. */
	if ((end = utf8_check(body, len)) != len)
		return problem_field(pb, a, LERR_BAD_REQUEST, "body",
		    "invalid UTF-8 at byte %zu", end);
	{
		const char	*why;
		long		 at = text_fault(body, len, &why, &escaped_nul);

		if (at >= 0 && why == NULL)
			return problem_field(pb, a, LERR_BAD_REQUEST, "body",
			    "the JSON document is nested deeper than %d levels",
			    JSON_MAX_DEPTH);
		if (at >= 0)
			return problem_field(pb, a, LERR_BAD_REQUEST, "body",
			    "invalid JSON at byte %ld: %s", at, why);
	}
	if ((tok = json_tokener_new_ex(JSON_MAX_DEPTH + 1)) == NULL)
		return problem_set(pb, a, LERR_INTERNAL, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		/* A bare number or literal ends only at a delimiter. */
		obj = json_tokener_parse_ex(tok, " ", 1);
		jerr = json_tokener_get_error(tok);
		end = jerr == json_tokener_success ? len :
		    json_tokener_get_parse_end(tok);
	} else
		end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_continue)
			return problem_field(pb, a, LERR_BAD_REQUEST, "body",
			    "the JSON document is incomplete");
		if (jerr == json_tokener_error_depth)
			return problem_field(pb, a, LERR_BAD_REQUEST, "body",
			    "the JSON document is nested deeper than %d levels",
			    JSON_MAX_DEPTH);
		return problem_field(pb, a, LERR_BAD_REQUEST, "body",
		    "invalid JSON at byte %zu: %s", end,
		    json_tokener_error_desc(jerr));
	}
	for (; end < len; end++) {
		if (strchr(" \t\r\n", body[end]) == NULL) {
			json_object_put(obj);
			return problem_field(pb, a, LERR_BAD_REQUEST, "body",
			    "unexpected data after the JSON value at byte %zu",
			    end);
		}
	}
	if ((bad = find_bad_value(obj, path, sizeof(path))) != NULL) {
		/* A long path is cut short, maybe inside a character. */
		path[utf8_check(path, strlen(path))] = '\0';
		json_object_put(obj);
		return problem_field(pb, a, LERR_BAD_REQUEST,
		    path[0] ? path : "body", "%s", bad);
	}
	if (escaped_nul) {
		json_object_put(obj);
		return problem_field(pb, a, LERR_BAD_REQUEST, "body",
		    "an object key contains a NUL character");
	}
	*out = obj;
	return LERR_OK;
}

static const char *
kind_name(enum json_kind k)
{
	switch (k) {
	case JK_STRING:	return "a string";
	case JK_INT:	return "an integer";
	case JK_BOOL:	return "true or false";
	case JK_OBJECT:	return "an object";
	case JK_ARRAY:	return "an array";
	}
	return "?";
}

static int
kind_matches(struct json_object *v, enum json_kind k)
{
	switch (k) {
	case JK_STRING:	return json_object_is_type(v, json_type_string);
	case JK_INT:	return json_object_is_type(v, json_type_int);
	case JK_BOOL:	return json_object_is_type(v, json_type_boolean);
	case JK_OBJECT:	return json_object_is_type(v, json_type_object);
	case JK_ARRAY:	return json_object_is_type(v, json_type_array);
	}
	return 0;
}

/*
 * json-c keeps integers beyond int64 as uint64 and saturates the int64
 * getter, so a value is only trusted inside bounds well short of both
 * ends: a check's max is below INT64_MAX and its min above INT64_MIN.
 */
static int
int_in_range(struct json_object *v, int64_t min, int64_t max, int64_t *out)
{
	int64_t	x = json_object_get_int64(v);

	*out = x;
	if (x == INT64_MAX || x == INT64_MIN)
		return 0;
	return x >= min && x <= max;
}

enum lerr
json_check_object(struct json_object *obj, const struct json_field *spec,
    struct problem *pb, struct arena *a)
{
	const struct json_field	*f;
	int			 before = pb->nerrors;

	if (!json_object_is_type(obj, json_type_object))
		return problem_field(pb, a, LERR_BAD_REQUEST, "body",
		    "must be a JSON object");
	json_object_object_foreach(obj, key, val) {
		for (f = spec; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL)
			problem_field(pb, a, LERR_VALIDATION, key,
			    "unknown field");
	}
	for (f = spec; f->name != NULL; f++) {
		struct json_object	*v;
		int64_t			 x;

		if (!json_object_object_get_ex(obj, f->name, &v) || v == NULL) {
			if (f->required)
				problem_field(pb, a, LERR_VALIDATION, f->name,
				    "is required");
			continue;
		}
		if (!kind_matches(v, f->kind)) {
			problem_field(pb, a, LERR_BAD_REQUEST, f->name,
			    "must be %s", kind_name(f->kind));
			continue;
		}
		if (f->kind == JK_INT && !int_in_range(v, f->min, f->max, &x))
			problem_field(pb, a, LERR_BAD_REQUEST, f->name,
			    "must be an integer from %lld to %lld",
			    (long long)f->min, (long long)f->max);
		if (f->kind == JK_STRING) {
			int64_t n = json_object_get_string_len(v);

			if (n < f->min || n > f->max)
				problem_field(pb, a, LERR_VALIDATION, f->name,
				    "must be %lld to %lld bytes long",
				    (long long)f->min, (long long)f->max);
		}
	}
	if (pb->nerrors > before && pb->detail == NULL)
		pb->detail = pb->nerrors - before == 1 ?
		    arena_printf(a, "%s %s", pb->errors[before].field,
		    pb->errors[before].message) : "some fields are invalid";
	return pb->nerrors > before ? pb->code : LERR_OK;
}
