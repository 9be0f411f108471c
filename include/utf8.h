/* utf8.h — strict UTF-8: what a JSON document and a log line may carry. */
#ifndef LOYALTY_UTF8_H
#define LOYALTY_UTF8_H

#include <stddef.h>

/*
 * The length of the well-formed UTF-8 sequence at s (at most n bytes), or
 * 0: overlong forms, surrogates (U+D800..U+DFFF) and code points above
 * U+10FFFF are not well-formed (RFC 3629).
 */
size_t	utf8_seq(const unsigned char *s, size_t n);
/* Offset of the first byte that is not well-formed UTF-8, or n. */
size_t	utf8_check(const char *s, size_t n);

#endif
