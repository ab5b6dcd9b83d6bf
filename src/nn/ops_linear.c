/*
 * ops_linear.c - linear layers and multi-head self-attention (ops.h).
 *
 * Linear is GEMM on (N, IC) rows against the weight block w[:OC,:IC] of a
 * row-major (OCmax, ICmax) matrix (leading dimension ICmax): the elastic
 * slice costs nothing, and cblas' beta = 1 gives backward's accumulation
 * for free.
 *
 * Attention is written by hand: with 16 tokens and head dim 8 each (batch,
 * head) pair is 2 x 2k multiply-adds, far below what a library call's
 * overhead pays for.  K and V are transposed into (hd, T) tiles so every
 * inner loop runs contiguous across tokens or across the head dim.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "nn/ops_impl.h"

/* Lets GCC if-convert and vectorise the float selects below. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

/*
 * e^x for x <= 0 (softmax's x - max), inlined so the row loop vectorises
 * (libm's expf is a call per element).  x = n ln2 + r, |r| <= ln2/2,
 * e^r by its degree-7 Taylor polynomial (truncation < 2e-9, below float
 * rounding), 2^n put into the exponent bits.  Below -87 the result would
 * be denormal; it is flushed to e^-87 (~1.6e-38), which a softmax sum
 * cannot tell from 0.
 */
static inline float
exp_nonpos(float x)
{
	union { float f; int32_t i; } u;
	float n, r, p;

	x = x > -87.0f ? x : -87.0f;
	n = __builtin_rintf(x * 1.44269504088896341f);
	r = x - n * 0.693145751953125f;		/* ln2 split: hi exact */
	r = r - n * 1.42860682030941723e-06f;	/* lo */
	p = 1.0f / 5040.0f;
	p = p * r + 1.0f / 720.0f;
	p = p * r + 1.0f / 120.0f;
	p = p * r + 1.0f / 24.0f;
	p = p * r + 1.0f / 6.0f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	u.i = ((int32_t)n + 127) << 23;
	return p * u.f;
}

void
nn_linear_forward(nn_ctx *ctx, float *out, const float *inp, const float *w,
    const float *b, int N, int IC, int OC, int ldw)
{
	if (b != NULL) {
#pragma omp parallel for num_threads(ctx->nthreads) schedule(static)
		for (int n = 0; n < N; n++)
			memcpy(out + (size_t)n * OC, b, sizeof(float) * OC);
	}
	nn_gemm(ctx, 0, 1, N, OC, IC, 1.0f, inp, IC, w, ldw,
	    b != NULL ? 1.0f : 0.0f, out, OC);
}

/* part[0..OC) = sum of N rows of g. */
static NN_SIMD void
colsum_rows(float *restrict part, const float *restrict g, long N, int OC)
{
	memset(part, 0, sizeof(float) * OC);
	for (long n = 0; n < N; n++) {
		const float *gr = g + n * OC;
#pragma omp simd
		for (int c = 0; c < OC; c++)
			part[c] += gr[c];
	}
}

void
nn_linear_backward(nn_ctx *ctx, float *dinp, float *dw, float *db,
    const float *dout, const float *inp, const float *w, int N, int IC,
    int OC, int ldw)
{
	nn_linear_backward_ex(ctx, dinp, dw, db, dout, inp, w, N, IC, OC, ldw,
	    1);
}

void
nn_linear_backward_ex(nn_ctx *ctx, float *dinp, float *dw, float *db,
    const float *dout, const float *inp, const float *w, int N, int IC,
    int OC, int ldw, int acc)
{
	if (dinp != NULL)
		nn_gemm(ctx, 0, 0, N, IC, OC, 1.0f, dout, OC, w, ldw,
		    acc ? 1.0f : 0.0f, dinp, IC);
	if (dw != NULL)
		nn_gemm(ctx, 1, 0, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f,
		    dw, ldw);
	if (db != NULL) {
		int nt = N < 256 ? 1 : ctx->nthreads;

		/* rows split across threads, each summing whole rows into
		 * its own partial (contiguous, vectorised), then added */
#pragma omp parallel num_threads(nt)
		{
			long lo, hi;
			float part[OC];

			nn_split(N, nt, omp_get_thread_num(), &lo, &hi);
			colsum_rows(part, dout + lo * OC, hi - lo, OC);
			/* added in thread order: the sum is reproducible */
#pragma omp for ordered schedule(static, 1)
			for (int t = 0; t < nt; t++) {
#pragma omp ordered
				for (int c = 0; c < OC; c++)
					db[c] += part[c];
			}
		}
	}
}

