/* metrics.h — pool-wide Prometheus metrics kept in shared memory. */
#ifndef LOYALTY_METRICS_H
#define LOYALTY_METRICS_H

#include <stddef.h>

#include "arena.h"
#include "router.h"
#include "shm.h"

/* Upper bounds in seconds of the histogram buckets (+Inf follows). */
extern const double	hist_bounds[HIST_BUCKETS];

int	metrics_method_index(const char *method);
int	metrics_status_index(int status);

void	metrics_request(struct shm *, int route, int method, int status,
	    double seconds);
void	metrics_db_query(struct shm *, double seconds);
void	metrics_db_error(struct shm *);
void	metrics_db_reconnect(struct shm *);
void	metrics_restart(struct shm *, enum restart_reason);
void	metrics_biz(struct shm *, enum biz, uint64_t n);
void	metrics_event(struct shm *, enum event_result);

/* Prometheus text exposition format 0.0.4 for the whole pool. */
void	metrics_render(const struct shm *, const struct route *, size_t n,
	    struct buf *out);
/* The scoreboard as JSON, for /status and `loyaltyctl status`. */
void	scoreboard_render(const struct shm *, const struct route *, size_t n,
	    struct buf *out);

#endif
