/* problem.c — building and rendering RFC 9457 problem documents. */
#include <stdarg.h>
#include <string.h>

#include "problem.h"

enum lerr
problem_set(struct problem *pb, struct arena *a, enum lerr code,
    const char *fmt, ...)
{
	struct buf	b;
	va_list		ap;

	buf_init(&b, a);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	pb->code = code;
	pb->detail = buf_cstr(&b);
	return code;
}

enum lerr
problem_field(struct problem *pb, struct arena *a, enum lerr code,
    const char *field, const char *fmt, ...)
{
	struct buf	b;
	va_list		ap;

	/* The most severe status wins: a malformed field (400) over 422. */
	if (pb->code == LERR_OK || (code == LERR_BAD_REQUEST &&
	    pb->code == LERR_VALIDATION))
		pb->code = code;
	if (pb->nerrors >= PROBLEM_MAX_ERRORS)
		return pb->code;
	buf_init(&b, a);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	pb->errors[pb->nerrors].field = arena_strdup(a, field);
	pb->errors[pb->nerrors].message = buf_cstr(&b);
	pb->nerrors++;
	return pb->code;
}

void
problem_render(const struct problem *pb, const char *request_id,
    struct buf *out)
{
	const struct lerr_info	*info = lerr_info(pb->code);
	const char		*detail = pb->detail;
	int			 i;

	if (detail == NULL && pb->nerrors > 0)
		detail = strcmp(pb->errors[0].field, "body") == 0 ?
		    pb->errors[0].message : arena_printf(out->arena, "%s %s",
		    pb->errors[0].field, pb->errors[0].message);
	if (detail == NULL)
		detail = info->title;
	buf_puts(out, "{\"type\":\"" PROBLEM_TYPE_PREFIX);
	buf_puts(out, info->slug);
	buf_puts(out, "\",\"title\":");
	buf_json_str(out, info->title);
	buf_printf(out, ",\"status\":%d,\"detail\":", info->status);
	buf_json_str(out, detail);
	buf_puts(out, ",\"request_id\":");
	buf_json_str(out, request_id);
	if (pb->nerrors > 0) {
		buf_puts(out, ",\"errors\":[");
		for (i = 0; i < pb->nerrors; i++) {
			if (i > 0)
				buf_putc(out, ',');
			buf_puts(out, "{\"field\":");
			buf_json_str(out, pb->errors[i].field);
			buf_puts(out, ",\"message\":");
			buf_json_str(out, pb->errors[i].message);
			buf_putc(out, '}');
		}
		buf_putc(out, ']');
	}
	if (pb->extra_json != NULL && pb->extra_json[0] != '\0') {
		buf_putc(out, ',');
		buf_puts(out, pb->extra_json);
	}
	buf_puts(out, "}\n");
}
