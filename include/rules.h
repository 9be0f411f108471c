/* rules.h — a tenant's earning rules: checked from JSON, matched to events. */
#ifndef LOYALTY_RULES_H
#define LOYALTY_RULES_H

#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "arena.h"
#include "problem.h"

/*
 * The bounds of the API (POST /v1/rules). A rule that rule_parse() accepts
 * is inside every one of them, so the worker and its SQL need not check
 * again.
 */
#define RULE_ID_LEN		36	/* a uuid as text */
#define RULE_NAME_MAX		100	/* bytes */
#define RULE_EVENT_TYPE_MAX	64
#define RULE_PRIORITY_MAX	1000000
#define RULE_PRIORITY_DEFAULT	100
#define RULE_AMOUNT_MAX		1000000000000LL	/* 10^12 minor units */
#define RULE_FIXED_POINTS_MAX	1000000000LL
#define RULE_UNIT_POINTS_MAX	1000000LL
#define RULE_UNIT_MINOR_MAX	1000000000LL
#define RULE_PERCENT_MIN	101
#define RULE_PERCENT_MAX	1000
#define RULE_CAP_MAX		1000000000LL
#define RULE_TIERS_MAX		64	/* entries of conditions.tiers */
#define RULE_TIER_MAX		32	/* bytes of one tier name */
#define RULE_ATTRS_MAX		16	/* entries of conditions.attributes */
#define RULE_ATTR_VALUE_MAX	200	/* bytes */
#define RULE_DAYS_ALL		0x7f
#define RULE_TZ_MAX		64	/* bytes of an IANA zone name */
#define RULE_TIME_MAX		253402300799LL	/* 9999-12-31T23:59:59Z */

enum rule_kind		{ RULE_FIXED, RULE_PER_UNIT, RULE_MULTIPLIER };
enum rule_rounding	{ RULE_ROUND_DOWN, RULE_ROUND_NEAREST, RULE_ROUND_UP };

struct rule_attr {
	const char	*key;
	const char	*value;
};

/*
 * One compiled rule. Fixed parts are inline and the variable ones (name,
 * tiers, attributes) point into the arena given to rule_parse(), so the
 * struct can be an element of a flat array that lives as long as that
 * arena.
 */
struct rule {
	char		 id[RULE_ID_LEN + 1];	/* stored rules only, else "" */
	const char	*name;
	char		 event_type[RULE_EVENT_TYPE_MAX + 1];
	int		 active;
	int64_t		 priority;		/* lower runs first */
	int64_t		 valid_from, valid_until;	/* unix seconds */
	int		 has_from, has_until;

	/* Conditions; a has_ flag, 0 or "" means there is none. */
	int64_t		 amount_min, amount_max;	/* inclusive */
	int		 has_amount_min, has_amount_max;
	char		 currency[4];
	unsigned int	 days;		/* bit tm_wday (0 = Sunday); 0 = any */
	int		 hour_from, hour_to, has_hours; /* [from, to), wraps */
	int		 ntiers;	/* checked later, in SQL */
	const char	**tiers;
	int		 nattrs;
	struct rule_attr *attrs;

	enum rule_kind	 kind;
	int64_t		 points;	/* RULE_FIXED and RULE_PER_UNIT */
	int64_t		 unit_minor;	/* RULE_PER_UNIT */
	enum rule_rounding rounding;	/* RULE_PER_UNIT */
	int64_t		 percent;	/* RULE_MULTIPLIER, 101..1000 */

	int64_t		 cap_day, cap_month;	/* per member; 0 = none */
	int		 stop;
	char		 budget_id[RULE_ID_LEN + 1];	/* "" = none */
};

/*
 * Checks obj, a rule as POST /v1/rules takes it (stored == 0) or as it is
 * stored (stored != 0: the keys "id", "created_at" and "updated_at" are
 * then allowed, and "id" is copied when it fits), and fills *out with the
 * defaults applied. A member that is null counts as absent. Strings kept
 * are copied into a, which must live as long as *out. Returns LERR_OK, or
 * LERR_VALIDATION with every fault added to pb naming the field's path
 * ("conditions.hours.from", "conditions.days[2]"); *out is then unusable.
 */
enum lerr	rule_parse(struct json_object *obj, int stored,
		    struct rule *out, struct problem *pb, struct arena *a);

/* What rule_fits() and rule_points() look at in an event. */
struct rule_event {
	const char		*type;
	int			 has_amount;
	int64_t			 amount_minor;
	const char		*currency;	/* NULL without an amount */
	int64_t			 occurred_at;	/* unix seconds */
	struct json_object	*attributes;	/* an object, or NULL */
};

/* Whether rule_fits() needs the event's local time (days or hours). */
int		rule_needs_local(const struct rule *);

/*
 * Whether r's event type, validity window (valid_from <= occurred_at <
 * valid_until), amount, currency, days, hours and attributes all fit ev.
 * local is occurred_at in the tenant's zone (rule_local_time()); it may be
 * NULL when !rule_needs_local(r), and a rule that needs it never fits
 * without it. Not looked at: active, tiers, caps, budget, stop.
 */
int		rule_fits(const struct rule *r, const struct rule_event *ev,
		    const struct tm *local);

/*
 * The points r's action gives ev before tiers, caps, multipliers and
 * budgets: RULE_FIXED its points; RULE_PER_UNIT amount_minor * points /
 * unit_minor rounded as the rule says, exactly, and 0 for an event without
 * an amount or with an amount of 0 or less; RULE_MULTIPLIER 0 (it is
 * applied in SQL, to the points of earlier rules).
 */
int64_t		rule_points(const struct rule *r, const struct rule_event *ev);

/*
 * Unix time t as broken-down local time in tz, an IANA zone name such as
 * "Africa/Harare". Returns 0, or -1 when tz is not a zone of the system's
 * tzdata (glibc would silently use UTC) or t cannot be converted. Sets TZ
 * and calls tzset() when the zone differs from the last call's: for a
 * single-threaded process only, and every localtime() in it follows.
 * "UTC" and "Etc/UTC" need no tzdata.
 */
int		rule_local_time(const char *tz, int64_t t, struct tm *out);

/*
 * An RFC 3339 date-time ("2026-11-20T09:15:00Z", "2026-11-20t11:15:00.5+02:00")
 * to unix seconds, a fraction of a second dropped. Strict: nothing around
 * it, second 60 refused, and the instant must fall in 1970..9999 UTC
 * (0..RULE_TIME_MAX). Returns 0, or -1 when s is not one (*out is then
 * left alone).
 */
int		rfc3339_parse(const char *s, int64_t *out);

#endif
