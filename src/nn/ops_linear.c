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

void
nn_linear_backward(nn_ctx *ctx, float *dinp, float *dw, float *db,
    const float *dout, const float *inp, const float *w, int N, int IC,
    int OC, int ldw)
{
	if (dinp != NULL)
		nn_gemm(ctx, 0, 0, N, IC, OC, 1.0f, dout, OC, w, ldw, 1.0f,
		    dinp, IC);
	nn_gemm(ctx, 1, 0, OC, IC, N, 1.0f, dout, OC, inp, IC, 1.0f, dw, ldw);
	if (db != NULL) {
#pragma omp parallel for num_threads(ctx->nthreads) schedule(static)
		for (int c = 0; c < OC; c++) {
			float s = 0;

			for (int n = 0; n < N; n++)
				s += dout[(size_t)n * OC + c];
			db[c] += s;
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
static NN_SIMD void
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
		for (int j = 1; j < T; j++)
			mx = a[j] > mx ? a[j] : mx;
		for (int j = 0; j < T; j++) {
			a[j] = expf(a[j] - mx);
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

void
nn_attention_forward(float *out, float *att, const float *qkv,
    const float *bias, const int *idx, int nofs, int B, int T, int C, int NH)
{
	int hd = C / NH;
	float scale = 1.0f / sqrtf((float)hd);

#pragma omp parallel for schedule(static)
	for (int bh = 0; bh < B * NH; bh++) {
		int b = bh / NH, h = bh % NH;

		attn_fwd_bh(out + (size_t)b * T * C + h * hd,
		    att + (size_t)bh * T * T,
		    qkv + (size_t)b * T * 3 * C + h * 3 * hd,
		    bias != NULL ? bias + (size_t)h * nofs : NULL, idx, T, C, hd,
		    scale);
	}
}

/* One (batch, head) backward; dbias (nofs) += for this head. */
static NN_SIMD void
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
		for (int j = 0; j < T; j++)
			dot += a[j] * dr[j];
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

			attn_bwd_bh(dqkv + (size_t)b * T * 3 * C + h * 3 * hd,
			    dbias != NULL ? part + h * nofs : NULL,
			    dout + (size_t)b * T * C + h * hd,
			    qkv + (size_t)b * T * 3 * C + h * 3 * hd,
			    att + (size_t)bh * T * T, idx, T, C, hd, scale);
		}
		if (dbias != NULL) {
#pragma omp critical
			for (int i = 0; i < NH * nofs; i++)
				dbias[i] += part[i];
		}
	}
}
