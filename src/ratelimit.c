/* ratelimit.c — shared token buckets: GCRA times under robust locks. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "ratelimit.h"

/*
 * A bucket is kept as one time, its "theoretical arrival time" (GCRA): the
 * moment it will be full again. A token costs one interval T = period/per;
 * a take is allowed while tat - now stays within burst * T. That is a token
 * bucket refilled continuously, in whole nanoseconds: no fractional tokens
 * to drift, the retry delay is read off directly, and for eviction the
 * smallest tat is the fullest bucket.
 *
 * A key hashes to one group of RL_WAYS slots and may sit in any of them, so
 * the probe window is the group and one lock covers it. The lock is a
 * process-shared robust mutex: when a worker dies holding it (SIGKILL on a
 * request timeout) the kernel marks it, and the next locker gets EOWNERDEAD
 * at once instead of waiting forever. A spinlock with an owner pid and a
 * timeout would be fooled by a reused pid, and would let two live workers
 * in when the holder is merely descheduled past the timeout.
 *
 * A holder that dies mid-update can leave one slot half-written. Every take
 * clamps a tat into [now, now + burst*T], so the worst case is one key with
 * one extra burst: never a wedged group, never a runaway delay.
 */

#define RL_WAYS		8
#define NS		INT64_C(1000000000)
/* Longest burst * T, so that now + burst*T + T cannot overflow. */
#define RL_MAX_SPAN	(INT64_C(1) << 60)

struct rl_slot {
	uint64_t	key;	/* keyed hash of the key; 0 = free */
	int64_t		tat;	/* ns: when it is full again */
};

struct rl_group {
	pthread_mutex_t	lock;
	struct rl_slot	slot[RL_WAYS];
};

struct ratelimit {
	uint8_t		sipkey[16];
	size_t		ngroups;
	uint64_t	evictions;	/* atomic: shared by every group */
	struct rl_group	group[];
};

static size_t
ngroups_for(size_t nbuckets)
{
	return (nbuckets + RL_WAYS - 1) / RL_WAYS;
}

size_t
ratelimit_size(size_t nbuckets)
{
	if (nbuckets == 0 || nbuckets > RL_MAX_BUCKETS)
		return 0;
	return sizeof(struct ratelimit) +
	    ngroups_for(nbuckets) * sizeof(struct rl_group);
}

