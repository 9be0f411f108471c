/* test_rules.c — earning rules: checks, matching, points, local time, dates. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "rules.h"

/* One arena, problem and rule per test, so every test frees what it made. */
struct fixture {
	struct arena		*a;
	struct problem		 pb;
	struct json_object	*obj;
	struct rule		 r;
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

/*
 * Parses text as a request body, then as a rule. For legibility the text
 * quotes with ' where JSON has " (no test needs a literal ').
 */
static enum lerr
parse_at(struct fixture *f, const char *text, int stored, const char *file,
    int line)
{
	char		*body = arena_strdup(f->a, text), *p;
	struct problem	 jpb;

	for (p = body; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	json_object_put(f->obj);
	f->obj = NULL;
	memset(&jpb, 0, sizeof(jpb));
	if (json_parse_body(body, strlen(body), &f->obj, &jpb, f->a) !=
	    LERR_OK) {
		print_error("not JSON: %s: %s\n", body, jpb.errors[0].message);
		_fail(file, line);
	}
	memset(&f->pb, 0, sizeof(f->pb));
	return rule_parse(f->obj, stored, &f->r, &f->pb, f->a);
}

static void
assert_ok_at(struct fixture *f, const char *text, int stored,
    const char *file, int line)
{
	int	i;

	if (parse_at(f, text, stored, file, line) != LERR_OK) {
		for (i = 0; i < f->pb.nerrors; i++)
			print_error("%s: %s\n", f->pb.errors[i].field,
			    f->pb.errors[i].message);
		_fail(file, line);
	}
	_assert_int_equal(f->pb.nerrors, 0, file, line);
}
#define assert_ok(f, text) assert_ok_at((f), (text), 0, __FILE__, __LINE__)
#define assert_stored_ok(f, text) \
	assert_ok_at((f), (text), 1, __FILE__, __LINE__)

/*
 * text is refused (422) with exactly the faults named, in any order:
 * a NULL-terminated list of field paths.
 */
static void
assert_faults_at(struct fixture *f, const char *text, int stored,
    const char *file, int line, ...)
{
	va_list		 ap;
	const char	*want;
	int		 n = 0, i, found;

	_assert_int_equal(parse_at(f, text, stored, file, line),
	    LERR_VALIDATION, file, line);
	_assert_int_equal(f->pb.code, LERR_VALIDATION, file, line);
	va_start(ap, line);
	while ((want = va_arg(ap, const char *)) != NULL) {
		n++;
		for (found = 0, i = 0; i < f->pb.nerrors; i++)
			if (strcmp(f->pb.errors[i].field, want) == 0)
				found = 1;
		if (!found)
			print_error("no fault for %s\n", want);
		_assert_true(found, want, file, line);
	}
	va_end(ap);
	if (f->pb.nerrors != n)
		for (i = 0; i < f->pb.nerrors; i++)
			print_error("%s: %s\n", f->pb.errors[i].field,
			    f->pb.errors[i].message);
	_assert_int_equal(f->pb.nerrors, n, file, line);
	for (i = 0; i < f->pb.nerrors; i++)
		_assert_true(f->pb.errors[i].message[0] != '\0', "message",
		    file, line);
}
#define assert_faults(f, text, ...) \
	assert_faults_at((f), (text), 0, __FILE__, __LINE__, __VA_ARGS__, NULL)
#define assert_stored_faults(f, text, ...) \
	assert_faults_at((f), (text), 1, __FILE__, __LINE__, __VA_ARGS__, NULL)

/* The message of the fault for field contains part. */
static void
assert_message_at(struct fixture *f, const char *field, const char *part,
    const char *file, int line)
{
	int	i;

	for (i = 0; i < f->pb.nerrors; i++)
		if (strcmp(f->pb.errors[i].field, field) == 0) {
			_assert_true(strstr(f->pb.errors[i].message, part) !=
			    NULL, part, file, line);
			return;
		}
	_fail(file, line);
}
#define assert_message(f, field, part) \
	assert_message_at((f), (field), (part), __FILE__, __LINE__)

/* A valid rule with more fields (EXTRA starts with a comma). */
#define HEAD	"{'name':'Double points','event_type':'purchase'"
#define FIXED	"'action':{'kind':'fixed','points':10}"
#define RULE(extra)	HEAD "," FIXED extra "}"
#define COND(c)		RULE(",'conditions':{" c "}")
#define ACTION(act)	HEAD ",'action':{" act "}}"

static void
test_rule_minimal_gets_the_defaults(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, RULE(""));
	assert_string_equal(f->r.name, "Double points");
	assert_string_equal(f->r.event_type, "purchase");
	assert_string_equal(f->r.id, "");
	assert_int_equal(f->r.active, 1);
	assert_int_equal(f->r.priority, 100);
	assert_false(f->r.has_from);
	assert_false(f->r.has_until);
	assert_false(f->r.has_amount_min);
	assert_false(f->r.has_amount_max);
	assert_string_equal(f->r.currency, "");
	assert_int_equal(f->r.days, 0);
	assert_false(f->r.has_hours);
	assert_int_equal(f->r.ntiers, 0);
	assert_int_equal(f->r.nattrs, 0);
	assert_int_equal(f->r.kind, RULE_FIXED);
	assert_int_equal(f->r.points, 10);
	assert_int_equal(f->r.cap_day, 0);
	assert_int_equal(f->r.cap_month, 0);
	assert_false(f->r.stop);
	assert_string_equal(f->r.budget_id, "");
	assert_false(rule_needs_local(&f->r));

	/* null is absent: the default again */
	assert_ok(f, RULE(",'active':null,'priority':null,'valid_from':null,"
	    "'valid_until':null,'conditions':null,'cap_per_day':null,"
	    "'cap_per_month':null,'stop':null,'budget_id':null"));
	assert_int_equal(f->r.active, 1);
	assert_int_equal(f->r.priority, 100);
	assert_ok(f, COND("'amount_min':null,'currency':null,'days':null,"
	    "'hours':null,'tiers':null,'attributes':null"));
	assert_false(rule_needs_local(&f->r));
	assert_ok(f, RULE(",'conditions':{}"));
}

static void
test_rule_every_field(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, "{'name':'Weekend evenings','event_type':'pos.sale-v2',"
	    "'active':false,'priority':0,"
	    "'valid_from':'2026-11-20T09:15:00Z',"
	    "'valid_until':'2026-11-20T11:15:01+02:00',"
	    "'conditions':{'amount_min':1,'amount_max':1000000000000,"
	    "'currency':'USD','days':['sat','sun','fri'],"
	    "'hours':{'from':22,'to':6},'tiers':['gold','silver'],"
	    "'attributes':{'store':'harare-1','channel':''}},"
	    "'action':{'kind':'per_unit','points':3,'unit_minor':100,"
	    "'rounding':'nearest'},"
	    "'cap_per_day':500,'cap_per_month':1000000000,'stop':true,"
	    "'budget_id':'0f8e2a6c-1b2d-4e5f-8a9b-0c1d2e3f4a5b'}");
	assert_string_equal(f->r.name, "Weekend evenings");
	assert_string_equal(f->r.event_type, "pos.sale-v2");
	assert_int_equal(f->r.active, 0);
	assert_int_equal(f->r.priority, 0);
	assert_true(f->r.has_from && f->r.has_until);
	assert_int_equal(f->r.valid_from, 1795166100);
	assert_int_equal(f->r.valid_until, 1795166101);
	assert_true(f->r.has_amount_min && f->r.has_amount_max);
	assert_int_equal(f->r.amount_min, 1);
	assert_int_equal(f->r.amount_max, 1000000000000LL);
	assert_string_equal(f->r.currency, "USD");
	assert_int_equal(f->r.days, (1u << 0) | (1u << 5) | (1u << 6));
	assert_true(f->r.has_hours);
	assert_int_equal(f->r.hour_from, 22);
	assert_int_equal(f->r.hour_to, 6);
	assert_int_equal(f->r.ntiers, 2);
	assert_string_equal(f->r.tiers[0], "gold");
	assert_string_equal(f->r.tiers[1], "silver");
	assert_int_equal(f->r.nattrs, 2);
	assert_string_equal(f->r.attrs[0].key, "store");
	assert_string_equal(f->r.attrs[0].value, "harare-1");
	assert_string_equal(f->r.attrs[1].key, "channel");
	assert_string_equal(f->r.attrs[1].value, "");
	assert_int_equal(f->r.kind, RULE_PER_UNIT);
	assert_int_equal(f->r.points, 3);
	assert_int_equal(f->r.unit_minor, 100);
	assert_int_equal(f->r.rounding, RULE_ROUND_NEAREST);
	assert_int_equal(f->r.cap_day, 500);
	assert_int_equal(f->r.cap_month, 1000000000);
	assert_true(f->r.stop);
	assert_string_equal(f->r.budget_id,
	    "0f8e2a6c-1b2d-4e5f-8a9b-0c1d2e3f4a5b");
	assert_true(rule_needs_local(&f->r));
}

