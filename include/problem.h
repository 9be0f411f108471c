/* problem.h — RFC 9457 problem documents. */
#ifndef LOYALTY_PROBLEM_H
#define LOYALTY_PROBLEM_H

#include "arena.h"
#include "error.h"

#define PROBLEM_MAX_ERRORS	16

struct field_error {
	const char	*field;
	const char	*message;
};

/* What went wrong in a request; rendered once, by the worker. */
struct problem {
	enum lerr		 code;
	const char		*detail;
	const char		*allow;		/* 405: the Allow header */
	int			 retry_after;	/* seconds; 0 = none */
	int			 nerrors;
	struct field_error	 errors[PROBLEM_MAX_ERRORS];
	const char		*extra_json;	/* a raw "name":value,... tail */
};

/* Sets code and detail (arena copy) and returns code, for `return problem(...)`. */
enum lerr	problem_set(struct problem *, struct arena *, enum lerr,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Adds a {field, message} pair; also sets code if none yet. Returns code. */
enum lerr	problem_field(struct problem *, struct arena *, enum lerr,
		    const char *field, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
void		problem_render(const struct problem *, const char *request_id,
		    struct buf *out);

#endif
