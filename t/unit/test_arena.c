/* test_arena.c — the per-request arena and the buffers built on it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "arena.h"

/* Renders s (n bytes) with buf_json_strn and returns the text. */
static char *
json_of(struct arena *a, const char *s, size_t n)
{
	struct buf b;

	buf_init(&b, a);
	buf_json_strn(&b, s, n);
	return buf_cstr(&b);
}

/* Each test gets a fresh arena, freed even when the test fails. */
static int
setup(void **state)
{
	*state = arena_new(0);
	return 0;
}

static int
teardown(void **state)
{
	arena_free(*state);
	return 0;
}

static void
test_arena_many_allocations_span_blocks_without_overlap(void **state)
{
	struct arena	*a = *state;
	unsigned char	*p[2000];
	size_t		 sz[2000], total = 0, i, j;

	for (i = 0; i < 2000; i++) {
		sz[i] = 1 + (i * 37) % 300;
		p[i] = arena_alloc(a, sz[i]);
		assert_non_null(p[i]);
		memset(p[i], (int)(i & 0xff), sz[i]);
		total += sz[i];
	}
	/* Every allocation still holds its own pattern: none overlapped. */
	for (i = 0; i < 2000; i++)
		for (j = 0; j < sz[i]; j++)
			assert_int_equal(p[i][j], i & 0xff);
	assert_int_equal(arena_used(a), total);
}

static void
test_arena_large_allocation_bigger_than_block(void **state)
{
	struct arena	*a = *state;
	unsigned char	*small, *big;
	size_t		 i;

	small = arena_alloc(a, 10);
	memset(small, 0x5a, 10);
	big = arena_alloc(a, 1 << 20);
	memset(big, 0xa5, 1 << 20);
	for (i = 0; i < 10; i++)
		assert_int_equal(small[i], 0x5a);
	assert_int_equal(big[0], 0xa5);
	assert_int_equal(big[(1 << 20) - 1], 0xa5);
}

static void
test_arena_alloc_of_zero_bytes_returns_distinct_pointers(void **state)
{
	struct arena	*a = *state;
	void		*p, *q;

	p = arena_alloc(a, 0);
	q = arena_alloc(a, 0);
	assert_non_null(p);
	assert_non_null(q);
	assert_ptr_not_equal(p, q);
}

static void
test_arena_alloc_is_aligned_to_16(void **state)
{
	struct arena	*a = *state;
	size_t		 i;

	/* Odd sizes, across several blocks, and after a reset. */
	for (i = 0; i < 500; i++) {
		void *p = arena_alloc(a, 1 + i % 23);

		assert_int_equal((uintptr_t)p % 16, 0);
	}
	assert_int_equal((uintptr_t)arena_alloc(a, 100000) % 16, 0);
	arena_reset(a);
	for (i = 0; i < 50; i++)
		assert_int_equal((uintptr_t)arena_alloc(a, 3) % 16, 0);
	assert_int_equal((uintptr_t)arena_zalloc(a, 7) % 16, 0);
	assert_int_equal((uintptr_t)arena_strdup(a, "x") % 16, 0);
}

static void
test_arena_zalloc_returns_zeroed_memory(void **state)
{
	struct arena	*a = *state;
	unsigned char	*p;
	size_t		 i;

	/* Dirty the block first, then reset so zalloc reuses it. */
	memset(arena_alloc(a, 200), 0xff, 200);
	arena_reset(a);
	p = arena_zalloc(a, 200);
	for (i = 0; i < 200; i++)
		assert_int_equal(p[i], 0);
	p = arena_zalloc(a, 5000);
	for (i = 0; i < 5000; i++)
		assert_int_equal(p[i], 0);
}

