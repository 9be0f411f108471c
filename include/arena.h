/* arena.h — per-request memory: one arena, freed in one call. */
#ifndef LOYALTY_ARENA_H
#define LOYALTY_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/*
 * Allocation never returns NULL: when the system is out of memory the
 * failure is logged and the worker exits, and the master replaces it.
 * Handlers therefore never check and never free.
 */
struct arena	*arena_new(size_t first_block);
void		*arena_alloc(struct arena *, size_t);
void		*arena_zalloc(struct arena *, size_t);
char		*arena_strdup(struct arena *, const char *);
char		*arena_strndup(struct arena *, const char *, size_t);
char		*arena_printf(struct arena *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
/* Forget every allocation but keep the first block for the next request. */
void		 arena_reset(struct arena *);
void		 arena_free(struct arena *);
size_t		 arena_used(const struct arena *);

/* A growable byte buffer whose storage lives in an arena. */
struct buf {
	struct arena	*arena;
	char		*data;
	size_t		 len;
	size_t		 cap;
};

void	buf_init(struct buf *, struct arena *);
void	buf_append(struct buf *, const char *, size_t);
void	buf_puts(struct buf *, const char *);
void	buf_putc(struct buf *, char);
/* Decimal digits of v, without printf (on every response's path). */
void	buf_put_ulong(struct buf *, unsigned long);
void	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
/* Appends s as a JSON string literal, quotes included. */
void	buf_json_str(struct buf *, const char *s);
void	buf_json_strn(struct buf *, const char *s, size_t);
/* NUL-terminates and returns the data (never NULL). */
char	*buf_cstr(struct buf *);

#endif