int
nn_attn_bias_index(int *idx, int RH, int RW)
{
	int T = RH * RW, nofs = 0;
	int id[RH * RW];	/* offset (di, dj) -> index, -1 unseen */

	for (int i = 0; i < T; i++)
		id[i] = -1;
	for (int p1 = 0; p1 < T; p1++)
		for (int p2 = 0; p2 < T; p2++) {
			int di = abs(p1 / RW - p2 / RW);
			int dj = abs(p1 % RW - p2 % RW);
			int *o = &id[di * RW + dj];

			if (*o < 0)
				*o = nofs++;
			idx[p1 * T + p2] = *o;
		}
	return nofs;
}

/* One (batch, head): out_i = softmax_j(q_i.k_j s + bias_ij) v_j. */
static inline __attribute__((always_inline)) void
attn_fwd_bh(float *restrict out, float *restrict att,
    const float *restrict qkv, const float *restrict bias,
    const int *restrict idx, int T, int C, int hd, float scale)
{
	int ld = 3 * C;
	float kt[hd * T];

	for (int j = 0; j < T; j++)
		for (int d = 0; d < hd; d++)
			kt[d * T + j] = qkv[(size_t)j * ld + hd + d];
	for (int i = 0; i < T; i++) {
		const float *q = qkv + (size_t)i * ld;
		float *a = att + (size_t)i * T, mx, s = 0;

		memset(a, 0, sizeof(float) * T);
		for (int d = 0; d < hd; d++) {
			float qd = q[d] * scale;
			const float *kr = kt + d * T;
#pragma omp simd
			for (int j = 0; j < T; j++)
				a[j] += qd * kr[j];
		}
		if (bias != NULL)
			for (int j = 0; j < T; j++)
				a[j] += bias[idx[i * T + j]];
		mx = a[0];
#pragma omp simd reduction(max:mx)
		for (int j = 1; j < T; j++)
			mx = a[j] > mx ? a[j] : mx;
#pragma omp simd reduction(+:s)
		for (int j = 0; j < T; j++) {
			a[j] = exp_nonpos(a[j] - mx);
			s += a[j];
		}
		s = 1.0f / s;
		float *o = out + (size_t)i * C;
		memset(o, 0, sizeof(float) * hd);
		for (int j = 0; j < T; j++) {
			const float *v = qkv + (size_t)j * ld + 2 * hd;

			a[j] *= s;
#pragma omp simd
			for (int d = 0; d < hd; d++)
				o[d] += a[j] * v[d];
		}
	}
}

/* The (batch, head) kernels, with T = 16 tokens and head dim 8 (the
 * reference models' 4x4 maps) as constants so every loop has a fixed trip
 * count and unrolls into whole AVX registers; other shapes take the
 * generic copy. */
static NN_SIMD void
attn_fwd_one(float *restrict out, float *restrict att,
    const float *restrict qkv, const float *restrict bias,
    const int *restrict idx, int T, int C, int hd, float scale)
{
	if (T == 16 && hd == 8)
		attn_fwd_bh(out, att, qkv, bias, idx, 16, C, 8, scale);
	else
		attn_fwd_bh(out, att, qkv, bias, idx, T, C, hd, scale);
}

void
nn_attention_forward(float *out, float *att, const float *qkv,
    const float *bias, const int *idx, int nofs, int B, int T, int C, int NH)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);

#pragma omp parallel for schedule(static)
	for (int bh = 0; bh < B * NH; bh++) {
		int b = bh / NH, h = bh % NH;

		attn_fwd_one(out + (size_t)b * T * C + h * hd,
		    att + (size_t)bh * T * T,
		    qkv + (size_t)b * T * 3 * C + h * 3 * hd,
		    bias != NULL ? bias + (size_t)h * nofs : NULL, idx, T, C, hd,
		    scale);
	}
}