static int
init_locks(struct ratelimit *rl)
{
	pthread_mutexattr_t	attr;
	size_t			i;
	int			rc;

	if ((rc = pthread_mutexattr_init(&attr)) != 0 ||
	    (rc = pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED)) != 0 ||
	    (rc = pthread_mutexattr_setrobust(&attr,
	    PTHREAD_MUTEX_ROBUST)) != 0) {
		log_msg(LOG_ERROR, "ratelimit", "mutex attributes: %s",
		    strerror(rc));
		return -1;
	}
	for (i = 0; i < rl->ngroups && rc == 0; i++)
		rc = pthread_mutex_init(&rl->group[i].lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (rc != 0) {
		log_msg(LOG_ERROR, "ratelimit", "mutex init: %s", strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * Runs once, in the master, before any worker exists: initialising a lock
 * another process may hold is undefined, so a reload keeps the table.
 */
struct ratelimit *
ratelimit_init(void *mem, size_t nbuckets)
{
	struct ratelimit	*rl = mem;
	size_t			 size = ratelimit_size(nbuckets);

	if (size == 0 || (uintptr_t)mem % alignof(struct ratelimit) != 0) {
		log_msg(LOG_ERROR, "ratelimit",
		    "cannot place %zu buckets at %p", nbuckets, mem);
		return NULL;
	}
	memset(mem, 0, size);
	/* Random per start: nobody can pick keys that share a group. */
	if (getrandom(rl->sipkey, sizeof(rl->sipkey), 0) !=
	    (ssize_t)sizeof(rl->sipkey)) {
		log_msg(LOG_ERROR, "ratelimit", "getrandom: %s",
		    strerror(errno));
		return NULL;
	}
	rl->ngroups = ngroups_for(nbuckets);
	if (init_locks(rl) == -1)
		return NULL;
	return rl;
}

/* ---- SipHash-2-4 (Aumasson and Bernstein, 2012) ---- */

#define ROTL(x, b)	(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t
le64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL(v[1], 13) ^ v[0];
	v[0] = ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = ROTL(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = ROTL(v[1], 17) ^ v[2];
	v[2] = ROTL(v[2], 32);
}

static void
sipcompress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

uint64_t
rl_siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t	*p = data;
	uint64_t	 k0 = le64(key), k1 = le64(key + 8);
	uint64_t	 v[4] = {
		k0 ^ UINT64_C(0x736f6d6570736575),
		k1 ^ UINT64_C(0x646f72616e646f6d),
		k0 ^ UINT64_C(0x6c7967656e657261),
		k1 ^ UINT64_C(0x7465646279746573),
	};
	uint64_t	 last = (uint64_t)len << 56;
	size_t		 i;

	for (; len >= 8; p += 8, len -= 8)
		sipcompress(v, le64(p));
	for (i = 0; i < len; i++)
		last |= (uint64_t)p[i] << (8 * i);
	sipcompress(v, last);
	v[2] ^= 0xff;
	for (i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- the table ---- */

static uint64_t
key_hash(const struct ratelimit *rl, const char *key)
{
	uint64_t h = rl_siphash(rl->sipkey, key, strlen(key));

	return h != 0 ? h : 1;		/* 0 marks a free slot */
}

/* The key's group, locked; NULL (logged) if the lock is broken. */
static struct rl_group *
lock_group(struct ratelimit *rl, uint64_t h)
{
	struct rl_group	*g = &rl->group[h % rl->ngroups];
	int		 rc;

	rc = pthread_mutex_lock(&g->lock);
	if (rc == EOWNERDEAD) {
		/* The slots stay usable as they are: see the top comment. */
		log_msg(LOG_WARN, "ratelimit",
		    "took over a lock left by a dead worker");
		rc = pthread_mutex_consistent(&g->lock);
	}
	if (rc != 0) {
		log_msg(LOG_ERROR, "ratelimit", "lock: %s", strerror(rc));
		return NULL;
	}
	return g;
}

static void
unlock_group(struct rl_group *g)
{
	pthread_mutex_unlock(&g->lock);
}

/*
 * The slot holding h, or else the one it replaces: a free slot, or the
 * fullest. Dropping a full bucket loses nothing. Dropping one still
 * refilling gives its key a fresh burst when it comes back; that is rarer
 * the more drained a key is, so a limited key is the last to go, and it is
 * counted so that an undersized table shows. Refusing new keys instead
 * would let a flood of new keys lock everyone out.
 */
static struct rl_slot *
find_or_claim(struct ratelimit *rl, struct rl_group *g, uint64_t h,
    int64_t now)
{
	struct rl_slot	*s, *victim = &g->slot[0];

	for (s = g->slot; s < g->slot + RL_WAYS; s++) {
		if (s->key == h)
			return s;
		if (victim->key != 0 && (s->key == 0 || s->tat < victim->tat))
			victim = s;
	}
	if (victim->key != 0 && victim->tat > now)
		__atomic_fetch_add(&rl->evictions, 1, __ATOMIC_RELAXED);
	victim->tat = now;
	victim->key = h;
	return victim;
}

/* ns a token costs, rounded up: the limit is never exceeded. */
static int64_t
interval_ns(const struct rl_rule *r)
{
	return (r->period_s * NS + r->per - 1) / r->per;
}

int
rl_rule_ok(const struct rl_rule *r)
{
	int64_t	t, span;

	if (r->per < 1 || r->period_s < 1 || r->burst < 1 ||
	    r->per > RL_MAX_SPAN || r->period_s > RL_MAX_SPAN / NS ||
	    r->burst > RL_MAX_SPAN)
		return 0;
	t = interval_ns(r);
	return !__builtin_mul_overflow(r->burst + 1, t, &span) &&
	    span <= RL_MAX_SPAN;
}

void
rl_rule_per_period(struct rl_rule *r, int64_t per, int64_t period_s)
{
	r->per = per;
	r->period_s = period_s;
	r->burst = per;
}

static void
set_retry(int *retry_after_s, int64_t ns)
{
	int64_t s = (ns + NS - 1) / NS;

	if (retry_after_s != NULL)
		*retry_after_s = s > INT_MAX ? INT_MAX : (int)s;
}

int
ratelimit_take(struct ratelimit *rl, const char *key,
    const struct rl_rule *r, int64_t now, int *retry_after_s)
{
	struct rl_group	*g;
	struct rl_slot	*s;
	uint64_t	 h;
	int64_t		 t, tau, tat;
	int		 allowed;

	set_retry(retry_after_s, 0);
	if (!rl_rule_ok(r)) {
		log_msg(LOG_ERROR, "ratelimit",
		    "unusable rule %lld per %lld s, burst %lld: limiting",
		    (long long)r->per, (long long)r->period_s,
		    (long long)r->burst);
		set_retry(retry_after_s, NS);
		return 0;
	}
	t = interval_ns(r);
	tau = r->burst * t;
	h = key_hash(rl, key);
	if ((g = lock_group(rl, h)) == NULL) {
		set_retry(retry_after_s, NS);
		return 0;
	}
	s = find_or_claim(rl, g, h, now);
	/* Clamped and kept: a torn write, or a rule a reload made smaller. */
	s->tat = s->tat < now ? now : s->tat > now + tau ? now + tau : s->tat;
	tat = s->tat + t;
	allowed = tat - now <= tau;
	if (allowed)
		s->tat = tat;
	unlock_group(g);
	if (!allowed)
		set_retry(retry_after_s, tat - tau - now);
	return allowed;
}

void
ratelimit_reset(struct ratelimit *rl, const char *key)
{
	uint64_t	 h = key_hash(rl, key);
	struct rl_group	*g;
	int		 i;

	if ((g = lock_group(rl, h)) == NULL)
		return;
	for (i = 0; i < RL_WAYS; i++)
		if (g->slot[i].key == h) {
			g->slot[i].key = 0;
			g->slot[i].tat = 0;
		}
	unlock_group(g);
}

uint64_t
ratelimit_evictions(const struct ratelimit *rl)
{
	return __atomic_load_n(&rl->evictions, __ATOMIC_RELAXED);
}

void
ratelimit_test_lock(struct ratelimit *rl, const char *key)
{
	lock_group(rl, key_hash(rl, key));
}