static void
test_arena_reset_forgets_everything_and_keeps_working(void **state)
{
	struct arena	*a = *state;
	char		*s;
	int		 round, i;

	for (round = 0; round < 5; round++) {
		for (i = 0; i < 300; i++)
			memset(arena_alloc(a, 64), round, 64);
		assert_int_equal(arena_used(a), 300 * 64);
		arena_reset(a);
		assert_int_equal(arena_used(a), 0);
		s = arena_strdup(a, "after reset");
		assert_string_equal(s, "after reset");
		assert_int_equal(arena_used(a), sizeof("after reset"));
		arena_reset(a);
	}
	arena_free(NULL);	/* allowed, like free(NULL) */
}

static void
test_arena_strdup_strndup_copy_and_terminate(void **state)
{
	struct arena	*a = *state;
	const char	*src = "hello, world";
	char		*d, *n, *e;

	d = arena_strdup(a, src);
	assert_string_equal(d, src);
	assert_ptr_not_equal(d, src);
	n = arena_strndup(a, src, 5);
	assert_string_equal(n, "hello");
	assert_int_equal(n[5], '\0');
	/* strndup copies exactly n bytes, even past a NUL it would see. */
	n = arena_strndup(a, "ab\0cd", 5);
	assert_memory_equal(n, "ab\0cd", 6);
	e = arena_strdup(a, "");
	assert_string_equal(e, "");
}

static void
test_arena_printf_formats_short_and_long_output(void **state)
{
	struct arena	*a = *state;
	char		*s, *big;
	size_t		 i;

	s = arena_printf(a, "%s=%d/%05.1f/%c", "x", -42, 3.14159, 'z');
	assert_string_equal(s, "x=-42/003.1/z");
	/* Longer than the first block and than the buffer's first growth. */
	big = arena_printf(a, "[%3000s]", "end");
	assert_int_equal(strlen(big), 3002);
	assert_int_equal(big[0], '[');
	for (i = 1; i < 2998; i++)
		assert_int_equal(big[i], ' ');
	assert_string_equal(big + 2998, "end]");
	assert_string_equal(arena_printf(a, "%s", ""), "");
}

static void
test_buf_grows_across_many_and_large_appends(void **state)
{
	struct arena	*a = *state;
	struct buf	 b;
	char		 chunk[1000], *big;
	size_t		 i, j;

	buf_init(&b, a);
	assert_string_equal(buf_cstr(&b), "");
	assert_int_equal(b.len, 0);
	for (i = 0; i < 1000; i++) {
		memset(chunk, 'a' + (int)(i % 26), sizeof(chunk));
		buf_append(&b, chunk, sizeof(chunk));
	}
	assert_int_equal(b.len, 1000 * 1000);
	for (i = 0; i < 1000; i++)
		for (j = 0; j < 1000; j += 97)
			assert_int_equal(b.data[i * 1000 + j], 'a' + (int)(i % 26));
	/* One append bigger than everything so far. */
	big = arena_alloc(a, 3 << 20);
	memset(big, 'Z', 3 << 20);
	buf_append(&b, big, 3 << 20);
	assert_int_equal(b.len, 1000 * 1000 + (3 << 20));
	assert_true(b.cap > b.len);
	assert_int_equal(b.data[999999], 'a' + (999 % 26));
	assert_int_equal(b.data[1000000], 'Z');
	assert_int_equal(b.data[b.len - 1], 'Z');
	assert_int_equal(buf_cstr(&b)[b.len], '\0');
	assert_int_equal(strlen(b.data), b.len);
}