/* One (batch, head) backward; dbias (nofs) += for this head. */
static inline __attribute__((always_inline)) void
attn_bwd_bh(float *restrict dqkv, float *restrict dbias,
    const float *restrict g, const float *restrict qkv,
    const float *restrict att, const int *restrict idx, int T, int C,
    int hd, float scale)
{
	int ld = 3 * C;
	float vt[hd * T], ds[T * T];

	for (int j = 0; j < T; j++)
		for (int d = 0; d < hd; d++)
			vt[d * T + j] = qkv[(size_t)j * ld + 2 * hd + d];
	for (int i = 0; i < T; i++) {
		const float *gi = g + (size_t)i * C, *a = att + (size_t)i * T;
		float *dr = ds + i * T, dot = 0;

		/* datt_ij = g_i . v_j;  dv_j += a_ij g_i */
		memset(dr, 0, sizeof(float) * T);
		for (int d = 0; d < hd; d++) {
			float gd = gi[d];
			const float *vr = vt + d * T;
#pragma omp simd
			for (int j = 0; j < T; j++)
				dr[j] += gd * vr[j];
		}
		for (int j = 0; j < T; j++) {
			float *dv = dqkv + (size_t)j * ld + 2 * hd;
#pragma omp simd
			for (int d = 0; d < hd; d++)
				dv[d] += a[j] * gi[d];
		}
		/* softmax backward: ds_ij = a_ij (datt_ij - sum_j a datt) */
#pragma omp simd reduction(+:dot)
		for (int j = 0; j < T; j++)
			dot += a[j] * dr[j];
#pragma omp simd
		for (int j = 0; j < T; j++)
			dr[j] = a[j] * (dr[j] - dot);
		if (dbias != NULL)
			for (int j = 0; j < T; j++)
				dbias[idx[i * T + j]] += dr[j];
	}
	/* dq_i += s sum_j ds_ij k_j;  dk_j += s sum_i ds_ij q_i */
	for (int i = 0; i < T; i++) {
		float *dq = dqkv + (size_t)i * ld;
		const float *q = qkv + (size_t)i * ld;

		for (int j = 0; j < T; j++) {
			float w = ds[i * T + j] * scale;
			const float *k = qkv + (size_t)j * ld + hd;
			float *dk = dqkv + (size_t)j * ld + hd;
#pragma omp simd
			for (int d = 0; d < hd; d++) {
				dq[d] += w * k[d];
				dk[d] += w * q[d];
			}
		}
	}
}

static NN_SIMD void
attn_bwd_one(float *restrict dqkv, float *restrict dbias,
    const float *restrict g, const float *restrict qkv,
    const float *restrict att, const int *restrict idx, int T, int C,
    int hd, float scale)
{
	if (T == 16 && hd == 8)
		attn_bwd_bh(dqkv, dbias, g, qkv, att, idx, 16, C, 8, scale);
	else
		attn_bwd_bh(dqkv, dbias, g, qkv, att, idx, T, C, hd, scale);
}

void
nn_attention_backward(float *dqkv, float *dbias, const float *dout,
    const float *qkv, const float *att, const int *idx, int nofs, int B,
    int T, int C, int NH)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);

#pragma omp parallel
	{
		/* per-thread bias gradient: NH x nofs floats (8 x 16 here) */
		float part[dbias != NULL ? NH * nofs : 1];

		if (dbias != NULL)
			memset(part, 0, sizeof(float) * NH * nofs);
#pragma omp for schedule(static)
		for (int bh = 0; bh < B * NH; bh++) {
			int b = bh / NH, h = bh % NH;

			attn_bwd_one(dqkv + (size_t)b * T * 3 * C + h * 3 * hd,
			    dbias != NULL ? part + h * nofs : NULL,
			    dout + (size_t)b * T * C + h * hd,
			    qkv + (size_t)b * T * 3 * C + h * 3 * hd,
			    att + (size_t)bh * T * T, idx, T, C, hd, scale);
		}
		if (dbias != NULL) {
			int nt = omp_get_num_threads();

			/* added in thread order: the sum is reproducible */
#pragma omp for ordered schedule(static, 1)
			for (int t = 0; t < nt; t++) {
#pragma omp ordered
				for (int i = 0; i < NH * nofs; i++)
					dbias[i] += part[i];
			}
		}
	}
}
