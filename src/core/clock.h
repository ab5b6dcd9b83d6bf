/*
 * clock.h - the monotonic clock every progress line, ETA and timing in h4h
 * reads: seconds as a double, never moved by changes of the wall clock.
 */
#ifndef H4H_CORE_CLOCK_H
#define H4H_CORE_CLOCK_H

#include <time.h>

static inline double
h4h_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