static void
test_rule_strings_are_copied(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, COND("'tiers':['gold'],'attributes':{'k':'v'}"));
	json_object_put(f->obj);	/* the rule outlives its document */
	f->obj = NULL;
	assert_string_equal(f->r.name, "Double points");
	assert_string_equal(f->r.tiers[0], "gold");
	assert_string_equal(f->r.attrs[0].key, "k");
	assert_string_equal(f->r.attrs[0].value, "v");
}

static void
test_rule_required_fields(void **state)
{
	struct fixture *f = *state;

	assert_faults(f, "{}", "name", "event_type", "action");
	assert_message(f, "name", "is required");
	assert_faults(f, "{'name':null,'event_type':null,'action':null}",
	    "name", "event_type", "action");
	assert_faults(f, "{'name':'n','action':{'kind':'fixed','points':1}}",
	    "event_type");
	assert_faults(f, RULE(",'conditions':{'hours':{}}"),
	    "conditions.hours.from", "conditions.hours.to");
	assert_faults(f, ACTION(""), "action.kind");
	assert_faults(f, ACTION("'kind':'fixed'"), "action.points");
	assert_faults(f, ACTION("'kind':'per_unit'"), "action.points",
	    "action.unit_minor");
	assert_faults(f, ACTION("'kind':'multiplier'"), "action.percent");
}

static void
test_rule_name_and_event_type(void **state)
{
	struct fixture	*f = *state;
	char		 text[512];

	assert_faults(f, "{'name':'','event_type':'x'," FIXED "}", "name");
	assert_message(f, "name", "1 to 100 bytes");
	snprintf(text, sizeof(text), "{'name':'%0100d','event_type':'x',"
	    FIXED "}", 0);
	assert_ok(f, text);
	snprintf(text, sizeof(text), "{'name':'%0101d','event_type':'x',"
	    FIXED "}", 0);
	assert_faults(f, text, "name");
	/* bytes, not characters: 50 two-byte characters fit, 51 do not */
	strcpy(text, "{'name':'");
	while (strlen(text) < 9 + 100)
		strcat(text, "\xc3\xa9");
	strcat(text, "','event_type':'x'," FIXED "}");
	assert_ok(f, text);
	text[9] = '\0';
	while (strlen(text) < 9 + 102)
		strcat(text, "\xc3\xa9");
	strcat(text, "','event_type':'x'," FIXED "}");
	assert_faults(f, text, "name");
	assert_faults(f, "{'name':7,'event_type':'x'," FIXED "}", "name");
	assert_message(f, "name", "must be a string");

	assert_ok(f, "{'name':'n','event_type':'a_b.c-9'," FIXED "}");
	assert_faults(f, "{'name':'n','event_type':''," FIXED "}",
	    "event_type");
	assert_faults(f, "{'name':'n','event_type':'Purchase'," FIXED "}",
	    "event_type");
	assert_faults(f, "{'name':'n','event_type':'a b'," FIXED "}",
	    "event_type");
	assert_faults(f, "{'name':'n','event_type':'caf\xc3\xa9'," FIXED "}",
	    "event_type");
	assert_faults(f, "{'name':'n','event_type':['x']," FIXED "}",
	    "event_type");
	snprintf(text, sizeof(text), "{'name':'n','event_type':'%064d',"
	    FIXED "}", 0);
	assert_ok(f, text);
	snprintf(text, sizeof(text), "{'name':'n','event_type':'%065d',"
	    FIXED "}", 0);
	assert_faults(f, text, "event_type");
}

/* Integers are integers: not 1.0, not true, not "1". */
static void
test_rule_integer_fields(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, RULE(",'priority':0"));
	assert_ok(f, RULE(",'priority':1000000"));
	assert_int_equal(f->r.priority, 1000000);
	assert_faults(f, RULE(",'priority':-1"), "priority");
	assert_message(f, "priority", "from 0 to 1000000");
	assert_faults(f, RULE(",'priority':1000001"), "priority");
	assert_faults(f, RULE(",'priority':1.0"), "priority");
	assert_message(f, "priority", "must be an integer");
	assert_faults(f, RULE(",'priority':1e2"), "priority");
	assert_faults(f, RULE(",'priority':true"), "priority");
	assert_faults(f, RULE(",'priority':'5'"), "priority");
	assert_faults(f, RULE(",'priority':[5]"), "priority");
	assert_faults(f, RULE(",'priority':{}"), "priority");
	/* beyond 64 bits both ways */
	assert_faults(f, RULE(",'priority':99999999999999999999"), "priority");
	assert_faults(f, RULE(",'priority':-99999999999999999999"),
	    "priority");

	assert_ok(f, RULE(",'cap_per_day':1,'cap_per_month':1000000000"));
	assert_int_equal(f->r.cap_day, 1);
	assert_int_equal(f->r.cap_month, 1000000000);
	assert_faults(f, RULE(",'cap_per_day':0,'cap_per_month':1000000001"),
	    "cap_per_day", "cap_per_month");
	assert_faults(f, RULE(",'cap_per_day':2.5,'cap_per_month':false"),
	    "cap_per_day", "cap_per_month");
}

