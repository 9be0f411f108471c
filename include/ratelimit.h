/* ratelimit.h — token buckets shared by every worker of the pool. */
#ifndef LOYALTY_RATELIMIT_H
#define LOYALTY_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/*
 * A fixed table of buckets in the shared mapping. The master sizes it with
 * ratelimit_size(), places it in memory every worker inherits, and calls
 * ratelimit_init() once before the first fork; the table outlives reloads.
 * Keys are strings the caller namespaces ("t:<tenant>", "le:<email>",
 * "la:<address>"); only a keyed hash of each is stored.
 *
 * When the table is too small for the keys in use, a new key replaces the
 * bucket closest to full in its group, so a drained (limited) key is the
 * last one forgotten; each such loss is counted (ratelimit_evictions).
 */
struct ratelimit;

/*
 * "per" tokens every "period_s" seconds, at most "burst" saved up:
 * { 50, 1, 100 } for a tenant, { 10, 900, 10 } for logins.
 */
struct rl_rule {
	int64_t	per;
	int64_t	period_s;
	int64_t	burst;
};

/* "per" every "period_s" seconds, all of them at once if saved up. */
void		 rl_rule_per_period(struct rl_rule *, int64_t per,
		    int64_t period_s);

#define RL_MAX_BUCKETS	(1 << 24)

/* Bytes for nbuckets buckets (rounded up to whole groups); 0 if too many. */
size_t		 ratelimit_size(size_t nbuckets);
/*
 * mem must hold ratelimit_size(nbuckets) bytes, aligned as mmap(2) aligns.
 * NULL (logged) when it cannot be used: the master should not start.
 */
struct ratelimit *ratelimit_init(void *mem, size_t nbuckets);

/* Whether a rule is usable: positive, and a full bucket fits in int64 ns. */
int		 rl_rule_ok(const struct rl_rule *);

/*
 * Takes one token for key at now_ns (CLOCK_MONOTONIC). Returns 1 when
 * allowed; 0 when limited, with *retry_after_s the whole seconds (>= 1)
 * until a token is there. retry_after_s may be NULL. A rule that fails
 * rl_rule_ok() limits (config checks rules before they reach here), as
 * does a lock that cannot be taken; both are logged.
 */
int		 ratelimit_take(struct ratelimit *, const char *key,
		    const struct rl_rule *, int64_t now_ns, int *retry_after_s);
/* Forgets key: its next take finds a full bucket. */
void		 ratelimit_reset(struct ratelimit *, const char *key);
/* Buckets dropped while not yet full: the table is too small. */
uint64_t	 ratelimit_evictions(const struct ratelimit *);

/* SipHash-2-4 of len bytes under a 16-byte key. */
uint64_t	 rl_siphash(const uint8_t key[16], const void *, size_t len);

/*
 * For tests only: locks the group that holds key and returns holding it,
 * so a test can let the holder die and check the others go on.
 */
void		 ratelimit_test_lock(struct ratelimit *, const char *key);

#endif