static void
test_buf_puts_putc_printf_concatenate(void **state)
{
	struct arena	*a = *state;
	struct buf	 b;
	int		 i;

	buf_init(&b, a);
	buf_puts(&b, "abc");
	buf_putc(&b, '-');
	buf_printf(&b, "%d:%s", 7, "x");
	buf_append(&b, "yz!", 2);
	assert_string_equal(buf_cstr(&b), "abc-7:xyz");
	assert_int_equal(b.len, 9);
	/* buf_cstr does not change the length; appending continues. */
	buf_putc(&b, '.');
	assert_string_equal(buf_cstr(&b), "abc-7:xyz.");
	/* Many putc calls cross several growths. */
	buf_init(&b, a);
	for (i = 0; i < 10000; i++)
		buf_putc(&b, (char)('0' + i % 10));
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[9999], '9');
	assert_int_equal(b.data[5000], '0');
	/* printf output larger than the current capacity. */
	buf_init(&b, a);
	buf_puts(&b, "<");
	buf_printf(&b, "%0999d", 1);
	buf_puts(&b, ">");
	assert_int_equal(b.len, 1001);
	assert_int_equal(buf_cstr(&b)[999], '1');
	assert_int_equal(b.data[1000], '>');
}

static void
test_buf_json_str_escapes_quote_backslash_and_whitespace(void **state)
{
	struct arena	*a = *state;
	struct buf	 b;

	buf_init(&b, a);
	buf_json_str(&b, "say \"hi\" \\ back\nnew\rret\ttab/slash");
	assert_string_equal(buf_cstr(&b),
	    "\"say \\\"hi\\\" \\\\ back\\nnew\\rret\\ttab/slash\"");
	buf_init(&b, a);
	buf_json_str(&b, "");
	assert_string_equal(buf_cstr(&b), "\"\"");
}

static void
test_buf_json_str_escapes_control_chars_as_u00xx_and_del(void **state)
{
	struct arena	*a = *state;

	assert_string_equal(json_of(a, "\x01", 1), "\"\\u0001\"");
	assert_string_equal(json_of(a, "\b\f", 2), "\"\\u0008\\u000c\"");
	assert_string_equal(json_of(a, "\x1b[0m", 4), "\"\\u001b[0m\"");
	assert_string_equal(json_of(a, "\x1f", 1), "\"\\u001f\"");
	assert_string_equal(json_of(a, "\x7f", 1), "\"\\u007f\"");
	assert_string_equal(json_of(a, " ~", 2), "\" ~\"");
	/* An embedded NUL, with buf_json_strn's explicit length. */
	assert_string_equal(json_of(a, "a\0b", 3), "\"a\\u0000b\"");
}