static void
test_rule_boolean_fields(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, RULE(",'active':true,'stop':false"));
	assert_int_equal(f->r.active, 1);
	assert_int_equal(f->r.stop, 0);
	assert_faults(f, RULE(",'active':1,'stop':'true'"), "active", "stop");
	assert_message(f, "active", "true or false");
	assert_faults(f, RULE(",'active':0"), "active");
}

static void
test_rule_budget_id(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, RULE(",'budget_id':'00000000-0000-0000-0000-000000000000'"));
	assert_faults(f, RULE(",'budget_id':'0F8E2A6C-1B2D-4E5F-8A9B-0C1D2E3F4A5B'"),
	    "budget_id");
	assert_message(f, "budget_id", "lowercase uuid");
	assert_faults(f, RULE(",'budget_id':'0f8e2a6c1b2d4e5f8a9b0c1d2e3f4a5b'"),
	    "budget_id");
	assert_faults(f, RULE(",'budget_id':'0f8e2a6c-1b2d-4e5f-8a9b-0c1d2e3f4a5'"),
	    "budget_id");
	assert_faults(f, RULE(",'budget_id':'0f8e2a6c-1b2d-4e5f-8a9b0-c1d2e3f4a5b'"),
	    "budget_id");
	assert_faults(f, RULE(",'budget_id':'0f8e2a6g-1b2d-4e5f-8a9b-0c1d2e3f4a5b'"),
	    "budget_id");
	assert_faults(f, RULE(",'budget_id':''"), "budget_id");
	assert_faults(f, RULE(",'budget_id':12"), "budget_id");
}

static void
test_rule_validity_window(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, RULE(",'valid_from':'2026-01-01T00:00:00Z'"));
	assert_true(f->r.has_from);
	assert_false(f->r.has_until);
	assert_int_equal(f->r.valid_from, 1767225600);
	assert_ok(f, RULE(",'valid_until':'2026-01-01T02:00:00+02:00'"));
	assert_int_equal(f->r.valid_until, 1767225600);
	assert_faults(f, RULE(",'valid_from':'2026-01-01'"), "valid_from");
	assert_message(f, "valid_from", "RFC 3339");
	assert_faults(f, RULE(",'valid_from':'soon','valid_until':1767225600"),
	    "valid_from", "valid_until");
	/* from must come before until: equal is empty, so refused */
	assert_faults(f, RULE(",'valid_from':'2026-01-01T00:00:00Z',"
	    "'valid_until':'2026-01-01T00:00:00Z'"), "valid_until");
	assert_message(f, "valid_until", "later than valid_from");
	assert_faults(f, RULE(",'valid_from':'2026-01-01T00:00:00Z',"
	    "'valid_until':'2026-01-01T01:59:59+02:00'"), "valid_until");
	assert_ok(f, RULE(",'valid_from':'2026-01-01T00:00:00Z',"
	    "'valid_until':'2026-01-01T00:00:01Z'"));
}

static void
test_rule_amount_and_currency(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, COND("'amount_min':5,'amount_max':5"));
	assert_ok(f, COND("'amount_max':1000000000000"));
	assert_false(f->r.has_amount_min);
	assert_true(f->r.has_amount_max);
	assert_faults(f, COND("'amount_min':0"), "conditions.amount_min");
	assert_faults(f, COND("'amount_max':1000000000001"),
	    "conditions.amount_max");
	assert_faults(f, COND("'amount_min':10,'amount_max':9"),
	    "conditions.amount_max");
	assert_message(f, "conditions.amount_max", "less than");
	assert_faults(f, COND("'amount_min':1.5,'amount_max':'9'"),
	    "conditions.amount_min", "conditions.amount_max");

	assert_ok(f, COND("'currency':'ZWG'"));
	assert_string_equal(f->r.currency, "ZWG");
	assert_faults(f, COND("'currency':'usd'"), "conditions.currency");
	assert_message(f, "conditions.currency", "3 uppercase letters");
	assert_faults(f, COND("'currency':'US'"), "conditions.currency");
	assert_faults(f, COND("'currency':'EURO'"), "conditions.currency");
	assert_faults(f, COND("'currency':'U1D'"), "conditions.currency");
	assert_faults(f, COND("'currency':''"), "conditions.currency");
	assert_faults(f, COND("'currency':840"), "conditions.currency");
}

static void
test_rule_days(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, COND("'days':['mon','tue','wed','thu','fri','sat','sun']"));
	assert_int_equal(f->r.days, RULE_DAYS_ALL);
	assert_ok(f, COND("'days':['sun']"));
	assert_int_equal(f->r.days, 1);
	assert_faults(f, COND("'days':[]"), "conditions.days");
	assert_message(f, "conditions.days", "empty");
	assert_faults(f, COND("'days':'mon'"), "conditions.days");
	assert_faults(f, COND("'days':{}"), "conditions.days");
	assert_faults(f, COND("'days':['mon','tue','mon']"),
	    "conditions.days[2]");
	assert_message(f, "conditions.days[2]", "repeats");
	assert_faults(f, COND("'days':['Mon','monday',1,null,'mon']"),
	    "conditions.days[0]", "conditions.days[1]", "conditions.days[2]",
	    "conditions.days[3]");
	assert_message(f, "conditions.days[0]", "mon, tue");
}

static void
test_rule_hours(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, COND("'hours':{'from':0,'to':24}"));
	assert_ok(f, COND("'hours':{'from':23,'to':1}"));
	assert_int_equal(f->r.hour_from, 23);
	assert_int_equal(f->r.hour_to, 1);
	assert_faults(f, COND("'hours':{'from':24,'to':1}"),
	    "conditions.hours.from");
	assert_message(f, "conditions.hours.from", "from 0 to 23");
	assert_faults(f, COND("'hours':{'from':-1,'to':0}"),
	    "conditions.hours.from", "conditions.hours.to");
	assert_faults(f, COND("'hours':{'from':1,'to':25}"),
	    "conditions.hours.to");
	assert_faults(f, COND("'hours':{'from':7,'to':7}"), "conditions.hours");
	assert_message(f, "conditions.hours", "differ");
	assert_faults(f, COND("'hours':{'from':7}"), "conditions.hours.to");
	assert_faults(f, COND("'hours':{'from':7,'to':null}"),
	    "conditions.hours.to");
	assert_faults(f, COND("'hours':{'from':7.0,'to':'9'}"),
	    "conditions.hours.from", "conditions.hours.to");
	assert_faults(f, COND("'hours':{'from':7,'to':9,'tz':'UTC'}"),
	    "conditions.hours.tz");
	assert_faults(f, COND("'hours':[7,9]"), "conditions.hours");
	assert_message(f, "conditions.hours", "must be an object");
}

