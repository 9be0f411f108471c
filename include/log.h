/* log.h — JSON lines, each written whole with one write(2). */
#ifndef LOYALTY_LOG_H
#define LOYALTY_LOG_H

#include <stddef.h>

#include "config.h"

#define LOG_LINE_MAX	4096

/*
 * A line is built in a fixed buffer and written by log_end() in one call,
 * so lines from concurrent workers appending to one file never interleave.
 * A value that does not fit is cut, and the line stays valid JSON.
 */
struct logline {
	char	buf[LOG_LINE_MAX];
	size_t	len;
	int	skip;	/* below the configured level */
	int	full;
};

/* path "stderr" (or empty) logs to standard error. */
int	log_open(const char *path, long level);
/* Re-opens the file by name: after logrotate moved it (SIGUSR1). */
int	log_reopen(void);
void	log_set_level(long level);
/* The pid field carries getpid() at log time; role names the process. */
void	log_set_role(const char *role);

void	log_begin(struct logline *, enum log_level, const char *event);
void	log_str(struct logline *, const char *key, const char *val);
void	log_int(struct logline *, const char *key, long long val);
void	log_num(struct logline *, const char *key, double val);
void	log_end(struct logline *);

/* One line: {"time":..,"level":..,"event":..,"msg":..}. */
void	log_msg(enum log_level, const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
