/* fuzz.h — what every fuzz target shares: the entry point and CHECK(). */
#ifndef LOYALTY_FUZZ_H
#define LOYALTY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* libFuzzer calls this once per input; it must return 0. */
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A property that does not hold is a finding like a crash: abort() makes
 * libFuzzer keep the input as a reproducer. Unlike assert(), never compiled
 * out.
 */
#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property does not hold: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
