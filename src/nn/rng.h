/*
 * rng.h - the seeded pseudo-random generator every random choice in the
 * training engine draws from: xoshiro256** (Blackman and Vigna, 2018) with
 * its state in a caller-owned struct, never a global.
 *
 * Invariants: the stream a generator produces depends only on (seed, stream)
 * given to nn_rng_seed and on the calls made since; nn_rng_save/nn_rng_load
 * round-trip that state bit for bit, Box-Muller spare included, so a resumed
 * run draws the same numbers an uninterrupted one would.  Different `stream`
 * numbers for one seed give independent generators (per worker, per epoch,
 * per image), derived by hashing, so no draw order couples them.
 */
#ifndef H4H_NN_RNG_H
#define H4H_NN_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct nn_rng {
	uint64_t s[4];
	int has_spare;		/* a second Box-Muller normal is waiting */
	float spare;
} nn_rng;

/* Bytes nn_rng_save writes: 4 x u64, u32 has_spare, f32 spare, all
 * little-endian. */
#define NN_RNG_STATE_BYTES 40

/* Stream numbers the data pipeline uses (nn_rng_stream composes them with
 * an epoch and an index); callers pick their own above NN_RNG_TAG_USER. */
enum {
	NN_RNG_TAG_SPLIT = 1,	/* validation split permutation */
	NN_RNG_TAG_SHUFFLE = 2,	/* per-epoch order of the training set */
	NN_RNG_TAG_AUGMENT = 3,	/* per-image augmentation */
	NN_RNG_TAG_USER = 16,
};

/* Seeds r for stream `stream` of `seed` (splitmix64 over both). */
void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream);

/* A stream number from a tag and two counters (e.g. epoch, image index):
 * distinct triples give distinct streams with overwhelming probability. */
uint64_t nn_rng_stream(uint32_t tag, uint64_t a, uint64_t b);

uint64_t nn_rng_u64(nn_rng *r);
uint32_t nn_rng_u32(nn_rng *r);
/* Uniform in [0, 1), 24 random bits. */
float nn_rng_uniform(nn_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method); 0 when n == 0. */
uint32_t nn_rng_below(nn_rng *r, uint32_t n);
/* Uniform integer in [lo, hi] inclusive (hi >= lo). */
int nn_rng_range(nn_rng *r, int lo, int hi);
/* Standard normal, Box-Muller; the second value of each pair is kept in
 * r->spare for the next call. */
float nn_rng_normal(nn_rng *r);
/* Fisher-Yates shuffle of a[0..n). */
void nn_rng_shuffle(nn_rng *r, int *a, size_t n);

/* State to bytes and back.  nn_rng_load refuses a wrong length. */
void nn_rng_save(const nn_rng *r, unsigned char out[NN_RNG_STATE_BYTES]);
int nn_rng_load(nn_rng *r, const unsigned char *in, size_t n, h4h_err *err);

#endif
