/* rules.c — earning rules: checked from JSON, matched to events, no I/O. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"
#include "utf8.h"

#define ZONEINFO	"/usr/share/zoneinfo"
#define ANY_LEN		SIZE_MAX	/* its form is checked after */

/* One rule_parse(): where faults go, and how many there were. */
struct parse {
	struct problem	*pb;
	struct arena	*a;
	int		 faults;	/* pb keeps only PROBLEM_MAX_ERRORS */
};

/* Tri-state of a member: absent (or null), present and good, or a fault. */
enum got { GOT_NONE, GOT_OK, GOT_BAD };

static const char *const day_names[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"	/* as tm_wday */
};

static const char *const top_fields[] = {
	"name", "event_type", "active", "priority", "valid_from",
	"valid_until", "conditions", "action", "cap_per_day", "cap_per_month",
	"stop", "budget_id", NULL
};
static const char *const stored_fields[] = {
	"id", "created_at", "updated_at", NULL
};
static const char *const condition_fields[] = {
	"amount_min", "amount_max", "currency", "days", "hours", "tiers",
	"attributes", NULL
};
static const char *const hours_fields[] = { "from", "to", NULL };
static const char *const action_fields[] = {
	"kind", "points", "unit_minor", "rounding", "percent", NULL
};

/*
 * Every fault is 422, a wrong type included: the rule document is checked
 * as a whole and its faults reported together under one status.
 */
static void __attribute__((format(printf, 3, 4)))
fault(struct parse *p, const char *path, const char *fmt, ...)
{
	struct buf	b;
	va_list		ap;

	buf_init(&b, p->a);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	problem_field(p->pb, p->a, LERR_VALIDATION, path, "%s", buf_cstr(&b));
	p->faults++;
}

/* The dotted path of key under prefix (NULL at the top). */
static const char *
path_of(struct parse *p, const char *prefix, const char *key)
{
	return prefix == NULL ? key : arena_printf(p->a, "%s.%s", prefix, key);
}

static int
in_list(const char *const *list, const char *s)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* Each key of obj must be in known (or also); the others are faults. */
static void
refuse_unknown(struct parse *p, struct json_object *obj, const char *prefix,
    const char *const *known, const char *const *also)
{
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (!in_list(known, key) && !in_list(also, key))
			fault(p, path_of(p, prefix, key), "unknown field");
	}
}

/* The member key of obj, or NULL when it is absent or null. */
static struct json_object *
member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/*
 * An integer in min..max. A double (even 1.0), a boolean or a string is
 * not one. json-c saturates values beyond 64 bits at INT64_MIN/MAX, which
 * every range here excludes.
 */
static enum got
int_value(struct parse *p, struct json_object *v, const char *path,
    int64_t min, int64_t max, int64_t *out)
{
	int64_t	x;

	if (!json_object_is_type(v, json_type_int)) {
		fault(p, path, "must be an integer");
		return GOT_BAD;
	}
	x = json_object_get_int64(v);
	if (x < min || x > max) {
		fault(p, path, "must be an integer from %lld to %lld",
		    (long long)min, (long long)max);
		return GOT_BAD;
	}
	*out = x;
	return GOT_OK;
}

static enum got
get_int(struct parse *p, struct json_object *obj, const char *prefix,
    const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;

	if ((v = member(obj, key)) == NULL)
		return GOT_NONE;
	return int_value(p, v, path_of(p, prefix, key), min, max, out);
}

/*
 * A string of min..max bytes. json_parse_body() already refuses a NUL and
 * bad UTF-8, but a stored rule may come from elsewhere: checked again.
 */