static void
test_rule_tiers(void **state)
{
	struct fixture	*f = *state;
	char		 text[2048];
	int		 i;

	assert_ok(f, COND("'tiers':['gold','Gold','01234567890123456789012345678901']"));
	assert_int_equal(f->r.ntiers, 3);
	assert_faults(f, COND("'tiers':[]"), "conditions.tiers");
	assert_faults(f, COND("'tiers':'gold'"), "conditions.tiers");
	assert_faults(f, COND("'tiers':['gold','silver','gold']"),
	    "conditions.tiers[2]");
	assert_message(f, "conditions.tiers[2]", "repeats");
	assert_faults(f, COND("'tiers':['','012345678901234567890123456789012',"
	    "3,null,'ok']"), "conditions.tiers[0]", "conditions.tiers[1]",
	    "conditions.tiers[2]", "conditions.tiers[3]");
	assert_message(f, "conditions.tiers[1]", "1 to 32 bytes");

	strcpy(text, COND("'tiers':['t0']"));
	text[strlen(text) - 3] = '\0';	/* drop the closing "]}}" */
	for (i = 1; i < RULE_TIERS_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    ",'t%d'", i);
	strcat(text, "]}}");
	assert_ok(f, text);
	assert_int_equal(f->r.ntiers, RULE_TIERS_MAX);
	text[strlen(text) - 3] = '\0';
	strcat(text, ",'one-more']}}");
	assert_faults(f, text, "conditions.tiers");
}

static void
test_rule_attributes(void **state)
{
	struct fixture	*f = *state;
	char		 text[2048];
	int		 i;

	assert_ok(f, COND("'attributes':{}"));
	assert_int_equal(f->r.nattrs, 0);
	assert_faults(f, COND("'attributes':['a']"), "conditions.attributes");
	assert_faults(f, COND("'attributes':{'store':1,'till':null,'x':['a'],"
	    "'ok':'fine'}"), "conditions.attributes.store",
	    "conditions.attributes.till", "conditions.attributes.x");
	assert_message(f, "conditions.attributes.store", "must be a string");

	snprintf(text, sizeof(text), COND("'attributes':{'k':'%0200d'}"), 0);
	assert_ok(f, text);
	assert_int_equal(strlen(f->r.attrs[0].value), 200);
	snprintf(text, sizeof(text), COND("'attributes':{'k':'%0201d'}"), 0);
	assert_faults(f, text, "conditions.attributes.k");
	assert_message(f, "conditions.attributes.k", "0 to 200 bytes");

	strcpy(text, COND("'attributes':{'k0':'v'}"));
	text[strlen(text) - 3] = '\0';
	for (i = 1; i < RULE_ATTRS_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    ",'k%d':'v'", i);
	strcat(text, "}}}");
	assert_ok(f, text);
	assert_int_equal(f->r.nattrs, RULE_ATTRS_MAX);
	text[strlen(text) - 3] = '\0';
	strcat(text, ",'k99':'v'}}}");
	assert_faults(f, text, "conditions.attributes");
	assert_message(f, "conditions.attributes", "at most 16");
}

static void
test_rule_actions(void **state)
{
	struct fixture *f = *state;

	assert_ok(f, ACTION("'kind':'fixed','points':1000000000"));
	assert_int_equal(f->r.points, 1000000000);
	assert_faults(f, ACTION("'kind':'fixed','points':0"), "action.points");
	assert_faults(f, ACTION("'kind':'fixed','points':1000000001"),
	    "action.points");
	assert_message(f, "action.points", "from 1 to 1000000000");
	assert_faults(f, ACTION("'kind':'fixed','points':10.0"),
	    "action.points");

	assert_ok(f, ACTION("'kind':'per_unit','points':1000000,"
	    "'unit_minor':1000000000"));
	assert_int_equal(f->r.kind, RULE_PER_UNIT);
	assert_int_equal(f->r.rounding, RULE_ROUND_DOWN);
	assert_ok(f, ACTION("'kind':'per_unit','points':1,'unit_minor':1,"
	    "'rounding':'up'"));
	assert_int_equal(f->r.rounding, RULE_ROUND_UP);
	assert_ok(f, ACTION("'kind':'per_unit','points':1,'unit_minor':1,"
	    "'rounding':'down'"));
	assert_int_equal(f->r.rounding, RULE_ROUND_DOWN);
	assert_faults(f, ACTION("'kind':'per_unit','points':1000001,"
	    "'unit_minor':0,'rounding':'half'"), "action.points",
	    "action.unit_minor", "action.rounding");
	assert_message(f, "action.rounding", "down, nearest or up");
	assert_faults(f, ACTION("'kind':'per_unit','points':1,"
	    "'unit_minor':1000000001,'rounding':1"), "action.unit_minor",
	    "action.rounding");

	assert_ok(f, ACTION("'kind':'multiplier','percent':101"));
	assert_int_equal(f->r.kind, RULE_MULTIPLIER);
	assert_int_equal(f->r.percent, 101);
	assert_ok(f, ACTION("'kind':'multiplier','percent':1000"));
	assert_faults(f, ACTION("'kind':'multiplier','percent':100"),
	    "action.percent");
	assert_faults(f, ACTION("'kind':'multiplier','percent':1001"),
	    "action.percent");

	assert_faults(f, ACTION("'kind':'bonus','points':1"), "action.kind");
	assert_message(f, "action.kind", "fixed, per_unit or multiplier");
	assert_faults(f, ACTION("'kind':'FIXED','points':1"), "action.kind");
	assert_faults(f, ACTION("'kind':1,'points':1"), "action.kind");
	assert_faults(f, HEAD ",'action':'fixed'}", "action");
	assert_message(f, "action", "must be an object");
	assert_faults(f, HEAD ",'action':[]}", "action");
}

/* Each kind takes its own fields; another kind's are refused by name. */
static void
test_rule_action_fields_of_other_kinds(void **state)
{
	struct fixture *f = *state;

	assert_faults(f, ACTION("'kind':'fixed','points':1,'percent':150"),
	    "action.percent");
	assert_message(f, "action.percent", "not a field of a fixed action");
	assert_faults(f, ACTION("'kind':'fixed','points':1,'unit_minor':1,"
	    "'rounding':'up'"), "action.unit_minor", "action.rounding");
	assert_faults(f, ACTION("'kind':'multiplier','percent':150,"
	    "'points':1"), "action.points");
	assert_faults(f, ACTION("'kind':'per_unit','points':1,"
	    "'unit_minor':1,'percent':150"), "action.percent");
}

