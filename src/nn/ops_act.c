/*
 * ops_act.c - elementwise ops: activations, residual add, global average
 * pool, dropout and drop-connect (ops.h).
 *
 * All are memory-bound loops: each splits its n floats evenly across the
 * OpenMP threads and runs a vectorised kernel on its piece.  Dropout draws
 * from splitmix64, which is a counter generator: element i of a call gets
 * the value the (i+1)-th sequential draw would, so the threads need no
 * shared state and the result does not depend on the thread count.
 */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/splitmix.h"
#include "nn/ops.h"
#include "nn/ops_impl.h"

#define GOLDEN H4H_SPLITMIX64_GAMMA

/* Without this GCC will not if-convert a float select such as hswish's
 * derivative (0 / 1 / (2x+3)/6), so those loops stay scalar.  No code
 * here reads the floating-point exception flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/* Runs body(lo, hi) over [0, n) split across the threads; below 16k
 * elements one thread does it all (the fork costs more). */
#define PAR_RANGE(n, body) do { \
	long n_ = (long)(n); \
	int nt_ = n_ < 16384 ? 1 : omp_get_max_threads(); \
	_Pragma("omp parallel for num_threads(nt_) schedule(static)") \
	for (int t_ = 0; t_ < nt_; t_++) { \
		long lo, hi; \
		nn_split(n_, nt_, t_, &lo, &hi); \
		body; \
	} \
} while (0)

/* ---- activations ------------------------------------------------------- */

/* min(max(x, 0), 6) as compares: fminf/fmaxf keep their NaN rules and
 * become library calls, these become vector max/min. */
static inline float
clamp6(float x)
{
	x = x > 0.0f ? x : 0.0f;
	return x < 6.0f ? x : 6.0f;
}

static NN_SIMD void
relu6_f(float *restrict o, const float *restrict x, long n)
{
#pragma omp simd
	for (long i = 0; i < n; i++)
		o[i] = clamp6(x[i]);
}

static NN_SIMD void
relu6_b(float *restrict d, const float *restrict g, const float *restrict x,
    long n)
{
#pragma omp simd
	for (long i = 0; i < n; i++)
		d[i] += (x[i] > 0.0f && x[i] < 6.0f) ? g[i] : 0.0f;
}

static NN_SIMD void
hswish_f(float *restrict o, const float *restrict x, long n)
{
#pragma omp simd
	for (long i = 0; i < n; i++)
		o[i] = x[i] * clamp6(x[i] + 3.0f) * (1.0f / 6.0f);
}

/* d/dx x relu6(x+3)/6 = 0 below -3, 1 above 3, (2x+3)/6 between
 * (PyTorch's convention at the two kinks). */
static NN_SIMD void
hswish_b(float *restrict d, const float *restrict g, const float *restrict x,
    long n)
{
#pragma omp simd
	for (long i = 0; i < n; i++) {
		float v = x[i] < -3.0f ? 0.0f : x[i] > 3.0f ? 1.0f :
		    (2.0f * x[i] + 3.0f) * (1.0f / 6.0f);

		d[i] += g[i] * v;
	}
}

#define SQRT1_2 0.70710678118654752f
#define INV_SQRT2PI 0.39894228040143268f

static NN_SIMD void
gelu_f(float *restrict o, const float *restrict x, long n)
{
	for (long i = 0; i < n; i++)
		o[i] = 0.5f * x[i] * (1.0f + erff(x[i] * SQRT1_2));
}

static NN_SIMD void
gelu_b(float *restrict d, const float *restrict g, const float *restrict x,
    long n)
{
	for (long i = 0; i < n; i++) {
		float cdf = 0.5f * (1.0f + erff(x[i] * SQRT1_2));
		float pdf = INV_SQRT2PI * expf(-0.5f * x[i] * x[i]);

		d[i] += g[i] * (cdf + x[i] * pdf);
	}
}

static NN_SIMD void
swish_f(float *restrict o, const float *restrict x, long n)
{
	for (long i = 0; i < n; i++)
		o[i] = x[i] / (1.0f + expf(-x[i]));
}

static NN_SIMD void
swish_b(float *restrict d, const float *restrict g, const float *restrict x,
    long n)
{
	for (long i = 0; i < n; i++) {
		float s = 1.0f / (1.0f + expf(-x[i]));

		d[i] += g[i] * s * (1.0f + x[i] * (1.0f - s));
	}
}

void
nn_relu6_forward(float *out, const float *inp, size_t n)
{
	PAR_RANGE(n, relu6_f(out + lo, inp + lo, hi - lo));
}

void
nn_relu6_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
	PAR_RANGE(n, relu6_b(dinp + lo, dout + lo, inp + lo, hi - lo));
}

void
nn_hswish_forward(float *out, const float *inp, size_t n)
{
	PAR_RANGE(n, hswish_f(out + lo, inp + lo, hi - lo));
}

void
nn_hswish_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
	PAR_RANGE(n, hswish_b(dinp + lo, dout + lo, inp + lo, hi - lo));
}

void
nn_gelu_forward(float *out, const float *inp, size_t n)
{
	PAR_RANGE(n, gelu_f(out + lo, inp + lo, hi - lo));
}

void
nn_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
	PAR_RANGE(n, gelu_b(dinp + lo, dout + lo, inp + lo, hi - lo));
}

void
nn_swish_forward(float *out, const float *inp, size_t n)
{
	PAR_RANGE(n, swish_f(out + lo, inp + lo, hi - lo));
}

void
nn_swish_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
	PAR_RANGE(n, swish_b(dinp + lo, dout + lo, inp + lo, hi - lo));
}

