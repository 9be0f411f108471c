/* master.h — the supervisor of the worker pool. */
#ifndef LOYALTY_MASTER_H
#define LOYALTY_MASTER_H

#include "config.h"

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
int	master_run(struct config *, const char *config_path, int listen_fd);

#endif