static void
test_rule_unknown_fields_at_every_level(void **state)
{
	struct fixture *f = *state;

	assert_faults(f, RULE(",'points':5"), "points");
	assert_message(f, "points", "unknown field");
	assert_faults(f, COND("'amount':5"), "conditions.amount");
	assert_faults(f, COND("'hours':{'from':1,'to':2,'minute':3}"),
	    "conditions.hours.minute");
	assert_faults(f, ACTION("'kind':'fixed','points':1,'bonus':2"),
	    "action.bonus");
	assert_faults(f, ACTION("'points':1,'bonus':2"), "action.bonus",
	    "action.kind");
	assert_faults(f, RULE(",'':1"), "");
	assert_faults(f, RULE(",'conditions':'none'"), "conditions");
}

static void
test_rule_stored_keys(void **state)
{
	struct fixture *f = *state;

	assert_stored_ok(f, RULE(",'id':'5b1f0c9e-3a2d-4c8b-9e7f-1a2b3c4d5e6f',"
	    "'created_at':'2026-01-01T00:00:00Z','updated_at':null"));
	assert_string_equal(f->r.id, "5b1f0c9e-3a2d-4c8b-9e7f-1a2b3c4d5e6f");
	/* stored keys are not checked, only ignored */
	assert_stored_ok(f, RULE(",'id':17,'created_at':[],'updated_at':{}"));
	assert_string_equal(f->r.id, "");
	assert_stored_ok(f, RULE(""));
	assert_stored_faults(f, RULE(",'id':'x','owner':'me'"), "owner");

	assert_faults(f, RULE(",'id':'5b1f0c9e-3a2d-4c8b-9e7f-1a2b3c4d5e6f',"
	    "'created_at':'2026-01-01T00:00:00Z','updated_at':null"), "id",
	    "created_at", "updated_at");
	assert_message(f, "id", "unknown field");
	assert_string_equal(f->r.id, "");
	/* only at the top */
	assert_stored_faults(f, COND("'id':'x'"), "conditions.id");
}

static void
test_rule_reports_every_fault(void **state)
{
	struct fixture *f = *state;

	assert_faults(f, "{'name':'','event_type':'A','active':'yes',"
	    "'priority':-5,'valid_from':'x','conditions':{'currency':'usd',"
	    "'days':['mon','xyz'],'hours':{'from':5,'to':5},'extra':1},"
	    "'action':{'kind':'fixed','points':0},'cap_per_day':0,'stop':1,"
	    "'budget_id':'b'}", "name", "event_type", "active", "priority",
	    "valid_from", "conditions.currency", "conditions.days[1]",
	    "conditions.hours", "conditions.extra", "action.points",
	    "cap_per_day", "stop", "budget_id");
	assert_string_equal(f->pb.detail, "some fields are invalid");

	assert_faults(f, RULE(",'priority':-1"), "priority");
	assert_string_equal(f->pb.detail,
	    "priority must be an integer from 0 to 1000000");
}

/* problem_field() keeps PROBLEM_MAX_ERRORS; the rule is refused still. */
static void
test_rule_fault_cap(void **state)
{
	struct fixture	*f = *state;
	char		 text[1024];
	int		 i;

	strcpy(text, "{");
	for (i = 0; i < PROBLEM_MAX_ERRORS + 4; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "'x%d':1,", i);
	strcat(text, "'name':'n','event_type':'e'," FIXED "}");
	assert_int_equal(parse_at(f, text, 0, __FILE__, __LINE__),
	    LERR_VALIDATION);
	assert_int_equal(f->pb.nerrors, PROBLEM_MAX_ERRORS);
	assert_int_equal(f->pb.code, LERR_VALIDATION);
	assert_string_equal(f->pb.errors[0].field, "x0");
}

static void
test_rule_not_an_object(void **state)
{
	struct fixture *f = *state;

	assert_faults(f, "[]", "body");
	assert_faults(f, "'rule'", "body");
	memset(&f->pb, 0, sizeof(f->pb));
	assert_int_equal(rule_parse(NULL, 0, &f->r, &f->pb, f->a),
	    LERR_VALIDATION);
	assert_int_equal(f->pb.nerrors, 1);
}

/* A rule parsed from text, for the matching tests. */
static const struct rule *
rule_of(struct fixture *f, const char *text)
{
	assert_ok_at(f, text, 0, __FILE__, __LINE__);
	return &f->r;
}

/* 2026-11-20T09:15:00Z, a Friday. */
#define FRIDAY	1795166100

static struct rule_event
purchase(int64_t amount)
{
	struct rule_event ev = { "purchase", 1, amount, "USD", FRIDAY, NULL };

	return ev;
}

static struct tm
at_hour(int wday, int hour)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_wday = wday;
	tm.tm_hour = hour;
	return tm;
}

static void
test_fits_event_type_and_window(void **state)
{
	struct fixture		*f = *state;
	const struct rule	*r;
	struct rule_event	 ev = purchase(100);

	r = rule_of(f, RULE(""));
	assert_true(rule_fits(r, &ev, NULL));
	ev.type = "purchase.refund";
	assert_false(rule_fits(r, &ev, NULL));
	ev.type = "purchas";
	assert_false(rule_fits(r, &ev, NULL));
	ev.type = NULL;
	assert_false(rule_fits(r, &ev, NULL));

	/* valid_from inclusive, valid_until exclusive */
	r = rule_of(f, RULE(",'valid_from':'2026-11-20T09:15:00Z',"
	    "'valid_until':'2026-11-20T10:15:00Z'"));
	ev = purchase(100);
	ev.occurred_at = FRIDAY - 1;
	assert_false(rule_fits(r, &ev, NULL));
	ev.occurred_at = FRIDAY;
	assert_true(rule_fits(r, &ev, NULL));
	ev.occurred_at = FRIDAY + 3599;
	assert_true(rule_fits(r, &ev, NULL));
	ev.occurred_at = FRIDAY + 3600;
	assert_false(rule_fits(r, &ev, NULL));

	r = rule_of(f, RULE(",'valid_until':'2026-11-20T09:15:00Z'"));
	ev.occurred_at = FRIDAY - 1;
	assert_true(rule_fits(r, &ev, NULL));
	ev.occurred_at = FRIDAY;
	assert_false(rule_fits(r, &ev, NULL));
	r = rule_of(f, RULE(",'valid_from':'2026-11-20T09:15:00Z'"));
	ev.occurred_at = INT64_MAX;
	assert_true(rule_fits(r, &ev, NULL));

	/* what rule_fits() leaves to the caller */
	r = rule_of(f, RULE(",'active':false,'cap_per_day':1,"
	    "'budget_id':'0f8e2a6c-1b2d-4e5f-8a9b-0c1d2e3f4a5b',"
	    "'conditions':{'tiers':['gold']}"));
	ev.occurred_at = FRIDAY;
	assert_true(rule_fits(r, &ev, NULL));
}

