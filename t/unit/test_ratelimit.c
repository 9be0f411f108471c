/* test_ratelimit.c — shared token buckets: limits, eviction, dead holders. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ratelimit.h"

#define NS	INT64_C(1000000000)
#define MS	INT64_C(1000000)
#define T0	(1000 * NS)		/* a "now" well after boot */

/* 50 a second, burst 100; and 10 per 15 minutes, burst 10. */
static const struct rl_rule tenant = { 50, 1, 100 };
static const struct rl_rule login = { 10, 900, 10 };

struct fixture {
	void			*mem;
	size_t			 size;
	struct ratelimit	*rl;
};

/* A table in a shared mapping, as the master makes it. */
static struct fixture *
table_new(size_t nbuckets)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->size = ratelimit_size(nbuckets);
	assert_true(f->size > 0);
	f->mem = mmap(NULL, f->size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(f->mem != MAP_FAILED);
	f->rl = ratelimit_init(f->mem, nbuckets);
	assert_non_null(f->rl);
	return f;
}

static void
table_free(struct fixture *f)
{
	munmap(f->mem, f->size);
	free(f);
}

static int
setup(void **state)
{
	*state = table_new(1024);
	return 0;
}

/* One group of eight: every key competes for the same slots. */
static int
setup_one_group(void **state)
{
	*state = table_new(8);
	return 0;
}

static int
teardown(void **state)
{
	table_free(*state);
	return 0;
}

/* Takes until refused (at most max), and returns how many were allowed. */
static int
drain(struct ratelimit *rl, const char *key, const struct rl_rule *r,
    int64_t now, int max)
{
	int n = 0;

	while (n < max && ratelimit_take(rl, key, r, now, NULL))
		n++;
	return n;
}

static int
retry_after(struct ratelimit *rl, const char *key, const struct rl_rule *r,
    int64_t now)
{
	int s = -1;

	assert_int_equal(ratelimit_take(rl, key, r, now, &s), 0);
	return s;
}

static void
test_siphash_matches_reference_vectors(void **state)
{
	uint8_t	key[16], msg[64];
	int	i;

	(void)state;
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* Reference vectors (message 00 01 .. n-1), as OpenSSL gives them. */
	assert_true(rl_siphash(key, msg, 0) == UINT64_C(0x726fdb47dd0e0e31));
	assert_true(rl_siphash(key, msg, 8) == UINT64_C(0x93f5f5799a932462));
	assert_true(rl_siphash(key, msg, 15) == UINT64_C(0xa129ca6149be45e5));
	assert_true(rl_siphash(key, msg, 63) == UINT64_C(0x958a324ceb064572));
	key[0] ^= 1;
	assert_false(rl_siphash(key, msg, 15) == UINT64_C(0xa129ca6149be45e5));
}

static void
test_size_and_init_reject_bad_tables(void **state)
{
	static _Alignas(64) unsigned char	mem[4096];

	(void)state;
	assert_int_equal(ratelimit_size(0), 0);
	assert_int_equal(ratelimit_size(RL_MAX_BUCKETS + 1), 0);
	/* Whole groups of eight. */
	assert_int_equal(ratelimit_size(1), ratelimit_size(8));
	assert_true(ratelimit_size(9) > ratelimit_size(8));
	assert_true(ratelimit_size(8) <= sizeof(mem));
	assert_null(ratelimit_init(mem, 0));
	assert_null(ratelimit_init(mem + 1, 8));
	assert_non_null(ratelimit_init(mem, 8));
}

static void
test_rules_are_checked(void **state)
{
	struct fixture		*f = *state;
	const struct rl_rule	 bad[] = {
		{ 0, 1, 10 }, { 10, 0, 10 }, { 10, 1, 0 }, { -1, 1, 10 },
		{ 1, INT64_MAX, 1 }, { 1, 86400, INT64_MAX },
		{ 1, 365 * 86400, 1000000 }, { INT64_MAX, 1, 1 },
	};
	const struct rl_rule	 big[] = {
		{ 1, 86400, 1000 }, { 1000000, 86400, 1000000 },
		{ 100000, 1, 1000000 }, { 1, 86400, 1 },
	};
	struct rl_rule		 r;
	size_t			 i;
	int			 s;

	assert_true(rl_rule_ok(&tenant));
	assert_true(rl_rule_ok(&login));
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		assert_true(rl_rule_ok(&big[i]));
	rl_rule_per_period(&r, 10, 900);
	assert_memory_equal(&r, &login, sizeof(r));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(rl_rule_ok(&bad[i]));
		/* Unusable rules limit rather than let everything through. */
		s = -1;
		assert_int_equal(ratelimit_take(f->rl, "t:x", &bad[i], T0, &s),
		    0);
		assert_int_equal(s, 1);
	}
}