static enum got
str_value(struct parse *p, struct json_object *v, const char *path,
    size_t min, size_t max, const char **out)
{
	const char	*s;
	size_t		 n;

	if (!json_object_is_type(v, json_type_string)) {
		fault(p, path, "must be a string");
		return GOT_BAD;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (strlen(s) != n) {
		fault(p, path, "must not contain a NUL character");
		return GOT_BAD;
	}
	if (utf8_check(s, n) != n) {
		fault(p, path, "must be valid UTF-8");
		return GOT_BAD;
	}
	if (n < min || n > max) {
		fault(p, path, "must be %zu to %zu bytes long", min, max);
		return GOT_BAD;
	}
	*out = s;
	return GOT_OK;
}

static enum got
get_str(struct parse *p, struct json_object *obj, const char *prefix,
    const char *key, size_t min, size_t max, const char **out)
{
	struct json_object *v;

	if ((v = member(obj, key)) == NULL)
		return GOT_NONE;
	return str_value(p, v, path_of(p, prefix, key), min, max, out);
}

static enum got
get_bool(struct parse *p, struct json_object *obj, const char *key, int *out)
{
	struct json_object *v;

	if ((v = member(obj, key)) == NULL)
		return GOT_NONE;
	if (!json_object_is_type(v, json_type_boolean)) {
		fault(p, key, "must be true or false");
		return GOT_BAD;
	}
	*out = json_object_get_boolean(v) ? 1 : 0;
	return GOT_OK;
}

/* An object member: NULL when absent or null, or (a fault) not an object. */
static struct json_object *
get_object(struct parse *p, struct json_object *obj, const char *prefix,
    const char *key)
{
	struct json_object *v;

	if ((v = member(obj, key)) == NULL)
		return NULL;
	if (!json_object_is_type(v, json_type_object)) {
		fault(p, path_of(p, prefix, key), "must be an object");
		return NULL;
	}
	return v;
}

static int
all_of(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

#define HEX	"0123456789abcdef"

/* A lowercase uuid: 8-4-4-4-12 hex digits. */
static int
is_uuid(const char *s)
{
	static const int	 group[] = { 8, 4, 4, 4, 12 };
	size_t			 i;

	if (strlen(s) != RULE_ID_LEN)
		return 0;
	for (i = 0; i < 5; i++) {
		if (strspn(s, HEX) != (size_t)group[i])
			return 0;
		s += group[i];
		if (i < 4 && *s++ != '-')
			return 0;
	}
	return 1;
}

static void
parse_window(struct parse *p, struct json_object *obj, struct rule *r)
{
	static const char *const keys[] = { "valid_from", "valid_until" };
	int64_t		*t[] = { &r->valid_from, &r->valid_until };
	int		*has[] = { &r->has_from, &r->has_until };
	const char	*s;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		if (get_str(p, obj, NULL, keys[i], 0, ANY_LEN, &s) != GOT_OK)
			continue;
		if (rfc3339_parse(s, t[i]) == -1)
			fault(p, keys[i], "must be an RFC 3339 date-time from "
			    "1970 to 9999, such as 2026-11-20T09:15:00Z");
		else
			*has[i] = 1;
	}
	if (r->has_from && r->has_until && r->valid_from >= r->valid_until)
		fault(p, "valid_until", "must be later than valid_from");
}

static void
parse_days(struct parse *p, struct json_object *v, struct rule *r)
{
	const char	*s;
	size_t		 i, n;
	int		 d;

	if (!json_object_is_type(v, json_type_array)) {
		fault(p, "conditions.days", "must be an array");
		return;
	}
	if ((n = json_object_array_length(v)) == 0) {
		fault(p, "conditions.days", "must not be empty");
		return;
	}
	for (i = 0; i < n; i++) {
		const char *path = arena_printf(p->a, "conditions.days[%zu]",
		    i);

		if (str_value(p, json_object_array_get_idx(v, i), path, 0,
		    ANY_LEN, &s) != GOT_OK)
			continue;
		for (d = 0; d < 7; d++)
			if (strcmp(s, day_names[d]) == 0)
				break;
		if (d == 7)
			fault(p, path, "must be one of mon, tue, wed, thu, "
			    "fri, sat, sun");
		else if (r->days & (1u << d))
			fault(p, path, "repeats \"%s\"", s);
		else
			r->days |= 1u << d;
	}
}

static void
parse_hours(struct parse *p, struct json_object *v, struct rule *r)
{
	int64_t	from, to;
	enum got gf, gt;

	refuse_unknown(p, v, "conditions.hours", hours_fields, NULL);
	gf = get_int(p, v, "conditions.hours", "from", 0, 23, &from);
	gt = get_int(p, v, "conditions.hours", "to", 1, 24, &to);
	if (gf == GOT_NONE)
		fault(p, "conditions.hours.from", "is required");
	if (gt == GOT_NONE)
		fault(p, "conditions.hours.to", "is required");
	if (gf != GOT_OK || gt != GOT_OK)
		return;
	if (from == to) {
		fault(p, "conditions.hours", "from and to must differ");
		return;
	}
	r->hour_from = (int)from;
	r->hour_to = (int)to;
	r->has_hours = 1;
}

/*
 * Tiers are at most RULE_TIERS_MAX, which also keeps the check for
 * repeats (quadratic) cheap whatever the body's size.
 */
static void
parse_tiers(struct parse *p, struct json_object *v, struct rule *r)
{
	const char	*s;
	size_t		 i, j, n;

	if (!json_object_is_type(v, json_type_array)) {
		fault(p, "conditions.tiers", "must be an array");
		return;
	}
	n = json_object_array_length(v);
	if (n == 0 || n > RULE_TIERS_MAX) {
		fault(p, "conditions.tiers", "must have 1 to %d entries",
		    RULE_TIERS_MAX);
		return;
	}
	r->tiers = arena_zalloc(p->a, n * sizeof(*r->tiers));
	for (i = 0; i < n; i++) {
		const char *path = arena_printf(p->a, "conditions.tiers[%zu]",
		    i);

		if (str_value(p, json_object_array_get_idx(v, i), path, 1,
		    RULE_TIER_MAX, &s) != GOT_OK)
			continue;
		for (j = 0; j < (size_t)r->ntiers; j++)
			if (strcmp(r->tiers[j], s) == 0)
				break;
		if (j < (size_t)r->ntiers)
			fault(p, path, "repeats \"%s\"", s);
		else
			r->tiers[r->ntiers++] = arena_strdup(p->a, s);
	}
}

static void
parse_attributes(struct parse *p, struct json_object *v, struct rule *r)
{
	const char	*s;
	int		 n;

	if ((n = json_object_object_length(v)) > RULE_ATTRS_MAX) {
		fault(p, "conditions.attributes",
		    "must have at most %d entries", RULE_ATTRS_MAX);
		return;
	}
	r->attrs = arena_zalloc(p->a, (size_t)(n > 0 ? n : 1) *
	    sizeof(*r->attrs));
	json_object_object_foreach(v, key, val) {
		const char *path = path_of(p, "conditions.attributes", key);

		if (val == NULL) {
			fault(p, path, "must be a string");
			continue;
		}
		if (str_value(p, val, path, 0, RULE_ATTR_VALUE_MAX, &s) !=
		    GOT_OK)
			continue;
		r->attrs[r->nattrs].key = arena_strdup(p->a, key);
		r->attrs[r->nattrs].value = arena_strdup(p->a, s);
		r->nattrs++;
	}
}

static void
parse_conditions(struct parse *p, struct json_object *c, struct rule *r)
{
	struct json_object	*v;
	const char		*s;
	enum got		 gmin, gmax;

	refuse_unknown(p, c, "conditions", condition_fields, NULL);
	gmin = get_int(p, c, "conditions", "amount_min", 1, RULE_AMOUNT_MAX,
	    &r->amount_min);
	gmax = get_int(p, c, "conditions", "amount_max", 1, RULE_AMOUNT_MAX,
	    &r->amount_max);
	r->has_amount_min = gmin == GOT_OK;
	r->has_amount_max = gmax == GOT_OK;
	if (gmin == GOT_OK && gmax == GOT_OK && r->amount_min > r->amount_max)
		fault(p, "conditions.amount_max",
		    "must not be less than conditions.amount_min");
	if (get_str(p, c, "conditions", "currency", 0, ANY_LEN, &s) == GOT_OK) {
		if (strlen(s) == 3 && all_of(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
			memcpy(r->currency, s, 4);
		else
			fault(p, "conditions.currency",
			    "must be 3 uppercase letters (ISO 4217)");
	}
	if ((v = member(c, "days")) != NULL)
		parse_days(p, v, r);
	if ((v = get_object(p, c, "conditions", "hours")) != NULL)
		parse_hours(p, v, r);
	if ((v = member(c, "tiers")) != NULL)
		parse_tiers(p, v, r);
	if ((v = get_object(p, c, "conditions", "attributes")) != NULL)
		parse_attributes(p, v, r);
}

/*
 * The action's fields depend on its kind; one of another kind is refused
 * like an unknown field. When the kind itself is bad only it is reported.
 */
static void
parse_action(struct parse *p, struct json_object *act, struct rule *r)
{
	static const char *const kinds[] = {
		"fixed", "per_unit", "multiplier"
	};
	static const char *const roundings[] = { "down", "nearest", "up" };
	static const char *const fields_of[][5] = {
		{ "kind", "points", NULL },
		{ "kind", "points", "unit_minor", "rounding", NULL },
		{ "kind", "percent", NULL },
	};
	const char	*s;
	int		 k, i;
	enum got	 g, g2;

	refuse_unknown(p, act, "action", action_fields, NULL);
	if ((g = get_str(p, act, "action", "kind", 0, ANY_LEN, &s)) == GOT_NONE)
		fault(p, "action.kind", "is required");
	if (g != GOT_OK)
		return;
	for (k = 0; k < 3; k++)
		if (strcmp(s, kinds[k]) == 0)
			break;
	if (k == 3) {
		fault(p, "action.kind",
		    "must be fixed, per_unit or multiplier");
		return;
	}
	r->kind = (enum rule_kind)k;
	json_object_object_foreach(act, key, val) {
		(void)val;
		if (in_list(action_fields, key) && !in_list(fields_of[k], key))
			fault(p, path_of(p, "action", key),
			    "is not a field of a %s action", kinds[k]);
	}
	switch (r->kind) {
	case RULE_FIXED:
		g = get_int(p, act, "action", "points", 1,
		    RULE_FIXED_POINTS_MAX, &r->points);
		break;
	case RULE_PER_UNIT:
		g = get_int(p, act, "action", "points", 1,
		    RULE_UNIT_POINTS_MAX, &r->points);
		if (get_int(p, act, "action", "unit_minor", 1,
		    RULE_UNIT_MINOR_MAX, &r->unit_minor) == GOT_NONE)
			fault(p, "action.unit_minor", "is required");
		g2 = get_str(p, act, "action", "rounding", 0, ANY_LEN, &s);
		if (g2 == GOT_OK) {
			for (i = 0; i < 3; i++)
				if (strcmp(s, roundings[i]) == 0)
					break;
			if (i == 3)
				fault(p, "action.rounding",
				    "must be down, nearest or up");
			else
				r->rounding = (enum rule_rounding)i;
		}
		break;
	case RULE_MULTIPLIER:
		if (get_int(p, act, "action", "percent", RULE_PERCENT_MIN,
		    RULE_PERCENT_MAX, &r->percent) == GOT_NONE)
			fault(p, "action.percent", "is required");
		return;
	}
	if (g == GOT_NONE)
		fault(p, "action.points", "is required");
}

/* A stored rule's id, when it is one; the worker may also set it itself. */
static void
copy_stored_id(struct json_object *obj, struct rule *r)
{
	struct json_object *v = member(obj, "id");

	if (v != NULL && json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) == RULE_ID_LEN &&
	    strlen(json_object_get_string(v)) == RULE_ID_LEN)
		memcpy(r->id, json_object_get_string(v), RULE_ID_LEN + 1);
}

enum lerr
rule_parse(struct json_object *obj, int stored, struct rule *r,
    struct problem *pb, struct arena *a)
{
	struct parse		 p = { pb, a, 0 };
	struct json_object	*v;
	const char		*s;
	enum got		 g;
	int			 before = pb->nerrors;

	memset(r, 0, sizeof(*r));
	r->active = 1;
	r->priority = RULE_PRIORITY_DEFAULT;
	r->kind = RULE_FIXED;
	r->rounding = RULE_ROUND_DOWN;
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		fault(&p, "body", "must be a JSON object");
		return LERR_VALIDATION;
	}
	refuse_unknown(&p, obj, NULL, top_fields,
	    stored ? stored_fields : NULL);
	if (stored)
		copy_stored_id(obj, r);
	if ((g = get_str(&p, obj, NULL, "name", 1, RULE_NAME_MAX, &s)) ==
	    GOT_OK)
		r->name = arena_strdup(a, s);
	else if (g == GOT_NONE)
		fault(&p, "name", "is required");
	if ((g = get_str(&p, obj, NULL, "event_type", 1, RULE_EVENT_TYPE_MAX,
	    &s)) == GOT_OK) {
		if (all_of(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-"))
			memcpy(r->event_type, s, strlen(s) + 1);
		else
			fault(&p, "event_type", "may contain only a-z, 0-9, "
			    "'_', '.' and '-'");
	} else if (g == GOT_NONE)
		fault(&p, "event_type", "is required");
	get_bool(&p, obj, "active", &r->active);
	get_int(&p, obj, NULL, "priority", 0, RULE_PRIORITY_MAX, &r->priority);
	parse_window(&p, obj, r);
	if ((v = get_object(&p, obj, NULL, "conditions")) != NULL)
		parse_conditions(&p, v, r);
	if ((v = get_object(&p, obj, NULL, "action")) != NULL)
		parse_action(&p, v, r);
	else if (member(obj, "action") == NULL)
		fault(&p, "action", "is required");
	get_int(&p, obj, NULL, "cap_per_day", 1, RULE_CAP_MAX, &r->cap_day);
	get_int(&p, obj, NULL, "cap_per_month", 1, RULE_CAP_MAX, &r->cap_month);
	get_bool(&p, obj, "stop", &r->stop);
	if (get_str(&p, obj, NULL, "budget_id", 0, ANY_LEN, &s) == GOT_OK) {
		if (is_uuid(s))
			memcpy(r->budget_id, s, RULE_ID_LEN + 1);
		else
			fault(&p, "budget_id", "must be a lowercase uuid");
	}
	if (p.faults == 0)
		return LERR_OK;
	/* As json_check_object() words it. */
	if (pb->detail == NULL && pb->nerrors > before)
		pb->detail = p.faults == 1 ? arena_printf(a, "%s %s",
		    pb->errors[before].field, pb->errors[before].message) :
		    "some fields are invalid";
	return LERR_VALIDATION;
}

int
rule_needs_local(const struct rule *r)
{
	return r->days != 0 || r->has_hours;
}

/* Local hour h in [from, to), or in [from, 24) + [0, to) when it wraps. */
static int
hour_fits(int from, int to, int h)
{
	if (from < to)
		return h >= from && h < to;
	return h >= from || h < to;
}

static int
attributes_fit(const struct rule *r, struct json_object *attrs)
{
	struct json_object	*v;
	int			 i;

	if (r->nattrs == 0)
		return 1;
	if (attrs == NULL || !json_object_is_type(attrs, json_type_object))
		return 0;
	for (i = 0; i < r->nattrs; i++) {
		if (!json_object_object_get_ex(attrs, r->attrs[i].key, &v) ||
		    !json_object_is_type(v, json_type_string))
			return 0;
		/* Length first: the event's string may hold a NUL. */
		if ((size_t)json_object_get_string_len(v) !=
		    strlen(r->attrs[i].value) ||
		    strcmp(json_object_get_string(v), r->attrs[i].value) != 0)
			return 0;
	}
	return 1;
}

int
rule_fits(const struct rule *r, const struct rule_event *ev,
    const struct tm *local)
{
	if (ev->type == NULL || strcmp(r->event_type, ev->type) != 0)
		return 0;
	if (r->has_from && ev->occurred_at < r->valid_from)
		return 0;
	if (r->has_until && ev->occurred_at >= r->valid_until)
		return 0;
	if ((r->has_amount_min || r->has_amount_max) && !ev->has_amount)
		return 0;
	if (r->has_amount_min && ev->amount_minor < r->amount_min)
		return 0;
	if (r->has_amount_max && ev->amount_minor > r->amount_max)
		return 0;
	if (r->currency[0] != '\0' && (ev->currency == NULL ||
	    strcmp(r->currency, ev->currency) != 0))
		return 0;
	if (rule_needs_local(r) && local == NULL)
		return 0;
	if (r->days != 0 && (local->tm_wday < 0 || local->tm_wday > 6 ||
	    !(r->days & (1u << local->tm_wday))))
		return 0;
	if (r->has_hours && !hour_fits(r->hour_from, r->hour_to,
	    local->tm_hour))
		return 0;
	return attributes_fit(r, ev->attributes);
}

/*
 * amount * points / unit, rounded, without the product: with amount =
 * q * unit + rem, it is q * points + (rem * points) / unit, and rem *
 * points < 10^9 * 10^6 always fits. Exact for any amount; saturates at
 * INT64_MAX only beyond the API's bounds.
 */
static int64_t
per_unit(int64_t amount, int64_t points, int64_t unit,
    enum rule_rounding rounding)
{
	int64_t	q = amount / unit, rem = amount % unit, whole, part, left;

	if (q > (INT64_MAX - points - 1) / points)
		return INT64_MAX;
	whole = q * points;
	part = rem * points / unit;
	left = rem * points % unit;
	whole += part;
	if (rounding == RULE_ROUND_UP && left > 0)
		whole++;
	else if (rounding == RULE_ROUND_NEAREST && left >= unit - left)
		whole++;	/* half up: left / unit >= 1/2 */
	return whole;
}

int64_t
rule_points(const struct rule *r, const struct rule_event *ev)
{
	switch (r->kind) {
	case RULE_FIXED:
		return r->points;
	case RULE_PER_UNIT:
		if (!ev->has_amount || ev->amount_minor <= 0 ||
		    r->points <= 0 || r->unit_minor <= 0)
			return 0;
		return per_unit(ev->amount_minor, r->points, r->unit_minor,
		    r->rounding);
	case RULE_MULTIPLIER:
		return 0;
	}
	return 0;
}

/*
 * A name that can only be a file under ZONEINFO: letters, digits, '_',
 * '-', '+' and '/' between non-empty parts. No '.', so no "..".
 */
static int
zone_name_ok(const char *tz)
{
	size_t	n = strlen(tz), i;

	if (n == 0 || n > RULE_TZ_MAX || tz[0] == '/' || tz[n - 1] == '/')
		return 0;
	for (i = 0; i < n; i++) {
		char c = tz[i];

		if (c == '/' && tz[i + 1] == '/')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("_-+/", c) != NULL))
			return 0;
	}
	return 1;
}

/*
 * glibc takes any TZ and, when it cannot read a zone file, silently uses
 * UTC; so the file must exist and start with the TZif magic (zone.tab and
 * the like are files there too).
 */
static int
zone_file_ok(const char *path)
{
	char	magic[4];
	int	fd, ok;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return 0;
	ok = read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
	    memcmp(magic, "TZif", 4) == 0;
	close(fd);
	return ok;
}

int
rule_local_time(const char *tz, int64_t t, struct tm *out)
{
	static char	 current[RULE_TZ_MAX + 1];	/* the zone TZ names */
	char		 path[sizeof(ZONEINFO) + RULE_TZ_MAX + 2];
	time_t		 tt = (time_t)t;

	if (tz == NULL || !zone_name_ok(tz) || (int64_t)tt != t)
		return -1;
	if (strcmp(tz, "UTC") == 0 || strcmp(tz, "Etc/UTC") == 0)
		return gmtime_r(&tt, out) == NULL ? -1 : 0;
	if (strcmp(tz, current) != 0) {
		/* ":" and a full path: glibc reads that file, not TZDIR's. */
		snprintf(path, sizeof(path), ":" ZONEINFO "/%s", tz);
		if (!zone_file_ok(path + 1) || setenv("TZ", path, 1) == -1)
			return -1;
		tzset();
		memcpy(current, tz, strlen(tz) + 1);
	}
	return localtime_r(&tt, out) == NULL ? -1 : 0;
}

/* n digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
	int	v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;		/* y >= 1969 here: no negative division */
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
rfc3339_parse(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int		 y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, dim;
	const char	*p;
	int64_t		 t;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
		return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
		return -1;
	dim = mdays[mo - 1] + (mo == 2 && is_leap(y));
	if (d > dim)
		return -1;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		/* UTC */
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		sign = *p == '+' ? 1 : -1;
		oh = digits(p + 1, 2);
		om = digits(p + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
	} else
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	if (t < 0 || t > RULE_TIME_MAX)
		return -1;
	*out = t;
	return 0;
}
