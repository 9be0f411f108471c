/* h_events.c — recording events, their reversal, and rule simulation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "phone.h"
#include "rules.h"
#include "worker.h"

#define RULE_CACHE_TENANTS	8	/* tenants whose rules a worker keeps */
#define EVENT_MAX_ATTRIBUTES	32
/* An event id goes into a path as it is (GET /v1/events/{event_id}). */
#define EVENT_ID_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789._~:@+-"

/*
 * One tenant's active rules, compiled, in evaluation order (priority,
 * then id), with the part of each rule's entry for record_event() that
 * does not depend on the event. Good while the tenant's rules_version is
 * the one it was loaded at: the worker learns the version from the query
 * that authenticates each request, so a change is seen by the next one.
 */
struct rule_set {
	char		 tenant_id[UUID_LEN + 1];
	long long	 version;
	unsigned long	 used;		/* for eviction: least recently */
	struct arena	*arena;
	size_t		 n;
	struct rule	*rules;
	const char	**frags;
};

static struct rule_set	cache[RULE_CACHE_TENANTS];
static unsigned long	cache_clock;

/* "rule_id":...,"multiplier":...,... from a rule as api_rule() shows it. */
static const char *
rule_frag(struct arena *a, struct json_object *rule, const struct rule *r)
{
	struct json_object	*cond, *tiers = NULL;
	struct buf		 b;

	if (json_object_object_get_ex(rule, "conditions", &cond))
		json_object_object_get_ex(cond, "tiers", &tiers);
	buf_init(&b, a);
	buf_printf(&b, "\"rule_id\":\"%s\",\"multiplier\":", r->id);
	if (r->kind == RULE_MULTIPLIER)
		buf_printf(&b, "%lld", (long long)r->percent);
	else
		buf_puts(&b, "null");
	buf_printf(&b, ",\"tiers\":%s", tiers != NULL ?
	    json_object_to_json_string_ext(tiers, JSON_C_TO_STRING_PLAIN) :
	    "null");
	buf_puts(&b, ",\"cap_day\":");
	if (r->cap_day > 0)
		buf_printf(&b, "%lld", (long long)r->cap_day);
	else
		buf_puts(&b, "null");
	buf_puts(&b, ",\"cap_month\":");
	if (r->cap_month > 0)
		buf_printf(&b, "%lld", (long long)r->cap_month);
	else
		buf_puts(&b, "null");
	buf_printf(&b, ",\"stop\":%s,\"budget_id\":", r->stop ? "true" :
	    "false");
	if (r->budget_id[0] != '\0')
		buf_printf(&b, "\"%s\"", r->budget_id);
	else
		buf_puts(&b, "null");
	buf_putc(&b, '\0');
	return b.data;
}

/* Loads the caller's tenant's active rules into slot s. */
static enum lerr
rules_load(struct request *req, struct rule_set *s)
{
	const char		*params[1] = { req->who.tenant_id };
	struct json_object	*obj;
	struct problem		 pb;
	PGresult		*r;
	enum lerr		 e;
	int			 i, n;

	if ((e = db_query(req->worker->db, "SELECT api_rule(r)::text FROM "
	    "rules r WHERE r.tenant_id = $1 AND r.active AND r.deleted_at IS "
	    "NULL ORDER BY r.priority, r.id", 1, params, &r)) != LERR_OK)
		return e;
	if (s->arena != NULL)
		arena_free(s->arena);
	memset(s, 0, sizeof(*s));
	s->arena = arena_new(16384);
	n = PQntuples(r);
	s->rules = arena_zalloc(s->arena, (size_t)(n + 1) * sizeof(*s->rules));
	s->frags = arena_zalloc(s->arena, (size_t)(n + 1) * sizeof(*s->frags));
	for (i = 0; i < n; i++) {
		obj = json_tokener_parse(PQgetvalue(r, i, 0));
		memset(&pb, 0, sizeof(pb));
		if (obj == NULL || rule_parse(obj, 1, &s->rules[s->n], &pb,
		    s->arena) != LERR_OK) {
			/* Stored rules passed rule_parse when written. */
			log_msg(LOG_ERROR, "rule_load", "a stored rule of "
			    "tenant %s does not compile; it is left out",
			    req->who.tenant_id);
			json_object_put(obj);
			continue;
		}
		s->frags[s->n] = rule_frag(s->arena, obj, &s->rules[s->n]);
		s->n++;
		json_object_put(obj);
	}
	PQclear(r);
	snprintf(s->tenant_id, sizeof(s->tenant_id), "%s", req->who.tenant_id);
	s->version = req->who.rules_version;
	return LERR_OK;
}