static void
test_burst_is_allowed_then_limited(void **state)
{
	struct fixture	*f = *state;
	int		 s = -1;

	assert_int_equal(ratelimit_take(f->rl, "t:a", &tenant, T0, &s), 1);
	assert_int_equal(s, 0);
	assert_int_equal(drain(f->rl, "t:a", &tenant, T0, 1000), 99);
	assert_int_equal(ratelimit_take(f->rl, "t:a", &tenant, T0, NULL), 0);
	assert_int_equal(drain(f->rl, "le:a@x", &login, T0, 1000), 10);
	assert_int_equal(ratelimit_take(f->rl, "le:a@x", &login, T0, NULL), 0);
}

static void
test_retry_after_counts_whole_seconds_to_the_next_token(void **state)
{
	struct fixture		*f = *state;
	const struct rl_rule	 three = { 3, 1, 1 };

	/* Ten per fifteen minutes: one token every 90 s. */
	assert_int_equal(drain(f->rl, "le:b@x", &login, T0, 100), 10);
	assert_int_equal(retry_after(f->rl, "le:b@x", &login, T0), 90);
	assert_int_equal(retry_after(f->rl, "le:b@x", &login, T0 + NS / 2), 90);
	assert_int_equal(retry_after(f->rl, "le:b@x", &login, T0 + 60 * NS),
	    30);
	assert_int_equal(retry_after(f->rl, "le:b@x", &login,
	    T0 + 90 * NS - 1), 1);
	/* Refused takes cost nothing: the token is there on time. */
	assert_int_equal(ratelimit_take(f->rl, "le:b@x", &login, T0 + 90 * NS,
	    NULL), 1);
	assert_int_equal(retry_after(f->rl, "le:b@x", &login, T0 + 90 * NS),
	    90);

	/* Shorter than a second rounds up to one: never 0. */
	assert_int_equal(drain(f->rl, "t:b", &tenant, T0, 1000), 100);
	assert_int_equal(retry_after(f->rl, "t:b", &tenant, T0), 1);
	assert_int_equal(drain(f->rl, "t:c", &three, T0, 10), 1);
	assert_int_equal(retry_after(f->rl, "t:c", &three, T0), 1);
	assert_int_equal(retry_after(f->rl, "t:c", &three, T0 + 333 * MS), 1);
	assert_int_equal(drain(f->rl, "t:c", &three, T0 + 334 * MS, 10), 1);
}

static void
test_refill_restores_exactly_the_elapsed_tokens(void **state)
{
	struct fixture	*f = *state;
	int64_t		 t = T0;
	int		 i, n = 0;

	assert_int_equal(drain(f->rl, "t:r", &tenant, t, 1000), 100);
	/* 50 per second: one token every 20 ms. */
	assert_int_equal(drain(f->rl, "t:r", &tenant, t + 19 * MS, 1000), 0);
	assert_int_equal(drain(f->rl, "t:r", &tenant, t + 100 * MS, 1000), 5);
	assert_int_equal(drain(f->rl, "t:r", &tenant, t + 119 * MS, 1000), 0);
	assert_int_equal(drain(f->rl, "t:r", &tenant, t + 120 * MS, 1000), 1);
	assert_int_equal(drain(f->rl, "t:r", &tenant, t + 1120 * MS, 1000), 50);
	/* A long idle fills the bucket to burst, never beyond. */
	t += 3600 * NS;
	assert_int_equal(drain(f->rl, "t:r", &tenant, t, 1000), 100);
	/* Many small steps add up with no drift: 10000 x 2 ms = 1000 tokens. */
	for (i = 1; i <= 10000; i++) {
		n += drain(f->rl, "t:r", &tenant, t + i * 2 * MS, 1000);
		if (i % 10 == 0)
			assert_int_equal(n, i / 10);
	}
}

/* 3 a second is a token every 333333333.3 ns, rounded up to ...334. */
static void
test_uneven_rate_rounds_so_the_limit_is_never_exceeded(void **state)
{
	struct fixture		*f = *state;
	const struct rl_rule	 three = { 3, 1, 3 };

	assert_int_equal(drain(f->rl, "t:u", &three, T0, 10), 3);
	/* A second later the third token is 2 ns short. */
	assert_int_equal(drain(f->rl, "t:u", &three, T0 + NS, 10), 2);
	assert_int_equal(drain(f->rl, "t:u", &three, T0 + NS + 2, 10), 1);
}

static void
test_keys_are_independent(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(drain(f->rl, "le:c@x", &login, T0, 100), 10);
	assert_int_equal(drain(f->rl, "le:d@x", &login, T0, 100), 10);
	assert_int_equal(drain(f->rl, "la:c@x", &login, T0, 100), 10);
	assert_int_equal(drain(f->rl, "le:c@x", &login, T0, 100), 0);
	assert_int_equal(drain(f->rl, "t:c@x", &tenant, T0, 1000), 100);
}

