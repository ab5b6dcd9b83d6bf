/*
 * rng.c - xoshiro256** with splitmix64 seeding (see rng.h).
 *
 * xoshiro256** and splitmix64 follow the public-domain reference code at
 * prng.di.unimi.it.  Floats take the top 24 bits so every value is exact
 * and uniform() < 1 always holds.
 */
#include "nn/rng.h"

#include <math.h>
#include <string.h>

#include "core/le.h"
#include "core/splitmix.h"

static uint64_t
mix64(uint64_t v)
{
	return h4h_splitmix64(&v);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = mix64(seed) ^ mix64(stream ^ 0x6a09e667f3bcc909ULL);
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = h4h_splitmix64(&x);
	/* All-zero is the one state xoshiro cannot leave. */
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 1;
	r->has_spare = 0;
	r->spare = 0.0f;
}

uint64_t
nn_rng_stream(uint32_t tag, uint64_t a, uint64_t b)
{
	return mix64(mix64(((uint64_t)tag << 32) ^ a) ^ b);
}

uint64_t
nn_rng_u64(nn_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

uint32_t
nn_rng_u32(nn_rng *r)
{
	return (uint32_t)(nn_rng_u64(r) >> 32);
}

float
nn_rng_uniform(nn_rng *r)
{
	return (float)(nn_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

uint32_t
nn_rng_below(nn_rng *r, uint32_t n)
{
	uint64_t m;
	uint32_t lo, thresh;

	if (n == 0)
		return 0;
	m = (uint64_t)nn_rng_u32(r) * n;
	lo = (uint32_t)m;
	if (lo < n) {
		thresh = (uint32_t)(-n) % n;
		while (lo < thresh) {
			m = (uint64_t)nn_rng_u32(r) * n;
			lo = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

int
nn_rng_range(nn_rng *r, int lo, int hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int)nn_rng_below(r, (uint32_t)((int64_t)hi - lo + 1));
}

float
nn_rng_normal(nn_rng *r)
{
	double u1, u2, rad, th;

	if (r->has_spare) {
		r->has_spare = 0;
		return r->spare;
	}
	/* u1 in (0, 1] so log(u1) is finite. */
	u1 = ((double)(nn_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
	u2 = (double)(nn_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
	rad = sqrt(-2.0 * log(u1));
	th = 2.0 * M_PI * u2;
	r->spare = (float)(rad * sin(th));
	r->has_spare = 1;
	return (float)(rad * cos(th));
}

void
nn_rng_shuffle(nn_rng *r, int *a, size_t n)
{
	size_t i, j;
	int t;

	for (i = n; i > 1; i--) {
		j = nn_rng_below(r, (uint32_t)i);
		t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

void
nn_rng_save(const nn_rng *r, unsigned char out[NN_RNG_STATE_BYTES])
{
	uint32_t bits;
	int i;

	for (i = 0; i < 4; i++)
		h4h_le_put64(out + 8 * i, r->s[i]);
	h4h_le_put32(out + 32, r->has_spare ? 1 : 0);
	memcpy(&bits, &r->spare, 4);
	h4h_le_put32(out + 36, bits);
}

int
nn_rng_load(nn_rng *r, const unsigned char *in, size_t n, h4h_err *err)
{
	nn_rng t;
	uint32_t bits, flag;
	int i;

	if (n != NN_RNG_STATE_BYTES)
		return h4h_errf(err, H4H_EINPUT,
		    "rng state has %zu bytes, expected %d", n,
		    NN_RNG_STATE_BYTES);
	flag = h4h_le_get32(in + 32);
	if (flag > 1)
		return h4h_errf(err, H4H_EINPUT,
		    "rng state has spare flag %u, expected 0 or 1", flag);
	for (i = 0; i < 4; i++)
		t.s[i] = h4h_le_get64(in + 8 * i);
	if ((t.s[0] | t.s[1] | t.s[2] | t.s[3]) == 0)
		return h4h_errf(err, H4H_EINPUT, "rng state is all zero");
	t.has_spare = (int)flag;
	bits = h4h_le_get32(in + 36);
	memcpy(&t.spare, &bits, 4);
	*r = t;
	return 0;
}