/* The caller's tenant's rules, from the cache when they are current. */
static enum lerr
rules_for(struct request *req, struct rule_set **out)
{
	struct rule_set	*s, *victim = &cache[0];
	size_t		 i;
	enum lerr	 e;

	for (i = 0; i < RULE_CACHE_TENANTS; i++) {
		s = &cache[i];
		if (strcmp(s->tenant_id, req->who.tenant_id) == 0) {
			victim = s;
			break;
		}
		if (s->used < victim->used)
			victim = s;
	}
	s = victim;
	if (strcmp(s->tenant_id, req->who.tenant_id) != 0 ||
	    s->version != req->who.rules_version) {
		if ((e = rules_load(req, s)) != LERR_OK) {
			s->tenant_id[0] = '\0';
			return e;
		}
		metrics_biz(req->worker->shm, BIZ_RULE_LOADS, 1);
	}
	s->used = ++cache_clock;
	*out = s;
	return LERR_OK;
}

/* What an event says, checked. */
struct event {
	const char		*event_id;
	const char		*member_by;	/* "id", "external_id", "phone" */
	const char		*member_ref;
	const char		*amount;	/* decimal text, or NULL */
	const char		*occurred;	/* RFC 3339, as sent */
	struct rule_event	 ev;
};

/*
 * Member key of obj, when it is there and not null: json_check_object()
 * lets a null pass as absent, so the handler must read it as absent too
 * (json-c gives NULL for it, which its getters do not all take).
 */
static int
present(struct json_object *obj, const char *key, struct json_object **v)
{
	return json_object_object_get_ex(obj, key, v) && *v != NULL;
}

