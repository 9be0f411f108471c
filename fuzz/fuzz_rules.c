/* fuzz_rules.c — libFuzzer target: rules through src/rules.c, and dates. */
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "fuzz.h"
#include "json.h"
#include "rules.h"
#include "utf8.h"

static int
valid_utf8(const char *s)
{
	return utf8_check(s, strlen(s)) == strlen(s);
}

static int
all_of(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

static int
is_uuid(const char *s)
{
	static const char	form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t			i;

	if (strlen(s) != sizeof(form) - 1)
		return 0;
	for (i = 0; form[i] != '\0'; i++)
		if (form[i] == '-' ? s[i] != '-' :
		    strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

/* The member key of obj (an object or NULL), NULL when absent or null. */
static struct json_object *
member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

/*
 * A rule that parsed is inside every bound rules.h documents, and what the
 * document gave is in it (days given: a day is set; hours given: has_hours).
 */
static void
check_rule(const struct rule *r, struct json_object *obj, int stored)
{
	struct json_object	*c = member(obj, "conditions"), *v;
	int			 i, j;

	CHECK(r->name != NULL && strlen(r->name) >= 1 &&
	    strlen(r->name) <= RULE_NAME_MAX && valid_utf8(r->name));
	CHECK(strlen(r->event_type) >= 1 &&
	    all_of(r->event_type, "abcdefghijklmnopqrstuvwxyz0123456789_.-"));
	CHECK(stored ? r->id[0] == '\0' || strlen(r->id) == RULE_ID_LEN :
	    r->id[0] == '\0');
	CHECK(r->active == 0 || r->active == 1);
	CHECK(r->stop == 0 || r->stop == 1);
	CHECK(r->priority >= 0 && r->priority <= RULE_PRIORITY_MAX);
	CHECK(member(obj, "priority") != NULL ||
	    r->priority == RULE_PRIORITY_DEFAULT);
	CHECK(r->has_from == (member(obj, "valid_from") != NULL));
	CHECK(r->has_until == (member(obj, "valid_until") != NULL));
	CHECK(!r->has_from || (r->valid_from >= 0 &&
	    r->valid_from <= RULE_TIME_MAX));
	CHECK(!r->has_until || (r->valid_until >= 0 &&
	    r->valid_until <= RULE_TIME_MAX));
	CHECK(!r->has_from || !r->has_until || r->valid_from < r->valid_until);

	CHECK(r->has_amount_min == (member(c, "amount_min") != NULL));
	CHECK(r->has_amount_max == (member(c, "amount_max") != NULL));
	CHECK(!r->has_amount_min || (r->amount_min >= 1 &&
	    r->amount_min <= RULE_AMOUNT_MAX));
	CHECK(!r->has_amount_max || (r->amount_max >= 1 &&
	    r->amount_max <= RULE_AMOUNT_MAX));
	CHECK(!r->has_amount_min || !r->has_amount_max ||
	    r->amount_min <= r->amount_max);
	CHECK((r->currency[0] != '\0') == (member(c, "currency") != NULL));
	CHECK(r->currency[0] == '\0' || (strlen(r->currency) == 3 &&
	    all_of(r->currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")));
	CHECK((r->days & ~(unsigned)RULE_DAYS_ALL) == 0);
	CHECK((r->days != 0) == (member(c, "days") != NULL));
	if ((v = member(c, "days")) != NULL)
		CHECK((int)json_object_array_length(v) ==
		    __builtin_popcount(r->days));
	CHECK(r->has_hours == (member(c, "hours") != NULL));
	CHECK(!r->has_hours || (r->hour_from >= 0 && r->hour_from <= 23 &&
	    r->hour_to >= 1 && r->hour_to <= 24 && r->hour_from != r->hour_to));
	CHECK((r->ntiers > 0) == (member(c, "tiers") != NULL));
	CHECK(r->ntiers >= 0 && r->ntiers <= RULE_TIERS_MAX);
	for (i = 0; i < r->ntiers; i++) {
		CHECK(strlen(r->tiers[i]) >= 1 &&
		    strlen(r->tiers[i]) <= RULE_TIER_MAX);
		CHECK(valid_utf8(r->tiers[i]));
		for (j = 0; j < i; j++)
			CHECK(strcmp(r->tiers[i], r->tiers[j]) != 0);
	}
	CHECK(r->nattrs >= 0 && r->nattrs <= RULE_ATTRS_MAX);
	v = member(c, "attributes");
	CHECK(r->nattrs == (v == NULL ? 0 : json_object_object_length(v)));
	for (i = 0; i < r->nattrs; i++) {
		struct json_object *val = member(v, r->attrs[i].key);

		CHECK(strlen(r->attrs[i].value) <= RULE_ATTR_VALUE_MAX);
		CHECK(val != NULL && strcmp(json_object_get_string(val),
		    r->attrs[i].value) == 0);
	}

	switch (r->kind) {
	case RULE_FIXED:
		CHECK(r->points >= 1 && r->points <= RULE_FIXED_POINTS_MAX);
		break;
	case RULE_PER_UNIT:
		CHECK(r->points >= 1 && r->points <= RULE_UNIT_POINTS_MAX);
		CHECK(r->unit_minor >= 1 && r->unit_minor <= RULE_UNIT_MINOR_MAX);
		CHECK(r->rounding == RULE_ROUND_DOWN ||
		    r->rounding == RULE_ROUND_NEAREST ||
		    r->rounding == RULE_ROUND_UP);
		break;
	case RULE_MULTIPLIER:
		CHECK(r->percent >= RULE_PERCENT_MIN &&
		    r->percent <= RULE_PERCENT_MAX);
		break;
	default:
		CHECK(!"a known kind");
	}
	CHECK(r->cap_day >= 0 && r->cap_day <= RULE_CAP_MAX);
	CHECK(r->cap_month >= 0 && r->cap_month <= RULE_CAP_MAX);
	CHECK((r->cap_day != 0) == (member(obj, "cap_per_day") != NULL));
	CHECK((r->cap_month != 0) == (member(obj, "cap_per_month") != NULL));
	CHECK(r->budget_id[0] == '\0' || is_uuid(r->budget_id));
	CHECK((r->budget_id[0] != '\0') == (member(obj, "budget_id") != NULL));
}

/* rule_points() against the product in 128 bits. */
static void
check_points(const struct rule *r, int64_t amount)
{
	struct rule_event	 ev = { r->event_type, 1, amount, "USD", 0, NULL };
	__int128		 exact, q, rem;
	int64_t			 want = 0;

	switch (r->kind) {
	case RULE_FIXED:
		want = r->points;
		break;
	case RULE_PER_UNIT:
		if (amount <= 0)
			break;
		exact = (__int128)amount * r->points;
		q = exact / r->unit_minor;
		rem = exact % r->unit_minor;
		if (r->rounding == RULE_ROUND_UP && rem > 0)
			q++;
		if (r->rounding == RULE_ROUND_NEAREST && 2 * rem >= r->unit_minor)
			q++;
		want = (int64_t)q;
		break;
	case RULE_MULTIPLIER:
		break;
	}
	CHECK(rule_points(r, &ev) == want);
	ev.has_amount = 0;
	CHECK(rule_points(r, &ev) == (r->kind == RULE_FIXED ? r->points : 0));
}

/*
 * An event made to fit every condition fits; with the wrong type, or an
 * hour, day, amount or attribute just outside, it does not.
 */
static void
check_fits(const struct rule *r)
{
	struct rule_event	 ev;
	struct json_object	*attrs = json_object_new_object();
	struct tm		 tm;
	int			 i, d;

	if (attrs == NULL)
		return;
	for (i = 0; i < r->nattrs; i++)
		json_object_object_add(attrs, r->attrs[i].key,
		    json_object_new_string(r->attrs[i].value));
	memset(&tm, 0, sizeof(tm));
	for (d = 0; r->days != 0 && !(r->days & (1u << d)); d++)
		;
	tm.tm_wday = r->days != 0 ? d : 3;
	tm.tm_hour = r->has_hours ? r->hour_from : 12;
	ev.type = r->event_type;
	ev.has_amount = 1;
	ev.amount_minor = r->has_amount_min ? r->amount_min :
	    r->has_amount_max ? r->amount_max : 1;
	ev.currency = r->currency[0] != '\0' ? r->currency : "USD";
	ev.occurred_at = r->has_from ? r->valid_from : r->has_until ?
	    r->valid_until - 1 : 0;
	ev.attributes = attrs;
	CHECK(rule_fits(r, &ev, &tm));
	CHECK(rule_fits(r, &ev, NULL) == !rule_needs_local(r));

	ev.type = "";
	CHECK(!rule_fits(r, &ev, &tm));
	ev.type = r->event_type;
	if (r->has_until) {
		ev.occurred_at = r->valid_until;
		CHECK(!rule_fits(r, &ev, &tm));
		ev.occurred_at = r->has_from ? r->valid_from :
		    r->valid_until - 1;
	}
	if (r->has_amount_max) {
		ev.amount_minor = r->amount_max + 1;
		CHECK(!rule_fits(r, &ev, &tm));
		ev.amount_minor = r->amount_max;
		CHECK(rule_fits(r, &ev, &tm));
	}
	if (r->has_hours && !(r->hour_from == 0 && r->hour_to == 24)) {
		tm.tm_hour = r->hour_to % 24;
		CHECK(!rule_fits(r, &ev, &tm));
		tm.tm_hour = r->hour_from;
	}
	if (r->days != 0 && r->days != RULE_DAYS_ALL) {
		for (d = 0; r->days & (1u << d); d++)
			;
		tm.tm_wday = d;
		CHECK(!rule_fits(r, &ev, &tm));
	}
	if (r->nattrs > 0) {
		json_object_object_add(attrs, r->attrs[0].key,
		    json_object_new_int(1));
		CHECK(!rule_fits(r, &ev, &tm));
	}
	json_object_put(attrs);
}

/*
 * A refusal is 422 with at least one fault, each naming a field (the empty
 * name of a key "" aside) and saying something, in UTF-8 for the client.
 */
static void
check_problem(const struct problem *pb, enum lerr rc)
{
	int	i;

	CHECK(rc == LERR_VALIDATION);
	CHECK(pb->code == LERR_VALIDATION);
	CHECK(pb->nerrors >= 1 && pb->nerrors <= PROBLEM_MAX_ERRORS);
	for (i = 0; i < pb->nerrors; i++) {
		CHECK(pb->errors[i].field != NULL);
		CHECK(valid_utf8(pb->errors[i].field));
		CHECK(pb->errors[i].message != NULL &&
		    pb->errors[i].message[0] != '\0');
		CHECK(valid_utf8(pb->errors[i].message));
	}
}

/* n digits at s, as a number (the caller knows they are digits). */
static int
num(const char *s, int n)
{
	int	v = 0;

	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/*
 * rfc3339_parse() on the text: what it accepts is in range, is the very
 * date and time written once the offset is taken back (so February 30 and
 * hour 24 cannot pass as March 2 or the next day), and reads back the
 * same from its canonical form, which is the text itself when the text
 * was already canonical.
 */
static void
check_time(const char *s)
{
	int64_t		 t = -7, again = -7, off = 0;
	time_t		 tt;
	struct tm	 tm;
	char		 canon[32];
	const char	*z;
	size_t		 i;

	if (rfc3339_parse(s, &t) == -1) {
		CHECK(t == -7);
		return;
	}
	CHECK(t >= 0 && t <= RULE_TIME_MAX);
	CHECK(strlen(s) >= 20);
	z = s + strlen(s) - 1;
	if (*z != 'Z' && *z != 'z') {
		z = s + strlen(s) - 6;
		CHECK(*z == '+' || *z == '-');
		off = (*z == '+' ? 1 : -1) * (num(z + 1, 2) * 3600 +
		    num(z + 4, 2) * 60);
	}
	tt = (time_t)(t + off);
	CHECK(gmtime_r(&tt, &tm) != NULL);
	CHECK(tm.tm_year + 1900 == num(s, 4) && tm.tm_mon + 1 == num(s + 5, 2) &&
	    tm.tm_mday == num(s + 8, 2) && tm.tm_hour == num(s + 11, 2) &&
	    tm.tm_min == num(s + 14, 2) && tm.tm_sec == num(s + 17, 2));

	tt = (time_t)t;
	CHECK(gmtime_r(&tt, &tm) != NULL);
	CHECK(strftime(canon, sizeof(canon), "%Y-%m-%dT%H:%M:%SZ", &tm) == 20);
	CHECK(rfc3339_parse(canon, &again) == 0 && again == t);
	if (strlen(s) == 20) {
		for (i = 0; i < 20; i++)
			CHECK(canon[i] == (s[i] == 't' ? 'T' : s[i] == 'z' ?
			    'Z' : s[i]));
	}
}

/*
 * The first byte chooses API or stored; the rest is the body, and also
 * (up to a NUL) a date-time.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct arena		*a;
	struct problem		 pb;
	struct json_object	*obj = NULL;
	struct rule		 r;
	enum lerr		 rc;
	const char		*body = (const char *)data + 1;
	char			*text;
	int			 stored;

	if (len == 0)
		return 0;
	stored = data[0] & 1;
	if ((text = malloc(len)) == NULL)
		return 0;
	memcpy(text, body, len - 1);
	text[len - 1] = '\0';
	check_time(text);
	free(text);

	a = arena_new(0);
	memset(&pb, 0, sizeof(pb));
	if (json_parse_body(body, len - 1, &obj, &pb, a) == LERR_OK) {
		memset(&pb, 0, sizeof(pb));
		memset(&r, 0xa5, sizeof(r));
		rc = rule_parse(obj, stored, &r, &pb, a);
		if (rc == LERR_OK) {
			CHECK(pb.nerrors == 0 && pb.code == LERR_OK);
			check_rule(&r, obj, stored);
			check_points(&r, 1);
			check_points(&r, RULE_AMOUNT_MAX);
			check_points(&r, r.has_amount_min ? r.amount_min : 0);
			check_points(&r, r.has_amount_max ? r.amount_max : -1);
			check_points(&r, (int64_t)(len * 7919) % RULE_AMOUNT_MAX);
			/* around one unit, where the halves are */
			check_points(&r, r.unit_minor / 2);
			check_points(&r, (r.unit_minor + 1) / 2);
			check_points(&r, r.unit_minor - 1);
			check_points(&r, r.unit_minor + 1);
			check_fits(&r);
		} else
			check_problem(&pb, rc);
		json_object_put(obj);
	}
	arena_free(a);
	return 0;
}