static void
test_fits_amount_and_currency(void **state)
{
	struct fixture		*f = *state;
	const struct rule	*r;
	struct rule_event	 ev;

	r = rule_of(f, COND("'amount_min':500,'amount_max':1000"));
	ev = purchase(499);
	assert_false(rule_fits(r, &ev, NULL));
	ev = purchase(500);
	assert_true(rule_fits(r, &ev, NULL));
	ev = purchase(1000);
	assert_true(rule_fits(r, &ev, NULL));
	ev = purchase(1001);
	assert_false(rule_fits(r, &ev, NULL));
	ev = purchase(700);
	ev.has_amount = 0;
	ev.currency = NULL;
	assert_false(rule_fits(r, &ev, NULL));

	r = rule_of(f, COND("'amount_max':1000"));
	ev = purchase(0);
	ev.has_amount = 0;
	assert_false(rule_fits(r, &ev, NULL));
	ev = purchase(-5);
	assert_true(rule_fits(r, &ev, NULL));

	r = rule_of(f, COND("'currency':'USD'"));
	ev = purchase(1);
	assert_true(rule_fits(r, &ev, NULL));
	ev.currency = "ZWG";
	assert_false(rule_fits(r, &ev, NULL));
	ev.currency = "usd";
	assert_false(rule_fits(r, &ev, NULL));
	ev.currency = NULL;
	ev.has_amount = 0;
	assert_false(rule_fits(r, &ev, NULL));

	/* no amount condition: an event without an amount fits */
	r = rule_of(f, RULE(""));
	assert_true(rule_fits(r, &ev, NULL));
}

static void
test_fits_hours(void **state)
{
	struct fixture		*f = *state;
	const struct rule	*r;
	struct rule_event	 ev = purchase(1);
	struct tm		 tm;
	int			 h;

	r = rule_of(f, COND("'hours':{'from':9,'to':17}"));
	for (h = 0; h < 24; h++) {
		tm = at_hour(5, h);
		assert_int_equal(rule_fits(r, &ev, &tm), h >= 9 && h < 17);
	}
	assert_false(rule_fits(r, &ev, NULL));

	/* 22..6 wraps midnight: 22, 23, 0 to 5 */
	r = rule_of(f, COND("'hours':{'from':22,'to':6}"));
	for (h = 0; h < 24; h++) {
		tm = at_hour(5, h);
		assert_int_equal(rule_fits(r, &ev, &tm), h >= 22 || h < 6);
	}
	r = rule_of(f, COND("'hours':{'from':23,'to':24}"));
	tm = at_hour(5, 23);
	assert_true(rule_fits(r, &ev, &tm));
	tm = at_hour(5, 0);
	assert_false(rule_fits(r, &ev, &tm));
	r = rule_of(f, COND("'hours':{'from':0,'to':24}"));
	for (h = 0; h < 24; h++) {
		tm = at_hour(5, h);
		assert_true(rule_fits(r, &ev, &tm));
	}
}

static void
test_fits_days_in_harare(void **state)
{
	struct fixture		*f = *state;
	const struct rule	*r;
	struct rule_event	 ev = purchase(1);
	struct tm		 local, utc;
	int			 d;

	/* Sunday 23:30 in UTC is Monday 01:30 in Harare (UTC+2). */
	ev.occurred_at = 1795390200;	/* 2026-11-22T23:30:00Z */
	assert_int_equal(rule_local_time("Africa/Harare", ev.occurred_at,
	    &local), 0);
	assert_int_equal(rule_local_time("UTC", ev.occurred_at, &utc), 0);
	assert_int_equal(local.tm_wday, 1);
	assert_int_equal(utc.tm_wday, 0);

	r = rule_of(f, COND("'days':['mon']"));
	assert_true(rule_fits(r, &ev, &local));
	assert_false(rule_fits(r, &ev, &utc));
	assert_false(rule_fits(r, &ev, NULL));
	r = rule_of(f, COND("'days':['sat','sun']"));
	assert_false(rule_fits(r, &ev, &local));
	assert_true(rule_fits(r, &ev, &utc));
	r = rule_of(f, COND("'days':['mon'],'hours':{'from':1,'to':2}"));
	assert_true(rule_fits(r, &ev, &local));
	r = rule_of(f, COND("'days':['mon'],'hours':{'from':2,'to':1}"));
	assert_false(rule_fits(r, &ev, &local));

	r = rule_of(f, COND("'days':['sun','tue','thu','sat']"));
	for (d = 0; d < 7; d++) {
		struct tm tm = at_hour(d, 12);

		assert_int_equal(rule_fits(r, &ev, &tm), d % 2 == 0);
	}
}

static void
test_fits_attributes(void **state)
{
	struct fixture		*f = *state;
	const struct rule	*r;
	struct rule_event	 ev = purchase(1);
	struct json_object	*attrs;

	r = rule_of(f, COND("'attributes':{'store':'harare-1','note':''}"));
	attrs = json_tokener_parse("{\"store\":\"harare-1\",\"note\":\"\","
	    "\"till\":\"4\"}");
	ev.attributes = attrs;
	assert_true(rule_fits(r, &ev, NULL));
	ev.attributes = NULL;
	assert_false(rule_fits(r, &ev, NULL));
	json_object_put(attrs);

	attrs = json_tokener_parse("{\"store\":\"harare-1\"}");
	ev.attributes = attrs;
	assert_false(rule_fits(r, &ev, NULL));	/* note is missing */
	json_object_put(attrs);
	attrs = json_tokener_parse("{\"store\":\"Harare-1\",\"note\":\"\"}");
	ev.attributes = attrs;
	assert_false(rule_fits(r, &ev, NULL));
	json_object_put(attrs);
	attrs = json_tokener_parse("{\"store\":\"harare-1\",\"note\":null}");
	ev.attributes = attrs;
	assert_false(rule_fits(r, &ev, NULL));
	json_object_put(attrs);
	attrs = json_tokener_parse("{\"store\":\"harare-1\\u0000x\","
	    "\"note\":\"\"}");
	ev.attributes = attrs;
	assert_false(rule_fits(r, &ev, NULL));
	json_object_put(attrs);
	attrs = json_tokener_parse("[\"harare-1\"]");
	ev.attributes = attrs;
	assert_false(rule_fits(r, &ev, NULL));
	json_object_put(attrs);

	r = rule_of(f, COND("'attributes':{'n':'1'}"));
	attrs = json_tokener_parse("{\"n\":1}");
	ev.attributes = attrs;
	assert_false(rule_fits(r, &ev, NULL));	/* 1 is not "1" */
	json_object_put(attrs);
}

static int64_t
points_of(struct fixture *f, const char *rounding, int64_t points,
    int64_t unit, int64_t amount)
{
	char			text[256];
	struct rule_event	ev = purchase(amount);

	snprintf(text, sizeof(text), ACTION("'kind':'per_unit','points':%lld,"
	    "'unit_minor':%lld,'rounding':'%s'"), (long long)points,
	    (long long)unit, rounding);
	return rule_points(rule_of(f, text), &ev);
}

