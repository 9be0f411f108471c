/* shm.h — the memory the master and all workers share. */
#ifndef LOYALTY_SHM_H
#define LOYALTY_SHM_H

#include <stdint.h>
#include <sys/types.h>

/*
 * One anonymous shared mapping, created by the master before the first
 * fork, holds the worker scoreboard and the pool's metrics. Each slot has
 * one writer (its worker, or the master while no worker owns it); counters
 * are updated with atomic adds so any worker may bump them. Totals are
 * always computed from here, never kept by one process.
 */

#define SB_SLOTS	128	/* workers <= 64, twice that during a reload */
#define METRIC_ROUTES	96	/* route index + 1; 0 = no route matched */
#define METRIC_METHODS	8
#define METRIC_STATUSES	32
#define HIST_BUCKETS	12

enum slot_state {
	SLOT_FREE = 0,
	SLOT_STARTING,		/* forked, connecting to the database */
	SLOT_IDLE,		/* waiting in accept */
	SLOT_BUSY,		/* in a request */
	SLOT_EXITING,		/* leaving: recycle or shutdown */
	SLOT__COUNT
};

struct sb_slot {
	pid_t		pid;
	uint32_t	generation;	/* bumped by every reload */
	int		state;		/* enum slot_state */
	int		route;		/* route index + 1 of the request */
	int		method;
	int		last_status;
	int		exit_reason;	/* enum restart_reason, set by the worker */
	int64_t		started_ns;	/* CLOCK_MONOTONIC, process start */
	int64_t		req_start_ns;	/* CLOCK_MONOTONIC; 0 when not busy */
	uint64_t	requests;
	int		db_ok;		/* the worker's connection is up */
	int		startup_ok;	/* database and schema verified */
};

enum restart_reason {
	RESTART_NONE = 0,
	RESTART_CRASH,		/* killed by a signal or exited non-zero */
	RESTART_MAX_REQUESTS,	/* recycled after max_requests */
	RESTART_TIMEOUT,	/* killed by the master: request_timeout */
	RESTART_RELOAD,		/* replaced by a reload */
	RESTART__COUNT
};

struct histogram {
	uint64_t	bucket[HIST_BUCKETS + 1];	/* last is +Inf */
	uint64_t	sum_us;
};

/* The business counters of /metrics (metrics.h names them). */
enum biz {
	BIZ_RULES_MATCHED,	/* rules that gave an event points */
	BIZ_POINTS_AWARDED,
	BIZ_POINTS_REDEEMED,
	BIZ_POINTS_REVERSED,
	BIZ_POINTS_ADJUSTED_UP,
	BIZ_POINTS_ADJUSTED_DOWN,
	BIZ_VOUCHERS_ISSUED,
	BIZ_VOUCHERS_USED,
	BIZ_VOUCHERS_CANCELLED,
	BIZ_BUDGET_LIMITED,	/* awards a budget cut short */
	BIZ_RULE_LOADS,		/* a worker compiled a tenant's rules */
	BIZ__COUNT
};

enum event_result {
	EV_PROCESSED,
	EV_REPLAYED,
	EV_CONFLICT,
	EV_REFUSED,		/* unknown, blocked or not enrolled member */
	EV_INVALID,		/* the body */
	EV__COUNT
};

struct shm {
	struct sb_slot		slots[SB_SLOTS];
	uint64_t		requests[METRIC_ROUTES][METRIC_METHODS]
				    [METRIC_STATUSES];
	struct histogram	req_duration[METRIC_ROUTES];
	struct histogram	db_duration;
	uint64_t		db_errors;
	uint64_t		db_reconnects;
	uint64_t		restarts[RESTART__COUNT];
	uint64_t		biz[BIZ__COUNT];
	uint64_t		events[EV__COUNT];
	int64_t			master_started_ns;
	pid_t			master_pid;
	/* The rate limits' buckets, in the same mapping after this struct. */
	struct ratelimit	*limits;
};

#define SHM_LIMIT_BUCKETS	65536	/* about 1.4 MB */

struct shm	*shm_create(void);
int64_t		 mono_ns(void);
const char	*slot_state_name(int);
const char	*restart_reason_name(int);

#endif
