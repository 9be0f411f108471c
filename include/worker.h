/* worker.h — a prefork worker: accept, dispatch, respond, repeat. */
#ifndef LOYALTY_WORKER_H
#define LOYALTY_WORKER_H

#include "config.h"
#include "shm.h"

struct db;

struct worker {
	const struct config	*cfg;
	struct shm		*shm;
	struct sb_slot		*slot;
	int			 slot_index;
	struct db		*db;
	long			 schema_expected;
	/* auth.jwt_key and auth.master_key, decoded (auth_init) */
	unsigned char		 jwt_key[64];
	size_t			 jwt_key_len;
	unsigned char		 master_key[32];
};

/*
 * Verifies the database and that its schema is the one this build
 * expects, once; true from then on (the worker's startup is complete).
 */
int	worker_verify_startup(struct worker *);

/* Runs in the child after fork(); never returns. */
void	worker_main(const struct config *, struct shm *, int slot,
	    int listen_fd) __attribute__((noreturn));

#endif