static void
test_points_rounding(void **state)
{
	struct fixture *f = *state;

	/* 1 point per 100: 2.5 exactly */
	assert_int_equal(points_of(f, "down", 1, 100, 250), 2);
	assert_int_equal(points_of(f, "nearest", 1, 100, 250), 3);
	assert_int_equal(points_of(f, "up", 1, 100, 250), 3);
	/* 2.49 and 2.51 */
	assert_int_equal(points_of(f, "down", 1, 100, 249), 2);
	assert_int_equal(points_of(f, "nearest", 1, 100, 249), 2);
	assert_int_equal(points_of(f, "up", 1, 100, 249), 3);
	assert_int_equal(points_of(f, "nearest", 1, 100, 251), 3);
	/* whole: every rounding agrees */
	assert_int_equal(points_of(f, "down", 1, 100, 200), 2);
	assert_int_equal(points_of(f, "nearest", 1, 100, 200), 2);
	assert_int_equal(points_of(f, "up", 1, 100, 200), 2);
	/* below one unit */
	assert_int_equal(points_of(f, "down", 1, 100, 1), 0);
	assert_int_equal(points_of(f, "nearest", 1, 100, 49), 0);
	assert_int_equal(points_of(f, "nearest", 1, 100, 50), 1);
	assert_int_equal(points_of(f, "up", 1, 100, 1), 1);
	/* 3 points per 7: 10 * 3 / 7 = 4.29, 12 * 3 / 7 = 5.14, 7 * 3 / 7 */
	assert_int_equal(points_of(f, "nearest", 3, 7, 10), 4);
	assert_int_equal(points_of(f, "up", 3, 7, 10), 5);
	assert_int_equal(points_of(f, "down", 3, 7, 12), 5);
	assert_int_equal(points_of(f, "up", 3, 7, 7), 3);
	/* 5 points per 2: 3 * 5 / 2 = 7.5 */
	assert_int_equal(points_of(f, "nearest", 5, 2, 3), 8);
	assert_int_equal(points_of(f, "down", 5, 2, 3), 7);
	/* no amount, zero, negative: nothing */
	assert_int_equal(points_of(f, "up", 1, 100, 0), 0);
	assert_int_equal(points_of(f, "up", 1, 100, -250), 0);
	{
		struct rule_event ev = purchase(250);

		ev.has_amount = 0;
		assert_int_equal(rule_points(&f->r, &ev), 0);
	}
}

/* 10^12 minor units at 10^6 points each: 10^18, still exact. */
static void
test_points_extremes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(points_of(f, "down", 1000000, 1, 1000000000000LL),
	    1000000000000000000LL);
	assert_int_equal(points_of(f, "up", 1000000, 1000000000,
	    1000000000000LL), 1000000000LL);
	/* 10^18 / 3 = 333333333333333333.33 */
	assert_int_equal(points_of(f, "down", 1000000, 3, 1000000000000LL),
	    333333333333333333LL);
	assert_int_equal(points_of(f, "nearest", 1000000, 3, 1000000000000LL),
	    333333333333333333LL);
	assert_int_equal(points_of(f, "up", 1000000, 3, 1000000000000LL),
	    333333333333333334LL);
	/* (10^12 - 1) * 10^6 / (2 * 10^6) = 499999999999.5 */
	assert_int_equal(points_of(f, "nearest", 1000000, 2000000,
	    999999999999LL), 500000000000LL);
	assert_int_equal(points_of(f, "down", 1000000, 2000000,
	    999999999999LL), 499999999999LL);
	/* (10^12 - 1) * 999999 / 999999999: a remainder near the unit */
	assert_int_equal(points_of(f, "down", 999999, 999999999,
	    999999999999LL), 999999000LL);
	assert_int_equal(points_of(f, "up", 999999, 999999999,
	    999999999999LL), 999999001LL);
	/* beyond the API's bounds it saturates, never wraps */
	assert_int_equal(points_of(f, "up", 1000000, 1, INT64_MAX), INT64_MAX);
}

static void
test_points_fixed_and_multiplier(void **state)
{
	struct fixture		*f = *state;
	struct rule_event	 ev = purchase(123456);
	const struct rule	*r;

	r = rule_of(f, ACTION("'kind':'fixed','points':42"));
	assert_int_equal(rule_points(r, &ev), 42);
	ev.has_amount = 0;
	assert_int_equal(rule_points(r, &ev), 42);
	r = rule_of(f, ACTION("'kind':'multiplier','percent':200"));
	assert_int_equal(rule_points(r, &ev), 0);
	ev.has_amount = 1;
	assert_int_equal(rule_points(r, &ev), 0);
}

static void
test_local_time(void **state)
{
	struct tm	tm;

	(void)state;
	assert_int_equal(rule_local_time("Africa/Harare", 1795390200, &tm), 0);
	assert_int_equal(tm.tm_year, 126);
	assert_int_equal(tm.tm_mon, 10);
	assert_int_equal(tm.tm_mday, 23);
	assert_int_equal(tm.tm_wday, 1);
	assert_int_equal(tm.tm_hour, 1);
	assert_int_equal(tm.tm_min, 30);
	assert_int_equal(rule_local_time("UTC", 1795390200, &tm), 0);
	assert_int_equal(tm.tm_mday, 22);
	assert_int_equal(tm.tm_wday, 0);
	assert_int_equal(tm.tm_hour, 23);
	assert_int_equal(rule_local_time("Etc/UTC", 0, &tm), 0);
	assert_int_equal(tm.tm_year, 70);

	/* from one zone to another and back (the cache follows) */
	assert_int_equal(rule_local_time("Asia/Kolkata", 1795390200, &tm), 0);
	assert_int_equal(tm.tm_hour, 5);	/* +05:30 */
	assert_int_equal(tm.tm_min, 0);
	assert_int_equal(rule_local_time("America/New_York", 1795390200, &tm),
	    0);
	assert_int_equal(tm.tm_hour, 18);	/* EST, -05:00 */
	assert_int_equal(rule_local_time("America/New_York", 1782000000, &tm),
	    0);
	assert_int_equal(tm.tm_isdst, 1);	/* June: EDT */
	assert_int_equal(rule_local_time("Africa/Harare", 1795390200, &tm), 0);
	assert_int_equal(tm.tm_hour, 1);
}

