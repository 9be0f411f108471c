/* shm.c — the shared segment: created once by the master, before fork. */
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ratelimit.h"
#include "shm.h"

/* The struct, then the rate limiter's table, 64-byte aligned. */
#define LIMITS_OFFSET	((sizeof(struct shm) + 63) & ~(size_t)63)

struct shm *
shm_create(void)
{
	size_t		 size = LIMITS_OFFSET +
			    ratelimit_size(SHM_LIMIT_BUCKETS);
	struct shm	*s;
	void		*p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_msg(LOG_ERROR, "shm", "mmap of %zu bytes failed", size);
		return NULL;
	}
	memset(p, 0, size);
	s = p;
	if ((s->limits = ratelimit_init((char *)p + LIMITS_OFFSET,
	    SHM_LIMIT_BUCKETS)) == NULL) {
		munmap(p, size);
		return NULL;
	}
	return s;
}

int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *
slot_state_name(int s)
{
	static const char *const names[SLOT__COUNT] = {
		"free", "starting", "idle", "busy", "exiting"
	};

	return s >= 0 && s < SLOT__COUNT ? names[s] : "unknown";
}

const char *
restart_reason_name(int r)
{
	static const char *const names[RESTART__COUNT] = {
		"none", "crash", "max_requests", "timeout", "reload"
	};

	return r >= 0 && r < RESTART__COUNT ? names[r] : "unknown";
}
