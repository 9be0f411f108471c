/* json.h — strict JSON input: parse, then check against a field table. */
#ifndef LOYALTY_JSON_H
#define LOYALTY_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "problem.h"

#define JSON_MAX_DEPTH	16

/*
 * Parses a request body: UTF-8 validated, strict grammar (no NaN, no
 * Infinity, no comments, no single quotes), at most JSON_MAX_DEPTH deep,
 * nothing but white space after the value, no NUL byte raw or escaped.
 * On LERR_OK *out holds a new reference the caller puts; otherwise pb
 * names the fault (400).
 */
enum lerr	json_parse_body(const char *body, size_t len,
		    struct json_object **out, struct problem *pb,
		    struct arena *);

enum json_kind { JK_STRING, JK_INT, JK_BOOL, JK_OBJECT, JK_ARRAY };

struct json_field {
	const char	*name;
	enum json_kind	 kind;
	int		 required;
	int64_t		 min, max;	/* JK_INT: value; JK_STRING: length */
};

/*
 * Checks an object against a table ending in {NULL}: a wrong type or a
 * number out of range is 400, a missing required field or an unknown one
 * is 422; every fault is added to pb with the field named.
 */
enum lerr	json_check_object(struct json_object *, const struct json_field *,
		    struct problem *, struct arena *);

#endif