static void
test_local_time_refuses_unknown_zones(void **state)
{
	struct tm	tm;

	(void)state;
	assert_int_equal(rule_local_time("Africa/Harare", 0, &tm), 0);
	assert_int_equal(rule_local_time("Mars/Olympus_Mons", 0, &tm), -1);
	assert_int_equal(rule_local_time("../etc/passwd", 0, &tm), -1);
	assert_int_equal(rule_local_time("Africa/../../../etc/passwd", 0, &tm),
	    -1);
	assert_int_equal(rule_local_time("/etc/localtime", 0, &tm), -1);
	assert_int_equal(rule_local_time("/usr/share/zoneinfo/UTC", 0, &tm),
	    -1);
	assert_int_equal(rule_local_time(":Africa/Harare", 0, &tm), -1);
	assert_int_equal(rule_local_time("", 0, &tm), -1);
	assert_int_equal(rule_local_time("Africa", 0, &tm), -1);
	assert_int_equal(rule_local_time("Africa/", 0, &tm), -1);
	assert_int_equal(rule_local_time("Africa//Harare", 0, &tm), -1);
	assert_int_equal(rule_local_time("zone.tab", 0, &tm), -1);
	assert_int_equal(rule_local_time("utc", 0, &tm), -1);
	assert_int_equal(rule_local_time("EST5EDT,M3.2.0,M11.1.0", 0, &tm), -1);
	assert_int_equal(rule_local_time(NULL, 0, &tm), -1);
	/* the last good zone still holds */
	assert_int_equal(rule_local_time("Africa/Harare", 1795390200, &tm), 0);
	assert_int_equal(tm.tm_hour, 1);
	/* a time too far for struct tm */
	assert_int_equal(rule_local_time("Africa/Harare", INT64_MAX, &tm), -1);
}

static void
assert_time_at(const char *s, int64_t want, const char *file, int line)
{
	int64_t	t = -42;

	if (rfc3339_parse(s, &t) != 0) {
		print_error("refused: %s\n", s);
		_fail(file, line);
	}
	_assert_int_equal(t, want, file, line);
}
#define assert_time(s, want) assert_time_at((s), (want), __FILE__, __LINE__)

static void
assert_not_time_at(const char *s, const char *file, int line)
{
	int64_t	t = -42;

	if (rfc3339_parse(s, &t) != -1) {
		print_error("accepted: %s\n", s);
		_fail(file, line);
	}
	_assert_int_equal(t, -42, file, line);
}
#define assert_not_time(s) assert_not_time_at((s), __FILE__, __LINE__)

static void
test_rfc3339_good(void **state)
{
	(void)state;
	assert_time("2026-11-20T09:15:00Z", 1795166100);
	assert_time("2026-11-20t09:15:00z", 1795166100);
	assert_time("2026-11-20T11:15:00+02:00", 1795166100);
	assert_time("2026-11-20T03:45:00-05:30", 1795166100);
	assert_time("2026-11-20T09:15:00-00:00", 1795166100);
	assert_time("2026-11-20T09:15:00.999999999Z", 1795166100);
	assert_time("2026-11-20T09:15:00.5+00:00", 1795166100);
	assert_time("2026-11-21T09:14:00+23:59", 1795166100);
	assert_time("1970-01-01T00:00:00Z", 0);
	assert_time("1970-01-01T00:59:00+00:59", 0);
	assert_time("9999-12-31T23:59:59Z", RULE_TIME_MAX);
	assert_time("2028-02-29T00:00:00Z", 1835395200);
	assert_time("2000-02-29T12:00:00-05:30", 951845400);
	assert_time("2026-03-01T00:00:00Z", 1772323200);
	assert_time("2026-12-31T23:59:59Z", 1798761599);
}

static void
test_rfc3339_bad(void **state)
{
	(void)state;
	assert_not_time("");
	assert_not_time("2026-11-20");
	assert_not_time("2026-11-20T09:15Z");
	assert_not_time("2026-11-20T09:15:00");
	assert_not_time("2026-11-20 09:15:00Z");
	assert_not_time(" 2026-11-20T09:15:00Z");
	assert_not_time("2026-11-20T09:15:00Z ");
	assert_not_time("2026-11-20T09:15:00Zx");
	assert_not_time("2026-11-20T09:15:00+0200");
	assert_not_time("2026-11-20T09:15:00+02");
	assert_not_time("2026-11-20T09:15:00+02:00:00");
	assert_not_time("2026-11-20T09:15:00+24:00");
	assert_not_time("2026-11-20T09:15:00+02:60");
	assert_not_time("2026-11-20T09:15:00.Z");
	assert_not_time("2026-11-20T09:15:00,5Z");
	assert_not_time("2026-11-20T09:15:00.5");
	assert_not_time("2026-1-20T09:15:00Z");
	assert_not_time("+2026-11-20T09:15:00Z");
	assert_not_time("2026-13-01T00:00:00Z");
	assert_not_time("2026-00-01T00:00:00Z");
	assert_not_time("2026-11-00T00:00:00Z");
	assert_not_time("2026-11-31T00:00:00Z");
	assert_not_time("2026-04-31T00:00:00Z");
	assert_not_time("2026-02-29T00:00:00Z");
	assert_not_time("2026-02-30T00:00:00Z");
	assert_not_time("2100-02-29T00:00:00Z");
	assert_not_time("2026-11-20T24:00:00Z");
	assert_not_time("2026-11-20T23:60:00Z");
	assert_not_time("2026-11-20T23:59:60Z");
	assert_not_time("2026-11-20T23:59:61Z");
	assert_not_time("2026-11-2OT09:15:00Z");
	assert_not_time("2026-11-20T-9:15:00Z");
	assert_not_time("1969-12-31T23:59:59Z");
	assert_not_time("1969-12-31T23:00:00-02:00");	/* 1970 in UTC */
	assert_not_time("1970-01-01T00:00:00+00:01");	/* 1969 in UTC */
	assert_not_time("10000-01-01T00:00:00Z");
	assert_not_time("9999-12-31T23:59:59-00:01");	/* 10000 in UTC */
	assert_not_time("0000-01-01T00:00:00Z");
}

int
main(void)
{
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_rule_minimal_gets_the_defaults),
		T(test_rule_every_field),
		T(test_rule_strings_are_copied),
		T(test_rule_required_fields),
		T(test_rule_name_and_event_type),
		T(test_rule_integer_fields),
		T(test_rule_boolean_fields),
		T(test_rule_budget_id),
		T(test_rule_validity_window),
		T(test_rule_amount_and_currency),
		T(test_rule_days),
		T(test_rule_hours),
		T(test_rule_tiers),
		T(test_rule_attributes),
		T(test_rule_actions),
		T(test_rule_action_fields_of_other_kinds),
		T(test_rule_unknown_fields_at_every_level),
		T(test_rule_stored_keys),
		T(test_rule_reports_every_fault),
		T(test_rule_fault_cap),
		T(test_rule_not_an_object),
		T(test_fits_event_type_and_window),
		T(test_fits_amount_and_currency),
		T(test_fits_hours),
		T(test_fits_days_in_harare),
		T(test_fits_attributes),
		T(test_points_rounding),
		T(test_points_extremes),
		T(test_points_fixed_and_multiplier),
		T(test_local_time),
		T(test_local_time_refuses_unknown_zones),
		T(test_rfc3339_good),
		T(test_rfc3339_bad),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