static void
test_reset_gives_back_a_full_bucket(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(drain(f->rl, "le:e@x", &login, T0, 100), 10);
	assert_int_equal(drain(f->rl, "la:10.0.0.1", &login, T0, 100), 10);
	ratelimit_reset(f->rl, "le:e@x");
	assert_int_equal(drain(f->rl, "le:e@x", &login, T0, 100), 10);
	/* Only that key. */
	assert_int_equal(drain(f->rl, "la:10.0.0.1", &login, T0, 100), 0);
	/* Unknown keys are harmless. */
	ratelimit_reset(f->rl, "le:nobody@x");
	assert_int_equal(drain(f->rl, "le:e@x", &login, T0, 100), 0);
}

/* Ten thousand other keys pass through: the drained key stays drained. */
static void
test_hot_key_stays_limited_in_a_full_table(void **state)
{
	struct fixture	*f = *state;
	char		 key[32];
	int		 i;

	assert_int_equal(drain(f->rl, "la:203.0.113.9", &login, T0, 100), 10);
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "la:198.51.%d.%d", i / 256, i % 256);
		assert_int_equal(ratelimit_take(f->rl, key, &login, T0 + NS,
		    NULL), 1);
	}
	/* The table (1024) was far too small, and that shows. */
	assert_true(ratelimit_evictions(f->rl) > 8000);
	assert_int_equal(retry_after(f->rl, "la:203.0.113.9", &login,
	    T0 + 2 * NS), 88);
}

/* The same with eight slots for everyone. */
static void
test_hot_key_stays_limited_in_one_group(void **state)
{
	struct fixture	*f = *state;
	char		 key[32];
	int		 i;

	assert_int_equal(drain(f->rl, "le:victim@x", &login, T0, 100), 10);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "le:%d@x", i);
		/* Each newcomer takes 9: drained, but less than the victim. */
		assert_int_equal(drain(f->rl, key, &login, T0, 9), 9);
	}
	assert_int_equal(retry_after(f->rl, "le:victim@x", &login, T0), 90);
}

static void
test_eviction_picks_a_full_bucket_first(void **state)
{
	struct fixture	*f = *state;
	char		 key[32];
	int		 i;

	/* Eight keys fill the group; after an hour they are all full. */
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "t:idle%d", i);
		assert_int_equal(drain(f->rl, key, &login, T0, 3), 3);
	}
	assert_int_equal(ratelimit_evictions(f->rl), 0);
	assert_int_equal(drain(f->rl, "t:new", &login, T0 + 3600 * NS, 1), 1);
	assert_int_equal(ratelimit_evictions(f->rl), 0);
}

static void
test_eviction_picks_the_fullest_bucket(void **state)
{
	struct fixture	*f = *state;
	char		 key[32];
	int		 i;

	/* k<i> has taken i + 1 of 10: k0 is the fullest. */
	for (i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "t:k%d", i);
		assert_int_equal(drain(f->rl, key, &login, T0, i + 1), i + 1);
	}
	assert_int_equal(drain(f->rl, "t:new", &login, T0, 1), 1);
	assert_int_equal(ratelimit_evictions(f->rl), 1);
	/* Everyone but k0 is remembered... */
	for (i = 1; i < 8; i++) {
		snprintf(key, sizeof(key), "t:k%d", i);
		assert_int_equal(drain(f->rl, key, &login, T0, 100),
		    10 - (i + 1));
	}
	/* ...and k0 comes back with a fresh burst. */
	assert_int_equal(drain(f->rl, "t:k0", &login, T0, 100), 10);
}

static void
test_smaller_rule_after_reload_caps_the_wait(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(drain(f->rl, "t:re", &login, T0, 100), 10);
	assert_int_equal(retry_after(f->rl, "t:re", &login, T0), 90);
	/* Now 50/s: the bucket is empty under the new rule, not for 15 min. */
	assert_int_equal(retry_after(f->rl, "t:re", &tenant, T0), 1);
	assert_int_equal(drain(f->rl, "t:re", &tenant, T0 + NS, 1000), 50);
}

static pid_t
fork_or_fail(void)
{
	pid_t pid = fork();

	assert_true(pid != -1);
	return pid;
}

