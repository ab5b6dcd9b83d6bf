/*
 * splitmix.h - splitmix64 (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", 2014; the public-domain reference at
 * prng.di.unimi.it), the one copy every part of h4h draws from: the
 * training engine's seeding (nn/rng.c) and its dropout counters
 * (nn/ops_act.c), the calibration's cross-validation folds.
 *
 * Inline: dropout calls the finaliser once per element.
 */
#ifndef H4H_CORE_SPLITMIX_H
#define H4H_CORE_SPLITMIX_H

#include <stdint.h>

/* The generator's increment (2^64 / golden ratio). */
#define H4H_SPLITMIX64_GAMMA 0x9e3779b97f4a7c15ULL

/* The output function alone: a counter-based draw is mix(base + i * GAMMA). */
static inline uint64_t
h4h_splitmix64_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The next draw of the generator whose state is *state. */
static inline uint64_t
h4h_splitmix64(uint64_t *state)
{
	*state += H4H_SPLITMIX64_GAMMA;
	return h4h_splitmix64_mix(*state);
}

#endif