static int
all_in(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

/* Whether cur is one of the tenant's comma-separated currencies. */
static int
accepted_currency(const char *list, const char *cur)
{
	size_t n = strlen(cur);

	for (;;) {
		if (strncmp(list, cur, n) == 0 && (list[n] == ',' ||
		    list[n] == '\0'))
			return 1;
		if ((list = strchr(list, ',')) == NULL)
			return 0;
		list++;
	}
}

/*
 * The body of POST /v1/events (and of a simulation, where event_id is
 * optional): every fault named. 
 */
static enum lerr
event_parse(struct request *req, int simulate, struct event *out)
{
	static const struct json_field spec[] = {
		{ "event_id", JK_STRING, 1, 1, 100 },
		{ "type", JK_STRING, 1, 1, 64 },
		{ "member", JK_OBJECT, 1, 0, 0 },
		{ "amount_minor", JK_INT, 0, 1, 1000000000000LL },
		{ "currency", JK_STRING, 0, 3, 3 },
		{ "occurred_at", JK_STRING, 0, 20, 40 },
		{ "attributes", JK_OBJECT, 0, 0, 0 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	static const struct json_field sim_spec[] = {
		{ "event_id", JK_STRING, 0, 1, 100 },
		{ "type", JK_STRING, 1, 1, 64 },
		{ "member", JK_OBJECT, 1, 0, 0 },
		{ "amount_minor", JK_INT, 0, 1, 1000000000000LL },
		{ "currency", JK_STRING, 0, 3, 3 },
		{ "occurred_at", JK_STRING, 0, 20, 40 },
		{ "attributes", JK_OBJECT, 0, 0, 0 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	static const struct json_field member_spec[] = {
		{ "id", JK_STRING, 0, 36, 36 },
		{ "external_id", JK_STRING, 0, 1, 100 },
		{ "phone", JK_STRING, 0, 1, 40 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct problem		*pb = &req->problem;
	struct arena		*a = req->arena;
	struct json_object	*body, *member, *v;
	const char		*cur, *why;
	char			 e164[PHONE_E164_MAX];
	int64_t			 now = (int64_t)time(NULL);
	enum lerr		 e;
	int			 n = 0;

	memset(out, 0, sizeof(*out));
	if ((e = api_body(req, simulate ? sim_spec : spec, &body)) != LERR_OK)
		return e;
	json_object_object_get_ex(body, "member", &member);
	n = pb->nerrors;
	if ((e = json_check_object(member, member_spec, pb, a)) != LERR_OK) {
		/* The table names "id"; the body's field is member.id. */
		for (; n < pb->nerrors; n++)
			pb->errors[n].field = arena_printf(a, "member.%s",
			    pb->errors[n].field);
		pb->detail = NULL;	/* it named the field without member. */
		return e;
	}
	n = 0;
	out->event_id = api_str(req, body, "event_id");
	if (out->event_id == NULL)
		out->event_id = arena_printf(a, "simulation-%s",
		    req->request_id);
	else if (!all_in(out->event_id, EVENT_ID_CHARS))
		problem_field(pb, a, LERR_VALIDATION, "event_id", "may "
		    "contain only letters, digits and . _ ~ : @ + -");
	out->ev.type = api_str(req, body, "type");
	if (!all_in(out->ev.type, "abcdefghijklmnopqrstuvwxyz0123456789_.-"))
		problem_field(pb, a, LERR_VALIDATION, "type", "must be lower "
		    "case letters, digits, '_', '.' or '-'");
	if ((out->member_ref = api_str(req, member, "id")) != NULL) {
		out->member_by = "id";
		n++;
		if (!valid_uuid(out->member_ref))
			problem_field(pb, a, LERR_VALIDATION, "member.id",
			    "must be a member's id (a uuid)");
	}
	if (present(member, "external_id", &v)) {
		out->member_by = "external_id";
		out->member_ref = api_str(req, member, "external_id");
		n++;
	}
	if (present(member, "phone", &v)) {
		out->member_by = "phone";
		n++;
		if ((why = phone_e164(json_object_get_string(v),
		    req->who.calling_code, e164)) != NULL)
			problem_field(pb, a, LERR_VALIDATION, "member.phone",
			    "%s", why);
		out->member_ref = arena_strdup(a, e164);
	}
	if (n != 1)
		problem_field(pb, a, LERR_VALIDATION, "member", "name the "
		    "member by exactly one of id, external_id and phone");
	cur = api_str(req, body, "currency");
	if (present(body, "amount_minor", &v)) {
		out->ev.has_amount = 1;
		out->ev.amount_minor = json_object_get_int64(v);
		out->amount = arena_printf(a, "%lld",
		    (long long)out->ev.amount_minor);
		if (cur == NULL)
			problem_field(pb, a, LERR_VALIDATION, "currency",
			    "is required with amount_minor");
	} else if (cur != NULL)
		problem_field(pb, a, LERR_VALIDATION, "amount_minor",
		    "is required with currency");
	if (cur != NULL && !accepted_currency(req->who.currencies, cur))
		problem_field(pb, a, LERR_VALIDATION, "currency", "must be "
		    "one the tenant accepts: %s", req->who.currencies);
	out->ev.currency = cur;
	out->occurred = api_str(req, body, "occurred_at");
	if (out->occurred == NULL)
		out->ev.occurred_at = now;
	else if (rfc3339_parse(out->occurred, &out->ev.occurred_at) == -1)
		problem_field(pb, a, LERR_VALIDATION, "occurred_at", "must be "
		    "an RFC 3339 date and time, such as 2026-11-20T09:15:00Z");
	else if (out->ev.occurred_at > now + req->worker->cfg->event_future_s)
		problem_field(pb, a, LERR_VALIDATION, "occurred_at", "is more "
		    "than %ld seconds in the future",
		    req->worker->cfg->event_future_s);
	out->occurred = arena_printf(a, "%lld",
	    (long long)out->ev.occurred_at);
	if (present(body, "attributes", &v)) {
		if (json_object_object_length(v) > EVENT_MAX_ATTRIBUTES)
			problem_field(pb, a, LERR_VALIDATION, "attributes",
			    "at most %d", EVENT_MAX_ATTRIBUTES);
		json_object_object_foreach(v, key, val) {
			if (!json_object_is_type(val, json_type_string) ||
			    strlen(json_object_get_string(val)) > 200 ||
			    strlen(key) > 64)
				problem_field(pb, a, LERR_VALIDATION,
				    arena_printf(a, "attributes.%.64s", key),
				    "attribute values are strings of at most "
				    "200 bytes, names at most 64");
		}
		out->ev.attributes = v;
	}
	return pb->code != LERR_OK ? pb->code : LERR_OK;
}

/*
 * The rules' verdict before the member is known, as record_event()
 * takes it: [{"points":N, "rule_id":..., ...}] in evaluation order.
 */
static enum lerr
candidates(struct request *req, const struct event *ev, const char **out)
{
	struct rule_set	*s;
	struct tm	 local, *lt = NULL;
	struct buf	 b;
	enum lerr	 e;
	size_t		 i;
	int		 first = 1;

	if ((e = rules_for(req, &s)) != LERR_OK)
		return e;
	buf_init(&b, req->arena);
	buf_putc(&b, '[');
	for (i = 0; i < s->n; i++) {
		/* The local time once, when a rule has days or hours. */
		if (lt == NULL && rule_needs_local(&s->rules[i])) {
			if (rule_local_time(req->who.timezone,
			    ev->ev.occurred_at, &local) == -1)
				return problem_set(&req->problem, req->arena,
				    LERR_INTERNAL, "the tenant's time zone %s "
				    "is not known to this machine",
				    req->who.timezone);
			lt = &local;
		}
		if (!s->rules[i].active || !rule_fits(&s->rules[i], &ev->ev,
		    lt))
			continue;
		buf_printf(&b, "%s{\"points\":%lld,%s}", first ? "" : ",",
		    (long long)rule_points(&s->rules[i], &ev->ev),
		    s->frags[i]);
		first = 0;
	}
	buf_putc(&b, ']');
	buf_putc(&b, '\0');
	*out = b.data;
	return LERR_OK;
}

static const char *
actor_type(const struct request *req)
{
	return req->who.kind == PRINCIPAL_KEY ? "key" : "user";
}

/* Run the event's transaction again: see run_record(). */
#define RETRY_STATES	"LY001,LY002,40P01"
#define RECORD_EVENT	"SELECT outcome, body FROM record_event($1, " \
			"$2::bytea, $3, $4, $5, $6::bigint, $7, " \
			"to_timestamp($8::bigint), $9::jsonb, $10::jsonb, $11, " \
			"$12, $13, $14::boolean)"

/*
 * record_event() in the request's transaction; with commit, the COMMIT
 * goes in the same round trip (every outcome but 'created' wrote nothing,
 * so committing it is harmless), and the member's and budgets' row locks
 * are held one round trip less. A first receipt of the same event id
 * committed by another worker meanwhile (SQLSTATE LY001) means running it
 * once more, in a new transaction, where it is found; so does a deadlock
 * (40P01: two events charging the same budgets in different orders),
 * which PostgreSQL resolves by failing one of them; and a budget that
 * could not cover the award when it was charged last (LY002), once more
 * charging budgets first.
 */
static enum lerr
run_record(struct request *req, const struct event *ev, const char *rules,
    int commit, PGresult **r)
{
	struct db	*db = req->worker->db;
	const char	*params[14];
	char		 state[6];
	enum lerr	 e;
	int		 attempt;

	params[0] = ev->event_id;
	params[1] = api_body_hash(req);
	params[2] = ev->ev.type;
	params[3] = ev->member_by;
	params[4] = ev->member_ref;
	params[5] = ev->amount;
	params[6] = ev->ev.currency;
	params[7] = ev->occurred;
	params[8] = ev->ev.attributes != NULL ?
	    json_object_to_json_string_ext(ev->ev.attributes,
	    JSON_C_TO_STRING_PLAIN) : NULL;
	params[9] = rules;
	params[10] = actor_type(req);
	params[11] = req->who.id;
	params[12] = req->request_id;
	params[13] = "false";
	for (attempt = 0;; attempt++) {
		state[0] = '\0';
		e = commit ? db_query_commit(db, RECORD_EVENT, 14, params, r,
		    RETRY_STATES, state) : db_query_expect(db, RECORD_EVENT,
		    14, params, r, RETRY_STATES, state);
		if (e != LERR_CONFLICT)
			return e;
		/* A budget running out: charge budgets first this time. */
		if (strcmp(state, "LY002") == 0)
			params[13] = "true";
		if (attempt == 2)
			return problem_set(&req->problem, req->arena,
			    LERR_CONFLICT, "the event met concurrent changes "
			    "three times; send it again");
		memset(&req->problem, 0, sizeof(req->problem));
		if ((e = db_exec(db, "ROLLBACK", 0, NULL)) != LERR_OK ||
		    (e = auth_begin_tenant(req, req->who.tenant_id, 0)) !=
		    LERR_OK)
			return e;
	}
}

/* Why an event is refused, from record_event()'s outcome. */
static enum lerr
refused(struct request *req, const char *outcome)
{
	struct problem	*pb = &req->problem;
	struct arena	*a = req->arena;

	if (strcmp(outcome, "conflict") == 0)
		return problem_set(pb, a, LERR_CONFLICT, "this event_id was "
		    "recorded with a different body");
	if (strcmp(outcome, "not_enrolled") == 0)
		return problem_field(pb, a, LERR_VALIDATION, "member", "no "
		    "such member, and the tenant does not enrol members on "
		    "their first event");
	if (strcmp(outcome, "blocked") == 0)
		return problem_field(pb, a, LERR_VALIDATION, "member", "the "
		    "member is blocked: blocked members earn nothing");
	return problem_field(pb, a, LERR_VALIDATION, "member", "no such "
	    "member");
}

/* The business metrics of a recorded event, from its response. */
static void
count_award(struct request *req, const char *body)
{
	struct shm		*shm = req->worker->shm;
	struct json_object	*o = json_tokener_parse(body), *v, *rule, *p;
	size_t			 i;

	metrics_event(shm, EV_PROCESSED);
	if (o == NULL)
		return;
	if (json_object_object_get_ex(o, "points_awarded", &v))
		metrics_biz(shm, BIZ_POINTS_AWARDED,
		    (uint64_t)json_object_get_int64(v));
	if (json_object_object_get_ex(o, "budget_limited", &v) &&
	    json_object_get_boolean(v))
		metrics_biz(shm, BIZ_BUDGET_LIMITED, 1);
	if (json_object_object_get_ex(o, "rules", &v))
		for (i = 0; i < json_object_array_length(v); i++) {
			rule = json_object_array_get_idx(v, i);
			if (json_object_object_get_ex(rule, "points", &p) &&
			    json_object_get_int64(p) > 0)
				metrics_biz(shm, BIZ_RULES_MATCHED, 1);
		}
	json_object_put(o);
}

/* POST /v1/events: SPEC §4 "Recording an event". */
enum lerr
h_events_record(struct request *req, struct response *res)
{
	struct event	 ev;
	const char	*rules, *outcome;
	PGresult	*r;
	enum lerr	 e;

	if ((e = event_parse(req, 0, &ev)) != LERR_OK ||
	    (e = candidates(req, &ev, &rules)) != LERR_OK) {
		if (e == LERR_VALIDATION || e == LERR_BAD_REQUEST)
			metrics_event(req->worker->shm, EV_INVALID);
		return e;
	}
	/* Committed with the call: record_event() is its only statement. */
	if ((e = run_record(req, &ev, rules, 1, &r)) != LERR_OK)
		return e;
	outcome = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	if (strcmp(outcome, "created") == 0 ||
	    strcmp(outcome, "replayed") == 0) {
		response_json(res, outcome[0] == 'c' ? 201 : 200);
		buf_puts(&res->body, PQgetvalue(r, 0, 1));
		if (outcome[0] == 'r')
			response_header(res, "Idempotent-Replayed", "true");
		PQclear(r);
		if (outcome[0] == 'c')
			count_award(req, res->body.data);
		else
			metrics_event(req->worker->shm, EV_REPLAYED);
		return LERR_OK;
	}
	PQclear(r);
	metrics_event(req->worker->shm, strcmp(outcome, "conflict") == 0 ?
	    EV_CONFLICT : EV_REFUSED);
	return refused(req, outcome);
}

/* POST /v1/rules/simulate: record_event(), then roll it all back. */
enum lerr
h_rules_simulate(struct request *req, struct response *res)
{
	struct event		 ev;
	struct json_object	*body;
	const char		*rules, *outcome;
	PGresult		*r;
	enum lerr		 e;

	if ((e = event_parse(req, 1, &ev)) != LERR_OK ||
	    (e = candidates(req, &ev, &rules)) != LERR_OK ||
	    (e = run_record(req, &ev, rules, 0, &r)) != LERR_OK)
		return e;
	outcome = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	if (strcmp(outcome, "created") != 0) {
		PQclear(r);
		return strcmp(outcome, "replayed") == 0 ? problem_field(
		    &req->problem, req->arena, LERR_VALIDATION, "event_id",
		    "this event was already recorded") : refused(req, outcome);
	}
	body = json_tokener_parse(PQgetvalue(r, 0, 1));
	PQclear(r);
	if ((e = db_exec(req->worker->db, "ROLLBACK", 0, NULL)) != LERR_OK) {
		json_object_put(body);
		return e;
	}
	json_object_object_del(body, "event_id");
	json_object_object_add(body, "status",
	    json_object_new_string("simulated"));
	response_json(res, 200);
	buf_puts(&res->body, json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(body);
	return LERR_OK;
}

/* GET /v1/events/{event_id} */
enum lerr
h_events_get(struct request *req, struct response *res)
{
	const char	*params[2] = { req->who.tenant_id,
			    request_path_param(req, "event_id") };
	PGresult	*r;
	enum lerr	 e;

	r = api_row(req, "event", "SELECT api_event(e)::text FROM events e "
	    "WHERE e.tenant_id = $1 AND e.event_id = $2", 2, params, &e);
	return api_reply(req, res, r, e);
}

/*
 * POST /v1/events/{event_id}/reversal {amount_minor?, reason?}: a refund
 * of the whole event or of amount_minor of it.
 */
enum lerr
h_events_reverse(struct request *req, struct response *res)
{
	static const struct json_field spec[] = {
		{ "amount_minor", JK_INT, 0, 1, 1000000000000LL },
		{ "reason", JK_STRING, 0, 1, 500 },
		{ NULL, JK_STRING, 0, 0, 0 }
	};
	struct json_object	*body, *v;
	const char		*params[6], *outcome, *after;
	PGresult		*r;
	enum lerr		 e;
	int			 replayed;

	if ((e = api_body(req, spec, &body)) != LERR_OK ||
	    (e = idem_begin(req, res, &replayed)) != LERR_OK)
		return e;
	if (replayed)
		return db_commit(req->worker->db);
	params[0] = request_path_param(req, "event_id");
	params[1] = present(body, "amount_minor", &v) ?
	    arena_printf(req->arena, "%lld",
	    (long long)json_object_get_int64(v)) : NULL;
	params[2] = actor_type(req);
	params[3] = req->who.id;
	params[4] = req->request_id;
	params[5] = api_str(req, body, "reason");
	if ((e = db_query(req->worker->db, "SELECT outcome, body FROM "
	    "reverse_event($1, $2::bigint, $3, $4, $5, $6)", 6, params, &r)) !=
	    LERR_OK)
		return e;
	outcome = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	after = arena_strdup(req->arena, PQgetvalue(r, 0, 1));
	PQclear(r);
	if (strcmp(outcome, "no_event") == 0)
		return api_not_found(req, "event");
	if (strcmp(outcome, "too_much") == 0)
		return problem_field(&req->problem, req->arena,
		    LERR_VALIDATION, "amount_minor", "is more than what is "
		    "left of the event's amount to refund (or the event has "
		    "no amount: reverse it whole)");
	if (strcmp(outcome, "nothing_left") == 0)
		return problem_set(&req->problem, req->arena, LERR_CONFLICT,
		    "the event is already wholly reversed");
	response_json(res, 201);
	buf_puts(&res->body, after);
	if ((e = audit(req, "event.reverse", "event", params[0], NULL,
	    after)) != LERR_OK || (e = idem_store(req, res)) != LERR_OK ||
	    (e = db_commit(req->worker->db)) != LERR_OK)
		return e;
	metrics_biz(req->worker->shm, BIZ_POINTS_REVERSED,
	    (uint64_t)api_json_int(after, "points_reversed"));
	return LERR_OK;
}
