/* arena.c — per-request bump allocator and the buffers built on it. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "log.h"
#include "utf8.h"

#define ARENA_ALIGN	16

struct block {
	struct block	*next;
	size_t		 size;
	size_t		 used;
	unsigned char	 data[] __attribute__((aligned(ARENA_ALIGN)));
};

struct arena {
	struct block	*head;		/* current block, newest first */
	struct block	*first;		/* kept across arena_reset() */
	size_t		 total;
};

static void __attribute__((noreturn))
out_of_memory(size_t n)
{
	log_msg(LOG_ERROR, "out_of_memory", "allocation of %zu bytes failed", n);
	_exit(70);
}

static struct block *
block_new(size_t size)
{
	struct block *b;

	if (size > SIZE_MAX - sizeof(*b))
		out_of_memory(size);
	if ((b = malloc(sizeof(*b) + size)) == NULL)
		out_of_memory(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *
arena_new(size_t first_block)
{
	struct arena *a;

	if ((a = malloc(sizeof(*a))) == NULL)
		out_of_memory(sizeof(*a));
	a->first = a->head = block_new(first_block < 256 ? 256 : first_block);
	a->total = 0;
	return a;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct block	*b = a->head;
	size_t		 off;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ARENA_ALIGN)
		out_of_memory(n);
	off = (b->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (off > b->size || b->size - off < n) {
		size_t size = b->size * 2;

		while (size < n)
			size *= 2;
		b = block_new(size);
		b->next = a->head;
		a->head = b;
		off = 0;
	}
	b->used = off + n;
	a->total += n;
	return b->data + off;
}

void *
arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	memset(p, 0, n);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	struct buf	b;
	va_list		ap;

	buf_init(&b, a);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_cstr(&b);
}

void
arena_reset(struct arena *a)
{
	struct block *b, *next;

	for (b = a->head; b != a->first; b = next) {
		next = b->next;
		free(b);
	}
	a->head = a->first;
	a->first->used = 0;
	a->total = 0;
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	free(a->first);
	free(a);
}

size_t
arena_used(const struct arena *a)
{
	return a->total;
}

void
buf_init(struct buf *b, struct arena *a)
{
	b->arena = a;
	b->data = NULL;
	b->len = b->cap = 0;
}

static void
buf_reserve(struct buf *b, size_t more)
{
	size_t	 cap;
	char	*p;

	if (b->cap - b->len > more)
		return;
	cap = b->cap ? b->cap * 2 : 256;
	while (cap - b->len <= more)
		cap *= 2;
	p = arena_alloc(b->arena, cap);
	if (b->len)
		memcpy(p, b->data, b->len);
	b->data = p;
	b->cap = cap;
}

void
buf_append(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
}

void
buf_put_ulong(struct buf *b, unsigned long v)
{
	char	 digits[24], *p = digits + sizeof(digits);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_append(b, p, (size_t)(digits + sizeof(digits) - p));
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	cp;
	int	n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n + 1);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Invalid UTF-8 becomes U+FFFD, so the output is always valid JSON. */
void
buf_json_strn(struct buf *b, const char *s, size_t n)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':  buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		default:
			if (c < 0x20 || c == 0x7f) {
				char esc[6] = { '\\', 'u', '0', '0',
				    hex[c >> 4], hex[c & 15] };

				buf_append(b, esc, sizeof(esc));
			} else if (c < 0x80)
				buf_putc(b, (char)c);
			else {
				size_t k = utf8_seq((const unsigned char *)s + i,
				    n - i);

				if (k == 0)
					buf_append(b, "\\ufffd", 6);
				else {
					buf_append(b, s + i, k);
					i += k - 1;
				}
			}
		}
	}
	buf_putc(b, '"');
}

void
buf_json_str(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_append(b, "null", 4);
		return;
	}
	buf_json_strn(b, s, strlen(s));
}

char *
buf_cstr(struct buf *b)
{
	buf_reserve(b, 1);
	b->data[b->len] = '\0';
	return b->data;
}