/* ---- residual ------------------------------------------------------------ */

static NN_SIMD void
add2(float *restrict o, const float *restrict a, const float *restrict b,
    long n)
{
#pragma omp simd
	for (long i = 0; i < n; i++)
		o[i] = a[i] + b[i];
}

static NN_SIMD void
acc1(float *restrict d, const float *restrict g, long n)
{
#pragma omp simd
	for (long i = 0; i < n; i++)
		d[i] += g[i];
}

/* out may alias a or b: element i reads a[i], b[i] before writing o[i]. */
void
nn_residual_forward(float *out, const float *a, const float *b, size_t n)
{
	if (out == a || out == b) {
		const float *o = out == a ? b : a;

		PAR_RANGE(n, acc1(out + lo, o + lo, hi - lo));
		return;
	}
	PAR_RANGE(n, add2(out + lo, a + lo, b + lo, hi - lo));
}

void
nn_residual_backward(float *da, float *db, const float *dout, size_t n)
{
	if (da != NULL)
		PAR_RANGE(n, acc1(da + lo, dout + lo, hi - lo));
	if (db != NULL)
		PAR_RANGE(n, acc1(db + lo, dout + lo, hi - lo));
}

/* ---- global average pool ------------------------------------------------- */

static NN_SIMD void
pool_f(float *restrict o, const float *restrict x, int HW, int C)
{
	float s = 1.0f / HW;

	memset(o, 0, sizeof(float) * C);
	for (int p = 0; p < HW; p++) {
		const float *xr = x + (size_t)p * C;
#pragma omp simd
		for (int c = 0; c < C; c++)
			o[c] += xr[c];
	}
#pragma omp simd
	for (int c = 0; c < C; c++)
		o[c] *= s;
}

static NN_SIMD void
pool_b(float *restrict d, const float *restrict g, int HW, int C)
{
	float s = 1.0f / HW;

	for (int p = 0; p < HW; p++) {
		float *dr = d + (size_t)p * C;
#pragma omp simd
		for (int c = 0; c < C; c++)
			dr[c] += g[c] * s;
	}
}

void
nn_avgpool_forward(float *out, const float *inp, int B, int HW, int C)
{
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++)
		pool_f(out + (size_t)b * C, inp + (size_t)b * HW * C, HW, C);
}

void
nn_avgpool_backward(float *dinp, const float *dout, int B, int HW, int C)
{
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++)
		pool_b(dinp + (size_t)b * HW * C, dout + (size_t)b * C, HW, C);
}

/* ---- random numbers, dropout, drop-connect -------------------------------- */

uint64_t
nn_sm64_next(uint64_t *state)
{
	return h4h_splitmix64(state);
}

float
nn_sm64_uniform(uint64_t *state)
{
	return (float)(nn_sm64_next(state) >> 40) * (1.0f / 16777216.0f);
}

/* The (i+1)-th draw after `base`, as a uniform in [0,1). */
static inline float
uniform_at(uint64_t base, size_t i)
{
	return (float)(h4h_splitmix64_mix(base + (i + 1) * GOLDEN) >> 40) *
	    (1.0f / 16777216.0f);
}

static void
dropout_range(float *restrict o, uint8_t *restrict m,
    const float *restrict x, uint64_t base, long lo, long hi, float p,
    float s)
{
	for (long i = lo; i < hi; i++) {
		m[i] = uniform_at(base, (size_t)i) >= p;
		o[i] = m[i] ? x[i] * s : 0.0f;
	}
}

void
nn_dropout_forward(float *out, uint8_t *mask, const float *inp, size_t n,
    float p, uint64_t *rng)
{
	uint64_t base = *rng;
	float s = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;

	if (p <= 0.0f) {
		if (out != inp)
			memcpy(out, inp, sizeof(float) * n);
		memset(mask, 1, n);
		return;
	}
	PAR_RANGE(n, dropout_range(out, mask, inp, base, lo, hi, p, s));
	*rng = base + n * GOLDEN;
}

static NN_SIMD void
dropout_b(float *restrict d, const float *restrict g,
    const uint8_t *restrict m, long n, float s)
{
#pragma omp simd
	for (long i = 0; i < n; i++)
		d[i] += m[i] ? g[i] * s : 0.0f;
}

void
nn_dropout_backward(float *dinp, const float *dout, const uint8_t *mask,
    size_t n, float p)
{
	float s = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;

	PAR_RANGE(n, dropout_b(dinp + lo, dout + lo, mask + lo, hi - lo, s));
}

static NN_SIMD void
scale_into(float *restrict o, const float *restrict x, float s, long n)
{
#pragma omp simd
	for (long i = 0; i < n; i++)
		o[i] = x[i] * s;
}

static NN_SIMD void
scale_acc(float *restrict d, const float *restrict g, float s, long n)
{
#pragma omp simd
	for (long i = 0; i < n; i++)
		d[i] += g[i] * s;
}

void
nn_dropconnect_forward(float *out, float *scale, const float *inp, int B,
    size_t S, float p, uint64_t *rng)
{
	float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;

	for (int b = 0; b < B; b++)
		scale[b] = (p <= 0.0f || nn_sm64_uniform(rng) >= p) ?
		    (p <= 0.0f ? 1.0f : keep) : 0.0f;
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++)
		scale_into(out + b * S, inp + b * S, scale[b], (long)S);
}

void
nn_dropconnect_backward(float *dinp, const float *dout, const float *scale,
    int B, size_t S)
{
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++)
		if (scale[b] != 0.0f)
			scale_acc(dinp + b * S, dout + b * S, scale[b], (long)S);
}
