/* router.c — matching a method and a path against the route table. */
#include <stdio.h>
#include <string.h>

#include "router.h"

/*
 * Matches one pattern segment by segment; "{name}" takes one non-empty
 * segment. Captured values are copied into m->valbuf.
 */
static int
match_pattern(const char *pattern, const char *path, struct route_match *m)
{
	const char	*p = pattern, *s = path;
	size_t		 used = 0;

	m->nparams = 0;
	while (*p != '\0' && *s != '\0') {
		if (*p == '{') {
			const char	*close = strchr(p, '}');
			const char	*seg_end = strchr(s, '/');
			size_t		 n;

			if (close == NULL || m->nparams >= ROUTE_MAX_PARAMS)
				return 0;
			if (seg_end == NULL)
				seg_end = s + strlen(s);
			n = (size_t)(seg_end - s);
			if (n == 0 || used + n + 1 > sizeof(m->valbuf))
				return 0;
			memcpy(m->valbuf + used, s, n);
			m->valbuf[used + n] = '\0';
			m->value[m->nparams] = m->valbuf + used;
			m->name[m->nparams] = p + 1;	/* up to '}' */
			m->nparams++;
			used += n + 1;
			p = close + 1;
			s = seg_end;
			continue;
		}
		if (*p != *s)
			return 0;
		p++, s++;
	}
	return *p == '\0' && *s == '\0';
}

/* Appends method to the ", "-separated list unless it is there. */
static void
allow_add(char *allow, size_t len, const char *method)
{
	const char	*p = allow;
	size_t		 mlen = strlen(method), used = strlen(allow);

	while (*p != '\0') {
		size_t t = strcspn(p, ",");

		if (t == mlen && strncmp(p, method, mlen) == 0)
			return;
		p += t;
		while (*p == ',' || *p == ' ')
			p++;
	}
	snprintf(allow + used, len - used, "%s%s", used ? ", " : "", method);
}

enum lerr
router_match(const struct route *table, size_t n, const char *method,
    const char *path, struct route_match *m)
{
	size_t	i;
	int	path_found = 0;

	m->index = -1;
	m->allow[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!match_pattern(table[i].pattern, path, m))
			continue;
		if (strcmp(table[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(table[i].method, "GET") == 0)) {
			m->index = (int)i;
			return LERR_OK;
		}
		path_found = 1;
		allow_add(m->allow, sizeof(m->allow), table[i].method);
		if (strcmp(table[i].method, "GET") == 0)
			allow_add(m->allow, sizeof(m->allow), "HEAD");
	}
	m->nparams = 0;
	return path_found ? LERR_METHOD : LERR_NOT_FOUND;
}