static int
wait_status(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* A holder that exits without unlocking: the next locker goes on. */
static void
test_lock_left_by_a_dead_process_is_taken_over(void **state)
{
	struct fixture	*f = *state;
	pid_t		 pid;

	if ((pid = fork_or_fail()) == 0) {
		int n = drain(f->rl, "t:dead", &login, T0, 100);

		ratelimit_test_lock(f->rl, "t:dead");
		_exit(n == 10 ? 0 : 1);
	}
	assert_int_equal(wait_status(pid), 0);
	alarm(10);	/* a wedge fails the test instead of hanging it */
	/* What the dead process wrote before it died is kept. */
	assert_int_equal(retry_after(f->rl, "t:dead", &login, T0), 90);
	/* Same group (there is one): other keys go on too. */
	assert_int_equal(drain(f->rl, "t:alive", &login, T0, 100), 10);
	ratelimit_reset(f->rl, "t:dead");
	assert_int_equal(drain(f->rl, "t:dead", &login, T0, 100), 10);
	alarm(0);
}

/* A worker blocked on the lock wakes when the holder is SIGKILLed. */
static void
test_waiter_wakes_when_the_holder_is_killed(void **state)
{
	struct fixture	*f = *state;
	pid_t		 holder, waiter;
	int		 fds[2], status;
	char		 c;

	assert_int_equal(pipe(fds), 0);
	if ((holder = fork_or_fail()) == 0) {
		alarm(20);	/* gone even if the test fails before kill */
		ratelimit_test_lock(f->rl, "t:held");
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	assert_int_equal(read(fds[0], &c, 1), 1);
	if ((waiter = fork_or_fail()) == 0) {
		alarm(10);
		_exit(drain(f->rl, "t:other", &login, T0, 100) == 10 ? 0 : 1);
	}
	usleep(100 * 1000);	/* let the waiter block on the lock */
	assert_int_equal(waitpid(waiter, &status, WNOHANG), 0);
	assert_int_equal(kill(holder, SIGKILL), 0);
	status = wait_status(holder);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	status = wait_status(waiter);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(fds[0]);
	close(fds[1]);
}

#define NCHILD		4
#define TAKES		10000

/* A burst that half the takes use up: they contend while being granted. */
static const struct rl_rule race_rule = { 50, 1, NCHILD * TAKES / 2 };

struct race {
	int	go;
	int	allowed[NCHILD];
};

static void
hammer(struct ratelimit *rl, struct race *race, int i)
{
	int n;

	while (!__atomic_load_n(&race->go, __ATOMIC_ACQUIRE))
		sched_yield();
	for (n = 0; n < TAKES; n++) {
		if (ratelimit_take(rl, "t:race", &race_rule, T0, NULL))
			race->allowed[i]++;
		/* Other keys in the same group churn the slots meanwhile. */
		if (n % 16 == 0)
			ratelimit_take(rl, i % 2 ? "t:odd" : "t:even", &tenant,
			    T0, NULL);
	}
}

/* Four processes, one key, a frozen clock: exactly burst are allowed. */
static void
test_concurrent_takes_never_over_grant(void **state)
{
	struct fixture	*f = *state;
	struct race	*race;
	pid_t		 pid[NCHILD];
	int		 i, total = 0, status;

	race = mmap(NULL, sizeof(*race), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(race != MAP_FAILED);
	memset(race, 0, sizeof(*race));
	for (i = 0; i < NCHILD; i++)
		if ((pid[i] = fork_or_fail()) == 0) {
			hammer(f->rl, race, i);
			_exit(0);
		}
	__atomic_store_n(&race->go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NCHILD; i++) {
		status = wait_status(pid[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		total += race->allowed[i];
	}
	assert_int_equal(total, race_rule.burst);
	assert_int_equal(drain(f->rl, "t:odd", &tenant, T0, 1000), 0);
	assert_int_equal(drain(f->rl, "t:even", &tenant, T0, 1000), 0);
	munmap(race, sizeof(*race));
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T1(fn)	cmocka_unit_test_setup_teardown(fn, setup_one_group, \
		    teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_matches_reference_vectors),
		cmocka_unit_test(test_size_and_init_reject_bad_tables),
		T(test_rules_are_checked),
		T(test_burst_is_allowed_then_limited),
		T(test_retry_after_counts_whole_seconds_to_the_next_token),
		T(test_refill_restores_exactly_the_elapsed_tokens),
		T(test_uneven_rate_rounds_so_the_limit_is_never_exceeded),
		T(test_keys_are_independent),
		T(test_reset_gives_back_a_full_bucket),
		T(test_hot_key_stays_limited_in_a_full_table),
		T1(test_hot_key_stays_limited_in_one_group),
		T1(test_eviction_picks_a_full_bucket_first),
		T1(test_eviction_picks_the_fullest_bucket),
		T(test_smaller_rule_after_reload_caps_the_wait),
		T1(test_lock_left_by_a_dead_process_is_taken_over),
		T1(test_waiter_wakes_when_the_holder_is_killed),
		T1(test_concurrent_takes_never_over_grant),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