static void
test_buf_json_str_replaces_invalid_utf8_with_fffd(void **state)
{
	struct arena	*a = *state;

	/* A byte that never starts a sequence. */
	assert_string_equal(json_of(a, "a\xff" "b", 3), "\"a\\ufffdb\"");
	/* A lone continuation byte. */
	assert_string_equal(json_of(a, "\x80", 1), "\"\\ufffd\"");
	/* A sequence cut by the end of the string. */
	assert_string_equal(json_of(a, "x\xc3", 2), "\"x\\ufffd\"");
	assert_string_equal(json_of(a, "\xe2\x82", 2), "\"\\ufffd\\ufffd\"");
	/* A lead byte followed by a non-continuation. */
	assert_string_equal(json_of(a, "\xc3" "A", 2), "\"\\ufffdA\"");
	/* Overlong encodings of '/' and of U+0000. */
	assert_string_equal(json_of(a, "\xc0\xaf", 2), "\"\\ufffd\\ufffd\"");
	assert_string_equal(json_of(a, "\xe0\x80\x80", 3),
	    "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(json_of(a, "\xf0\x80\x80\x80", 4),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* A UTF-16 surrogate encoded as UTF-8 (U+D800). */
	assert_string_equal(json_of(a, "\xed\xa0\x80", 3),
	    "\"\\ufffd\\ufffd\\ufffd\"");
	/* Beyond U+10FFFF. */
	assert_string_equal(json_of(a, "\xf4\x90\x80\x80", 4),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(json_of(a, "\xf5\x80\x80\x80", 4),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void
test_buf_json_str_keeps_valid_multibyte_utf8(void **state)
{
	struct arena	*a = *state;
	struct buf	 b;

	/* 2 bytes (é), 3 bytes (€), 4 bytes (U+1F600), and the extremes. */
	assert_string_equal(json_of(a, "caf\xc3\xa9", 5), "\"caf\xc3\xa9\"");
	assert_string_equal(json_of(a, "\xe2\x82\xac", 3), "\"\xe2\x82\xac\"");
	assert_string_equal(json_of(a, "\xf0\x9f\x98\x80", 4),
	    "\"\xf0\x9f\x98\x80\"");
	assert_string_equal(json_of(a, "\xc2\x80", 2), "\"\xc2\x80\"");
	assert_string_equal(json_of(a, "\xed\x9f\xbf", 3), "\"\xed\x9f\xbf\"");
	assert_string_equal(json_of(a, "\xee\x80\x80", 3), "\"\xee\x80\x80\"");
	assert_string_equal(json_of(a, "\xf4\x8f\xbf\xbf", 4),
	    "\"\xf4\x8f\xbf\xbf\"");
	/* Valid bytes next to an invalid one: only the bad byte changes. */
	buf_init(&b, a);
	buf_json_str(&b, "\xc3\xa9\xff\xe2\x82\xac");
	assert_string_equal(buf_cstr(&b), "\"\xc3\xa9\\ufffd\xe2\x82\xac\"");
}

static void
test_buf_json_str_of_null_is_null_literal(void **state)
{
	struct arena	*a = *state;
	struct buf	 b;

	buf_init(&b, a);
	buf_puts(&b, "[");
	buf_json_str(&b, NULL);
	buf_puts(&b, ",");
	buf_json_str(&b, "x");
	buf_puts(&b, "]");
	assert_string_equal(buf_cstr(&b), "[null,\"x\"]");
}

static void
test_buf_json_strn_stops_at_the_given_length(void **state)
{
	struct arena *a = *state;

	assert_string_equal(json_of(a, "abcdef", 3), "\"abc\"");
	assert_string_equal(json_of(a, "abc", 0), "\"\"");
	/* A multibyte sequence cut by the length is invalid, not read past. */
	assert_string_equal(json_of(a, "\xe2\x82\xac", 2),
	    "\"\\ufffd\\ufffd\"");
}

static void
test_buf_put_ulong_writes_decimal_digits(void **state)
{
	struct buf	b;
	char		want[64];

	buf_init(&b, *state);
	buf_put_ulong(&b, 0);
	buf_putc(&b, ' ');
	buf_put_ulong(&b, 200);
	buf_putc(&b, ' ');
	buf_put_ulong(&b, 1048576);
	buf_putc(&b, ' ');
	buf_put_ulong(&b, (unsigned long)-1);
	snprintf(want, sizeof(want), "0 200 1048576 %lu", (unsigned long)-1);
	assert_string_equal(buf_cstr(&b), want);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_arena_many_allocations_span_blocks_without_overlap),
		T(test_arena_large_allocation_bigger_than_block),
		T(test_arena_alloc_of_zero_bytes_returns_distinct_pointers),
		T(test_arena_alloc_is_aligned_to_16),
		T(test_arena_zalloc_returns_zeroed_memory),
		T(test_arena_reset_forgets_everything_and_keeps_working),
		T(test_arena_strdup_strndup_copy_and_terminate),
		T(test_arena_printf_formats_short_and_long_output),
		T(test_buf_grows_across_many_and_large_appends),
		T(test_buf_puts_putc_printf_concatenate),
		T(test_buf_json_str_escapes_quote_backslash_and_whitespace),
		T(test_buf_json_str_escapes_control_chars_as_u00xx_and_del),
		T(test_buf_json_str_replaces_invalid_utf8_with_fffd),
		T(test_buf_json_str_keeps_valid_multibyte_utf8),
		T(test_buf_json_str_of_null_is_null_literal),
		T(test_buf_json_strn_stops_at_the_given_length),
		T(test_buf_put_ulong_writes_decimal_digits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
