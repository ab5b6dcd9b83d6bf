/*
 * ops_conv.c - 2-D convolution, forward and backward, NHWC activations and
 * OIHW weights at their maximum shape (ops.h, doc/nn.md).
 *
 * Three hand paths and one oneDNN path (and, for inference, the
 * pointwise and depthwise hand paths fused with the batch norm that
 * follows them: nn_conv2d_bn_infer, at the end of the file):
 *  - pointwise (1x1, stride 1, no padding, groups 1): the NHWC input is
 *    already the (B*H*W, IC) GEMM operand, so the conv is one GEMM against
 *    the weight block w[:OC,:IC] (row stride ICmax), no copy;
 *  - depthwise: a direct loop per image, vectorised across channels (NHWC
 *    keeps a pixel's channels contiguous), weights transposed per call into
 *    tap-major order (KH*KW*C floats of workspace);
 *  - everything else: im2col per group in (ic, kh, kw) order, which is
 *    OIHW's row order, so the GEMM reads w[:OC,:IC*KH*KW] in place;
 *  - oneDNN: NHWC src/dst, weights described with their real (strided)
 *    layout and reordered per call into the primitive's preferred format;
 *    its weight gradient is reordered back with a sum post-op (+=), its
 *    data gradient computed into the workspace and added.
 *
 * Elastic width: IC <= cv->IC, OC <= cv->OC for groups 1; depthwise takes
 * IC == OC <= cv->IC; other grouped convs run at full width only.
 */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ops.h"
#include "nn/ops_impl.h"

enum { K_PW, K_DW, K_GEN };

size_t
nn_conv2d_nweights(const nn_conv2d *cv)
{
	return (size_t)cv->OC * (cv->IC / cv->groups) * cv->KH * cv->KW;
}

int
nn_conv2d_out_hw(const nn_conv2d *cv, int H, int *OH)
{
	*OH = (H + 2 * cv->pad - cv->KH) / cv->stride + 1;
	return *OH;
}

static int
conv_check(const nn_conv2d *cv, int B, int H, int W, int IC, int OC,
    int *kind, h4h_err *err)
{
	int g = cv->groups;

	if (cv->IC < 1 || cv->OC < 1 || cv->KH < 1 || cv->KW < 1 ||
	    cv->stride < 1 || cv->pad < 0 || g < 1)
		return h4h_errf(err, H4H_EINPUT, "nn: conv2d: bad layer "
		    "(IC %d OC %d kernel %dx%d stride %d pad %d groups %d)",
		    cv->IC, cv->OC, cv->KH, cv->KW, cv->stride, cv->pad, g);
	if (cv->IC % g != 0 || cv->OC % g != 0)
		return h4h_errf(err, H4H_EINPUT, "nn: conv2d: groups %d must "
		    "divide IC %d and OC %d", g, cv->IC, cv->OC);
	if (B < 1 || H < 1 || W < 1 || H + 2 * cv->pad < cv->KH ||
	    W + 2 * cv->pad < cv->KW)
		return h4h_errf(err, H4H_EINPUT, "nn: conv2d: bad input shape "
		    "%dx%dx%d for a %dx%d kernel", B, H, W, cv->KH, cv->KW);
	if (IC < 1 || IC > cv->IC || OC < 1 || OC > cv->OC)
		return h4h_errf(err, H4H_EINPUT, "nn: conv2d: active widths "
		    "%d->%d outside the layer's %d->%d", IC, OC, cv->IC, cv->OC);
	if (g > 1 && g == cv->IC && g == cv->OC) {
		if (IC != OC)
			return h4h_errf(err, H4H_EINPUT, "nn: conv2d: depthwise "
			    "needs equal active widths (got %d->%d)", IC, OC);
		*kind = K_DW;
		return 0;
	}
	if (g > 1 && (IC != cv->IC || OC != cv->OC))
		return h4h_errf(err, H4H_EINPUT, "nn: conv2d: grouped conv "
		    "(groups %d) runs at full width only (got %d->%d of "
		    "%d->%d)", g, IC, OC, cv->IC, cv->OC);
	*kind = (cv->KH == 1 && cv->KW == 1 && cv->stride == 1 &&
	    cv->pad == 0 && g == 1) ? K_PW : K_GEN;
	return 0;
}

/*
 * The implementation a conv runs.  NN_IMPL_AUTO is the measured choice
 * (bench/bench_nn_ops, doc/nn.md): oneDNN's JIT kernels for depthwise and
 * kxk convs, and for pointwise convs on feature maps; OpenBLAS for a
 * pointwise conv on 1x1 maps (a linear layer in disguise, e.g. the
 * MBPool head), where oneDNN picks a kernel 2.5x slower than one GEMM.
 */
static int
impl_of(const nn_ctx *ctx, const nn_conv2d *cv, int kind, long HW)
{
	int op = kind == K_PW ? NN_OP_CONV_PW :
	    kind == K_DW ? NN_OP_CONV_DW : NN_OP_CONV;
	int v = cv->impl != NN_IMPL_AUTO ? cv->impl : ctx->impl[op];

	if (v != NN_IMPL_AUTO)
		return v;
	if (kind == K_PW)
		return HW > 1 ? NN_IMPL_DNNL : NN_IMPL_HAND;
	return NN_IMPL_DNNL;
}

/* ---- hand paths ------------------------------------------------------- */

/* Fills each of M rows of out (ldo) with b[:OC]. */
static NN_SIMD void
fill_rows(float *restrict out, const float *restrict b, long M, int OC,
    int ldo)
{
	for (long m = 0; m < M; m++) {
		float *o = out + m * ldo;
#pragma omp simd
		for (int c = 0; c < OC; c++)
			o[c] = b[c];
	}
}

static void
fill_rows_par(const nn_ctx *ctx, float *out, const float *b, long M, int OC,
    int ldo)
{
#pragma omp parallel for num_threads(ctx->nthreads) schedule(static)
	for (int t = 0; t < ctx->nthreads; t++) {
		long lo, hi;

		nn_split(M, ctx->nthreads, t, &lo, &hi);
		fill_rows(out + lo * ldo, b, hi - lo, OC, ldo);
	}
}

/* part[0..C) = sum over M rows of g (ldg). */
static NN_SIMD void
colsum(float *restrict part, const float *restrict g, long M, int C, int ldg)
{
	memset(part, 0, sizeof(float) * C);
	for (long m = 0; m < M; m++) {
		const float *r = g + m * ldg;
#pragma omp simd
		for (int c = 0; c < C; c++)
			part[c] += r[c];
	}
}

/* db[:C] += column sums of g (M rows, ldg); ws holds nthreads*C floats. */
static void
colsum_acc(const nn_ctx *ctx, float *db, const float *g, long M, int C,
    int ldg, float *ws)
{
	int nt = ctx->nthreads;

#pragma omp parallel for num_threads(nt) schedule(static)
	for (int t = 0; t < nt; t++) {
		long lo, hi;

		nn_split(M, nt, t, &lo, &hi);
		colsum(ws + (size_t)t * C, g + lo * ldg, hi - lo, C, ldg);
	}
	for (int t = 0; t < nt; t++)
		for (int c = 0; c < C; c++)
			db[c] += ws[(size_t)t * C + c];
}

/* One image: col (OH*OW, ICg*KH*KW) from in (H,W,C) channels c0..c0+ICg. */
static NN_SIMD void
im2col_img(float *restrict col, const float *restrict in, int H, int W,
    int C, int c0, int ICg, const nn_conv2d *cv, int OH, int OW)
{
	int KK = cv->KH * cv->KW, K = ICg * KK;

	for (int oh = 0; oh < OH; oh++)
		for (int ow = 0; ow < OW; ow++) {
			float *row = col + (size_t)(oh * OW + ow) * K;

			for (int kh = 0; kh < cv->KH; kh++) {
				int ih = oh * cv->stride - cv->pad + kh;

				for (int kw = 0; kw < cv->KW; kw++) {
					int iw = ow * cv->stride - cv->pad + kw;
					float *r = row + kh * cv->KW + kw;

					if (ih < 0 || ih >= H || iw < 0 ||
					    iw >= W) {
						for (int ic = 0; ic < ICg; ic++)
							r[ic * KK] = 0.0f;
						continue;
					}
					const float *x = in +
					    ((size_t)ih * W + iw) * C + c0;
					for (int ic = 0; ic < ICg; ic++)
						r[ic * KK] = x[ic];
				}
			}
		}
}

/* The adjoint of im2col_img: din (H,W,C) channels c0.. += col. */
static NN_SIMD void
col2im_img(float *restrict din, const float *restrict col, int H, int W,
    int C, int c0, int ICg, const nn_conv2d *cv, int OH, int OW)
{
	int KK = cv->KH * cv->KW, K = ICg * KK;

	for (int oh = 0; oh < OH; oh++)
		for (int ow = 0; ow < OW; ow++) {
			const float *row = col + (size_t)(oh * OW + ow) * K;

			for (int kh = 0; kh < cv->KH; kh++) {
				int ih = oh * cv->stride - cv->pad + kh;

				if (ih < 0 || ih >= H)
					continue;
				for (int kw = 0; kw < cv->KW; kw++) {
					int iw = ow * cv->stride - cv->pad + kw;
					const float *r = row + kh * cv->KW + kw;

					if (iw < 0 || iw >= W)
						continue;
					float *x = din +
					    ((size_t)ih * W + iw) * C + c0;
					for (int ic = 0; ic < ICg; ic++)
						x[ic] += r[ic * KK];
				}
			}
		}
}

static void
im2col_par(const nn_ctx *ctx, float *col, const float *in, int B, int H,
    int W, int C, int c0, int ICg, const nn_conv2d *cv, int OH, int OW)
{
	size_t img = (size_t)OH * OW * ICg * cv->KH * cv->KW;

#pragma omp parallel for num_threads(ctx->nthreads) schedule(static)
	for (int n = 0; n < B; n++)
		im2col_img(col + n * img, in + (size_t)n * H * W * C, H, W, C,
		    c0, ICg, cv, OH, OW);
}

static void
col2im_par(const nn_ctx *ctx, float *din, const float *col, int B, int H,
    int W, int C, int c0, int ICg, const nn_conv2d *cv, int OH, int OW)
{
	size_t img = (size_t)OH * OW * ICg * cv->KH * cv->KW;

#pragma omp parallel for num_threads(ctx->nthreads) schedule(static)
	for (int n = 0; n < B; n++)
		col2im_img(din + (size_t)n * H * W * C, col + n * img, H, W, C,
		    c0, ICg, cv, OH, OW);
}

/* Adds the depthwise taps of output pixel (oh, ow) into o (C floats), in
 * the order both depthwise forwards share (so their floats agree);
 * inlined into each one's clones. */
static inline __attribute__((always_inline)) void
dw_taps(float *restrict o, const float *restrict in,
    const float *restrict wt, int H, int W, int C, const nn_conv2d *cv,
    int oh, int ow)
{
	for (int kh = 0; kh < cv->KH; kh++) {
		int ih = oh * cv->stride - cv->pad + kh;

		if (ih < 0 || ih >= H)
			continue;
		for (int kw = 0; kw < cv->KW; kw++) {
			int iw = ow * cv->stride - cv->pad + kw;

			if (iw < 0 || iw >= W)
				continue;
			const float *x = in + ((size_t)ih * W + iw) * C;
			const float *wk = wt + (size_t)(kh * cv->KW + kw) * C;
#pragma omp simd
			for (int c = 0; c < C; c++)
				o[c] += x[c] * wk[c];
		}
	}
}

/* Depthwise, one image: out (OH,OW,C) = dw(in (H,W,C), wt (KK, C)) + b. */
static NN_SIMD void
dw_fwd_img(float *restrict out, const float *restrict in,
    const float *restrict wt, const float *restrict b, int H, int W, int C,
    const nn_conv2d *cv, int OH, int OW)
{
	for (int oh = 0; oh < OH; oh++)
		for (int ow = 0; ow < OW; ow++) {
			float *o = out + ((size_t)oh * OW + ow) * C;

			if (b != NULL) {
#pragma omp simd
				for (int c = 0; c < C; c++)
					o[c] = b[c];
			} else {
				memset(o, 0, sizeof(float) * C);
			}
			dw_taps(o, in, wt, H, W, C, cv, oh, ow);
		}
}

/* Depthwise + eval-mode BN (+ hswish), one image: dw_fwd_img's sums in
 * its order into y (C floats of scratch), then normalised into out: the
 * conv output never leaves the cache. */
static NN_SIMD void
dw_bn_img(float *restrict out, float *restrict y, const float *restrict in,
    const float *restrict wt, const float *restrict a,
    const float *restrict c0, int H, int W, int C, const nn_conv2d *cv,
    int OH, int OW, int act)
{
	for (int oh = 0; oh < OH; oh++)
		for (int ow = 0; ow < OW; ow++) {
			float *o = y;

			memset(o, 0, sizeof(float) * C);
			dw_taps(o, in, wt, H, W, C, cv, oh, ow);
			nn_bn_infer_rows(out + ((size_t)oh * OW + ow) * C, o, a,
			    c0, 1, C, act);
		}
}

/* Depthwise backward, one image: din += ..., dwt (KK, C) += ..., db += ...
 * (din, db may be NULL). */
static NN_SIMD void
dw_bwd_img(float *restrict din, float *restrict dwt, float *restrict db,
    const float *restrict g, const float *restrict in,
    const float *restrict wt, int H, int W, int C, const nn_conv2d *cv,
    int OH, int OW)
{
	for (int oh = 0; oh < OH; oh++)
		for (int ow = 0; ow < OW; ow++) {
			const float *go = g + ((size_t)oh * OW + ow) * C;

			if (db != NULL) {
#pragma omp simd
				for (int c = 0; c < C; c++)
					db[c] += go[c];
			}
			for (int kh = 0; kh < cv->KH; kh++) {
				int ih = oh * cv->stride - cv->pad + kh;

				if (ih < 0 || ih >= H)
					continue;
				for (int kw = 0; kw < cv->KW; kw++) {
					int iw = ow * cv->stride - cv->pad + kw;

					if (iw < 0 || iw >= W)
						continue;
					size_t kk = (size_t)(kh * cv->KW + kw);
					size_t px = ((size_t)ih * W + iw) * C;
					const float *x = in + px;
					const float *wk = wt + kk * C;
					float *dk = dwt + kk * C;

					if (dwt != NULL) {
#pragma omp simd
						for (int c = 0; c < C; c++)
							dk[c] += go[c] * x[c];
					}
					if (din == NULL)
						continue;
					float *dx = din + px;
#pragma omp simd
					for (int c = 0; c < C; c++)
						dx[c] += go[c] * wk[c];
				}
			}
		}
}

static size_t
hand_ws(const nn_ctx *ctx, const nn_conv2d *cv, int kind, int B, int OH,
    int OW, int IC, int OC)
{
	size_t KK = (size_t)cv->KH * cv->KW, nt = ctx->nthreads;
	size_t M = (size_t)B * OH * OW;
	size_t bias = nt * OC;

	switch (kind) {
	case K_PW:
		return sizeof(float) * bias;
	case K_DW:
		return sizeof(float) * (KK * IC + nt * (KK + 1) * IC + bias);
	default:
		return sizeof(float) * (2 * M * (IC / cv->groups) * KK + bias);
	}
}

/*
 * Rows of one GEMM call done per block: the BN (+ hswish) pass reads the
 * block while it is still in cache instead of a whole (B*OH*OW, OC) tensor
 * back from memory.  OpenBLAS's result for a row depends on where the row
 * sits in its call (the kernel takes rows in tiles, 12 on Zen, and the
 * last ones in smaller tiles), so the blocks start where nn_gemm's call
 * starts, are a multiple of 48 rows (every tile size up to 16 divides
 * it) and the last ends where that call ends: each row is computed as in
 * nn_gemm, bit for bit.  tests/check_nn_supernet.c holds the fused
 * forward to the reference one.
 */
#define FUSED_ROWS 240

/* nn_conv2d_bn_infer's workspace: the hand path's, the BN's a and c0,
 * then per thread a block of conv output (*per floats each). */
static size_t
fused_ws(const nn_ctx *ctx, const nn_conv2d *cv, int kind, int B, int OH,
    int OW, int IC, int OC, size_t *per)
{
	*per = nn_round(sizeof(float) * (kind == K_DW ? (size_t)IC :
	    (size_t)FUSED_ROWS * OC)) / sizeof(float);
	return nn_round(hand_ws(ctx, cv, kind, B, OH, OW, IC, OC)) +
	    2 * nn_round(sizeof(float) * OC) + sizeof(float) *
	    (size_t)ctx->nthreads * *per;
}

static void
hand_forward(nn_ctx *ctx, const nn_conv2d *cv, int kind, float *out,
    const float *inp, const float *w, const float *b, int B, int H, int W,
    int IC, int OC, int OH, int OW, float *ws)
{
	int KK = cv->KH * cv->KW, g = cv->groups;
	int ldw = (cv->IC / g) * KK;
	long M = (long)B * OH * OW;

	if (kind == K_PW) {
		if (b != NULL)
			fill_rows_par(ctx, out, b, M, OC, OC);
		nn_gemm(ctx, 0, 1, (int)M, OC, IC, 1.0f, inp, IC, w, ldw,
		    b != NULL ? 1.0f : 0.0f, out, OC);
		return;
	}
	if (kind == K_DW) {
		float *wt = ws;

		for (int c = 0; c < IC; c++)
			for (int k = 0; k < KK; k++)
				wt[(size_t)k * IC + c] = w[(size_t)c * KK + k];
#pragma omp parallel for num_threads(ctx->nthreads) schedule(static)
		for (int n = 0; n < B; n++)
			dw_fwd_img(out + (size_t)n * OH * OW * IC,
			    inp + (size_t)n * H * W * IC, wt, b, H, W, IC, cv,
			    OH, OW);
		return;
	}
	int ICg = IC / g, OCg = OC / g, Kg = ICg * KK;

	if (b != NULL)
		fill_rows_par(ctx, out, b, M, OC, OC);
	for (int gi = 0; gi < g; gi++) {
		im2col_par(ctx, ws, inp, B, H, W, IC, gi * ICg, ICg, cv, OH,
		    OW);
		nn_gemm(ctx, 0, 1, (int)M, OCg, Kg, 1.0f, ws, Kg,
		    w + (size_t)gi * OCg * ldw, ldw, b != NULL ? 1.0f : 0.0f,
		    out + gi * OCg, OC);
	}
}

/* acc = 0 overwrites dinp: the pointwise GEMM with beta 0, depthwise by
 * zeroing each image inside the parallel loop, im2col's col2im after one
 * memset. */
static void
hand_backward(nn_ctx *ctx, const nn_conv2d *cv, int kind, float *dinp,
    float *dw, float *db, const float *dout, const float *inp,
    const float *w, int B, int H, int W, int IC, int OC, int OH, int OW,
    int acc, float *ws)
{
	int KK = cv->KH * cv->KW, g = cv->groups, nt = ctx->nthreads;
	int ldw = (cv->IC / g) * KK;
	long M = (long)B * OH * OW;

	if (kind == K_PW) {
		if (dinp != NULL)
			nn_gemm(ctx, 0, 0, (int)M, IC, OC, 1.0f, dout, OC, w,
			    ldw, acc ? 1.0f : 0.0f, dinp, IC);
		if (dw != NULL)
			nn_gemm(ctx, 1, 0, OC, IC, (int)M, 1.0f, dout, OC, inp,
			    IC, 1.0f, dw, ldw);
		if (db != NULL)
			colsum_acc(ctx, db, dout, M, OC, OC, ws);
		return;
	}
	if (kind == K_DW) {
		int C = IC;
		float *wt = ws, *part = ws + (size_t)KK * C;
		size_t psz = (size_t)(KK + 1) * C;

		for (int c = 0; c < C; c++)
			for (int k = 0; k < KK; k++)
				wt[(size_t)k * C + c] = w[(size_t)c * KK + k];
		memset(part, 0, sizeof(float) * psz * nt);
#pragma omp parallel num_threads(nt)
		{
			int t = omp_get_thread_num();
			float *pw = part + t * psz;

#pragma omp for schedule(static)
			for (int n = 0; n < B; n++) {
				if (dinp != NULL && !acc)
					memset(dinp + (size_t)n * H * W * C, 0,
					    sizeof(float) * H * W * C);
				dw_bwd_img(dinp != NULL ? dinp +
				    (size_t)n * H * W * C : NULL,
				    dw != NULL ? pw : NULL,
				    db != NULL ? pw + (size_t)KK * C : NULL,
				    dout + (size_t)n * OH * OW * C,
				    inp + (size_t)n * H * W * C, wt, H, W, C, cv,
				    OH, OW);
			}
		}
		for (int t = 0; t < nt; t++) {
			const float *pw = part + t * psz;

			for (int c = 0; c < C; c++) {
				for (int k = 0; k < KK && dw != NULL; k++)
					dw[(size_t)c * KK + k] +=
					    pw[(size_t)k * C + c];
				if (db != NULL)
					db[c] += pw[(size_t)KK * C + c];
			}
		}
		return;
	}
	int ICg = IC / g, OCg = OC / g, Kg = ICg * KK;
	float *col = ws, *dcol = ws + (size_t)M * Kg;

	if (dinp != NULL && !acc)
		memset(dinp, 0, sizeof(float) * B * H * W * IC);
	for (int gi = 0; gi < g; gi++) {
		const float *wg = w + (size_t)gi * OCg * ldw;

		if (dw != NULL) {
			im2col_par(ctx, col, inp, B, H, W, IC, gi * ICg, ICg, cv,
			    OH, OW);
			nn_gemm(ctx, 1, 0, OCg, Kg, (int)M, 1.0f,
			    dout + gi * OCg, OC, col, Kg, 1.0f,
			    dw + (size_t)gi * OCg * ldw, ldw);
		}
		if (dinp == NULL)
			continue;
		nn_gemm(ctx, 0, 0, (int)M, Kg, OCg, 1.0f, dout + gi * OCg, OC,
		    wg, ldw, 0.0f, dcol, Kg);
		col2im_par(ctx, dinp, dcol, B, H, W, IC, gi * ICg, ICg, cv, OH,
		    OW);
	}
	if (db != NULL)
		colsum_acc(ctx, db, dout, M, OC, OC, dcol + (size_t)M * Kg);
}

/* ---- oneDNN path ------------------------------------------------------ */

typedef struct dconv {
	dnnl_primitive_t fwd, bwdd, bwdw;
	dnnl_primitive_t r_fwd, r_bwdd;	/* user weights -> primitive's */
	dnnl_primitive_t r_dw;		/* primitive's diff weights += user */
	dnnl_memory_t src, dst, wuser, bias, dsrc, ddst, dwuser, dbias;
	dnnl_memory_t wfwd, wbwdd, dwprim;	/* owned buffers (or aliases) */
	dnnl_memory_t sp_fwd, sp_bwdd, sp_bwdw;
	int OC;
	float *dbias_buf;
} dconv;

static void
dconv_free(void *p)
{
	dconv *d = p;
	dnnl_primitive_t *pr[] = { &d->fwd, &d->bwdd, &d->bwdw, &d->r_fwd,
	    &d->r_bwdd, &d->r_dw };
	dnnl_memory_t *mm[] = { &d->src, &d->dst, &d->wuser, &d->bias,
	    &d->dsrc, &d->ddst, &d->dwuser, &d->dbias, &d->wfwd, &d->wbwdd,
	    &d->dwprim, &d->sp_fwd, &d->sp_bwdd, &d->sp_bwdw };

	if (d == NULL)
		return;
	for (size_t i = 0; i < sizeof pr / sizeof pr[0]; i++)
		if (*pr[i] != NULL)
			dnnl_primitive_destroy(*pr[i]);
	for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++)
		if (*mm[i] != NULL)
			dnnl_memory_destroy(*mm[i]);
	free(d->dbias_buf);
	free(d);
}

static void
conv_key(nn_key *k, const nn_conv2d *cv, int B, int H, int W, int IC, int OC)
{
	memset(k, 0, sizeof *k);
	k->d[0] = 1;
	k->d[1] = B;
	k->d[2] = H;
	k->d[3] = W;
	k->d[4] = IC;
	k->d[5] = OC;
	k->d[6] = cv->IC;
	k->d[7] = cv->OC;
	k->d[8] = cv->KH;
	k->d[9] = cv->KW;
	k->d[10] = cv->stride;
	k->d[11] = cv->pad;
	k->d[12] = cv->groups;
	k->d[13] = cv->bias;
}

/* A memory object over `md`, library-allocated when own, else no buffer. */
static dnnl_status_t
mem_new(dnnl_memory_t *m, const dnnl_memory_desc_t *md, dnnl_engine_t eng,
    int own)
{
	return dnnl_memory_create(m, md, eng,
	    own ? DNNL_MEMORY_ALLOCATE : DNNL_MEMORY_NONE);
}

/* Reorder primitive from src md to dst md (sum: dst += src). */
static dnnl_status_t
reorder_new(dnnl_primitive_t *p, const dnnl_memory_desc_t *s,
    const dnnl_memory_desc_t *d, dnnl_engine_t eng, int sum)
{
	dnnl_primitive_desc_t pd = NULL;
	dnnl_primitive_attr_t attr = NULL;
	dnnl_post_ops_t po = NULL;
	dnnl_status_t st;

	if (sum) {
		if ((st = dnnl_primitive_attr_create(&attr)) != dnnl_success)
			return st;
		if ((st = dnnl_post_ops_create(&po)) != dnnl_success)
			goto out;
		if ((st = dnnl_post_ops_append_sum(po, 1.0f)) != dnnl_success)
			goto out;
		if ((st = dnnl_primitive_attr_set_post_ops(attr, po)) !=
		    dnnl_success)
			goto out;
	}
	st = dnnl_reorder_primitive_desc_create(&pd, s, eng, d, eng, attr);
	if (st == dnnl_success)
		st = dnnl_primitive_create(p, pd);
out:
	if (pd != NULL)
		dnnl_primitive_desc_destroy(pd);
	if (po != NULL)
		dnnl_post_ops_destroy(po);
	if (attr != NULL)
		dnnl_primitive_attr_destroy(attr);
	return st;
}

static int
dconv_create(nn_ctx *ctx, const nn_conv2d *cv, int B, int H, int W, int IC,
    int OC, dconv **out, h4h_err *err)
{
	dnnl_engine_t eng = ctx->eng;
	dnnl_memory_desc_t src_md, dst_md, wu_md, wany_md, b_md;
	dnnl_convolution_desc_t fd, bdd, bwd;
	dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
	dnnl_primitive_attr_t attr = NULL;
	const dnnl_memory_desc_t *q;
	int g = cv->groups, KK = cv->KH * cv->KW, OH, OW, rc = 0;
	int ldw = (cv->IC / g) * KK;
	dnnl_dims_t sd = { B, IC, H, W }, strides = { cv->stride, cv->stride };
	dnnl_dims_t pad = { cv->pad, cv->pad }, padr;
	dconv *d;

	if (g > 1 && g == cv->IC && g == cv->OC)
		g = IC;		/* elastic depthwise: one group per channel */
	OH = (H + 2 * cv->pad - cv->KH) / cv->stride + 1;
	OW = (W + 2 * cv->pad - cv->KW) / cv->stride + 1;
	/* oneDNN wants the right padding that makes the output size exact. */
	padr[0] = (OH - 1) * cv->stride + cv->KH - H - cv->pad;
	padr[1] = (OW - 1) * cv->stride + cv->KW - W - cv->pad;
	dnnl_dims_t dd = { B, OC, OH, OW };
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	d->OC = OC;
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&src_md, 4, sd, dnnl_f32,
	    dnnl_nhwc));
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst_md, 4, dd, dnnl_f32,
	    dnnl_nhwc));
	if (g == 1) {
		dnnl_dims_t wd = { OC, IC, cv->KH, cv->KW };
		dnnl_dims_t ws = { ldw, KK, cv->KW, 1 };

		DNNL_TRY(dnnl_memory_desc_init_by_strides(&wu_md, 4, wd,
		    dnnl_f32, ws));
		DNNL_TRY(dnnl_memory_desc_init_by_tag(&wany_md, 4, wd, dnnl_f32,
		    dnnl_format_tag_any));
	} else {
		int ICg = IC / g, OCg = OC / g;
		dnnl_dims_t wd = { g, OCg, ICg, cv->KH, cv->KW };
		dnnl_dims_t ws = { (dnnl_dim_t)OCg * ldw, ldw, KK, cv->KW, 1 };

		DNNL_TRY(dnnl_memory_desc_init_by_strides(&wu_md, 5, wd,
		    dnnl_f32, ws));
		DNNL_TRY(dnnl_memory_desc_init_by_tag(&wany_md, 5, wd, dnnl_f32,
		    dnnl_format_tag_any));
	}
	dnnl_dims_t bd = { OC };
	DNNL_TRY(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_a));

	DNNL_TRY(dnnl_primitive_attr_create(&attr));
	DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr,
	    dnnl_scratchpad_mode_user));
	DNNL_TRY(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training,
	    dnnl_convolution_direct, &src_md, &wany_md,
	    cv->bias ? &b_md : NULL, &dst_md, strides, pad, padr));
	DNNL_TRY(dnnl_primitive_desc_create(&fpd, &fd, attr, eng, NULL));
	DNNL_TRY(dnnl_convolution_backward_data_desc_init(&bdd,
	    dnnl_convolution_direct, &src_md, &wany_md, &dst_md, strides, pad,
	    padr));
	DNNL_TRY(dnnl_primitive_desc_create(&bdpd, &bdd, attr, eng, fpd));
	DNNL_TRY(dnnl_convolution_backward_weights_desc_init(&bwd,
	    dnnl_convolution_direct, &src_md, &wany_md,
	    cv->bias ? &b_md : NULL, &dst_md, strides, pad, padr));
	DNNL_TRY(dnnl_primitive_desc_create(&bwpd, &bwd, attr, eng, fpd));

	DNNL_TRY(dnnl_primitive_create(&d->fwd, fpd));
	DNNL_TRY(dnnl_primitive_create(&d->bwdd, bdpd));
	DNNL_TRY(dnnl_primitive_create(&d->bwdw, bwpd));

	DNNL_TRY(mem_new(&d->src, &src_md, eng, 0));
	DNNL_TRY(mem_new(&d->dst, &dst_md, eng, 0));
	DNNL_TRY(mem_new(&d->dsrc, &src_md, eng, 0));
	DNNL_TRY(mem_new(&d->ddst, &dst_md, eng, 0));
	DNNL_TRY(mem_new(&d->wuser, &wu_md, eng, 0));
	DNNL_TRY(mem_new(&d->dwuser, &wu_md, eng, 0));
	DNNL_TRY(mem_new(&d->bias, &b_md, eng, 0));
	DNNL_TRY(mem_new(&d->dbias, &b_md, eng, 0));
	d->dbias_buf = calloc(OC, sizeof(float));
	if (d->dbias_buf == NULL) {
		rc = h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
		goto out;
	}

	q = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
	DNNL_TRY(mem_new(&d->wfwd, q, eng, 1));
	DNNL_TRY(reorder_new(&d->r_fwd, &wu_md, q, eng, 0));
	q = dnnl_primitive_desc_query_md(bdpd, dnnl_query_weights_md, 0);
	DNNL_TRY(mem_new(&d->wbwdd, q, eng, 1));
	DNNL_TRY(reorder_new(&d->r_bwdd, &wu_md, q, eng, 0));
	q = dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_weights_md, 0);
	DNNL_TRY(mem_new(&d->dwprim, q, eng, 1));
	DNNL_TRY(reorder_new(&d->r_dw, q, &wu_md, eng, 1));
	q = dnnl_primitive_desc_query_md(fpd, dnnl_query_scratchpad_md, 0);
	DNNL_TRY(mem_new(&d->sp_fwd, q, eng, 1));
	q = dnnl_primitive_desc_query_md(bdpd, dnnl_query_scratchpad_md, 0);
	DNNL_TRY(mem_new(&d->sp_bwdd, q, eng, 1));
	q = dnnl_primitive_desc_query_md(bwpd, dnnl_query_scratchpad_md, 0);
	DNNL_TRY(mem_new(&d->sp_bwdw, q, eng, 1));
out:
	if (fpd != NULL)
		dnnl_primitive_desc_destroy(fpd);
	if (bdpd != NULL)
		dnnl_primitive_desc_destroy(bdpd);
	if (bwpd != NULL)
		dnnl_primitive_desc_destroy(bwpd);
	if (attr != NULL)
		dnnl_primitive_attr_destroy(attr);
	if (rc != 0) {
		dconv_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static int
dconv_get(nn_ctx *ctx, const nn_conv2d *cv, int B, int H, int W, int IC,
    int OC, dconv **out, h4h_err *err)
{
	nn_key k;
	int rc;

	conv_key(&k, cv, B, H, W, IC, OC);
	*out = nn_cache_get(ctx, &k);
	if (*out != NULL)
		return 0;
	if ((rc = dconv_create(ctx, cv, B, H, W, IC, OC, out, err)) != 0)
		return rc;
	if ((rc = nn_cache_put(ctx, &k, *out, dconv_free, err)) != 0) {
		dconv_free(*out);
		*out = NULL;
	}
	return rc;
}

static int
exec(nn_ctx *ctx, dnnl_primitive_t p, int n, const dnnl_exec_arg_t *a,
    h4h_err *err)
{
	int rc = 0;

	DNNL_TRY(dnnl_primitive_execute(p, ctx->strm, n, a));
	DNNL_TRY(dnnl_stream_wait(ctx->strm));
out:
	return rc;
}

/* Two arguments of a reorder. */
static int
reorder_exec(nn_ctx *ctx, dnnl_primitive_t r, dnnl_memory_t s,
    dnnl_memory_t d, h4h_err *err)
{
	dnnl_exec_arg_t a[2] = { { DNNL_ARG_FROM, s }, { DNNL_ARG_TO, d } };

	return exec(ctx, r, 2, a, err);
}

static int
dconv_forward(nn_ctx *ctx, const nn_conv2d *cv, float *out, const float *inp,
    const float *w, const float *b, int B, int H, int W, int IC, int OC,
    h4h_err *err)
{
	dconv *d;
	int rc;

	if ((rc = dconv_get(ctx, cv, B, H, W, IC, OC, &d, err)) != 0)
		return rc;
	dnnl_memory_set_data_handle(d->src, (void *)inp);
	dnnl_memory_set_data_handle(d->dst, out);
	dnnl_memory_set_data_handle(d->wuser, (void *)w);
	if ((rc = reorder_exec(ctx, d->r_fwd, d->wuser, d->wfwd, err)) != 0)
		return rc;
	dnnl_exec_arg_t a[5] = { { DNNL_ARG_SRC, d->src },
	    { DNNL_ARG_WEIGHTS, d->wfwd }, { DNNL_ARG_DST, d->dst },
	    { DNNL_ARG_SCRATCHPAD, d->sp_fwd }, { DNNL_ARG_BIAS, d->bias } };
	if (cv->bias)
		dnnl_memory_set_data_handle(d->bias, (void *)b);
	return exec(ctx, d->fwd, cv->bias ? 5 : 4, a, err);
}

static NN_SIMD void
add_into(float *restrict y, const float *restrict x, size_t n)
{
#pragma omp simd
	for (size_t i = 0; i < n; i++)
		y[i] += x[i];
}

static void
add_into_par(const nn_ctx *ctx, float *y, const float *x, size_t n)
{
#pragma omp parallel for num_threads(ctx->nthreads) schedule(static)
	for (int t = 0; t < ctx->nthreads; t++) {
		long lo, hi;

		nn_split((long)n, ctx->nthreads, t, &lo, &hi);
		add_into(y + lo, x + lo, (size_t)(hi - lo));
	}
}

static int
dconv_backward(nn_ctx *ctx, const nn_conv2d *cv, float *dinp, float *dw,
    float *db, const float *dout, const float *inp, const float *w, int B,
    int H, int W, int IC, int OC, int acc, h4h_err *err)
{
	size_t nin = (size_t)B * H * W * IC;
	float *tmp;
	dconv *d;
	int rc;

	if ((rc = dconv_get(ctx, cv, B, H, W, IC, OC, &d, err)) != 0)
		return rc;
	dnnl_memory_set_data_handle(d->src, (void *)inp);
	dnnl_memory_set_data_handle(d->ddst, (void *)dout);
	if (dinp != NULL) {
		/* overwrite: oneDNN writes the gradient in place */
		tmp = acc ? nn_ws(ctx, nin * sizeof(float)) : dinp;
		if (tmp == NULL)
			return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
		dnnl_memory_set_data_handle(d->wuser, (void *)w);
		dnnl_memory_set_data_handle(d->dsrc, tmp);
		if ((rc = reorder_exec(ctx, d->r_bwdd, d->wuser, d->wbwdd,
		    err)) != 0)
			return rc;
		dnnl_exec_arg_t a[4] = { { DNNL_ARG_DIFF_DST, d->ddst },
		    { DNNL_ARG_WEIGHTS, d->wbwdd },
		    { DNNL_ARG_DIFF_SRC, d->dsrc },
		    { DNNL_ARG_SCRATCHPAD, d->sp_bwdd } };
		if ((rc = exec(ctx, d->bwdd, 4, a, err)) != 0)
			return rc;
		if (acc)
			add_into_par(ctx, dinp, tmp, nin);
	}
	if (dw == NULL && (!cv->bias || db == NULL))
		return 0;	/* frozen: no weight gradient at all */
	dnnl_memory_set_data_handle(d->dbias, d->dbias_buf);
	dnnl_exec_arg_t a[5] = { { DNNL_ARG_SRC, d->src },
	    { DNNL_ARG_DIFF_DST, d->ddst },
	    { DNNL_ARG_DIFF_WEIGHTS, d->dwprim },
	    { DNNL_ARG_SCRATCHPAD, d->sp_bwdw },
	    { DNNL_ARG_DIFF_BIAS, d->dbias } };
	if ((rc = exec(ctx, d->bwdw, cv->bias ? 5 : 4, a, err)) != 0)
		return rc;
	if (dw != NULL) {
		dnnl_memory_set_data_handle(d->dwuser, dw);
		if ((rc = reorder_exec(ctx, d->r_dw, d->dwprim, d->dwuser,
		    err)) != 0)
			return rc;
	}
	if (cv->bias && db != NULL)
		for (int c = 0; c < OC; c++)
			db[c] += d->dbias_buf[c];
	return 0;
}

/* ---- entry points ------------------------------------------------------ */

int
nn_conv2d_impl(const nn_ctx *ctx, const nn_conv2d *cv, int B, int H, int W,
    int IC, int OC)
{
	int kind;

	if (conv_check(cv, B, H, W, IC, OC, &kind, NULL) != 0)
		return -1;
	return impl_of(ctx, cv, kind, (long)H * W);
}

int
nn_conv2d_prepare(nn_ctx *ctx, const nn_conv2d *cv, int B, int H, int W,
    int IC, int OC, h4h_err *err)
{
	int kind, OH, OW, rc;
	size_t per;

	if ((rc = conv_check(cv, B, H, W, IC, OC, &kind, err)) != 0)
		return rc;
	OH = (H + 2 * cv->pad - cv->KH) / cv->stride + 1;
	OW = (W + 2 * cv->pad - cv->KW) / cv->stride + 1;
	if (impl_of(ctx, cv, kind, (long)H * W) == NN_IMPL_DNNL) {
		dconv *d;

		if ((rc = nn_ctx_reserve(ctx, sizeof(float) * B * H * W * IC,
		    err)) != 0)
			return rc;
		return dconv_get(ctx, cv, B, H, W, IC, OC, &d, err);
	}
	/* nn_conv2d_bn_infer's needs, which cover the hand path's */
	return nn_ctx_reserve(ctx, fused_ws(ctx, cv, kind, B, OH, OW, IC, OC,
	    &per), err);
}

int
nn_conv2d_forward(nn_ctx *ctx, const nn_conv2d *cv, float *out,
    const float *inp, const float *w, const float *b, int B, int H, int W,
    int IC, int OC, h4h_err *err)
{
	int kind, OH, OW, rc;
	float *ws;

	if ((rc = conv_check(cv, B, H, W, IC, OC, &kind, err)) != 0)
		return rc;
	if (impl_of(ctx, cv, kind, (long)H * W) == NN_IMPL_DNNL)
		return dconv_forward(ctx, cv, out, inp, w, b, B, H, W, IC, OC,
		    err);
	OH = (H + 2 * cv->pad - cv->KH) / cv->stride + 1;
	OW = (W + 2 * cv->pad - cv->KW) / cv->stride + 1;
	ws = nn_ws(ctx, hand_ws(ctx, cv, kind, B, OH, OW, IC, OC));
	if (ws == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	hand_forward(ctx, cv, kind, out, inp, w, cv->bias ? b : NULL, B, H, W,
	    IC, OC, OH, OW, ws);
	return 0;
}

/* ---- inference: conv + eval-mode BN (+ hswish), fused ------------------- */

int
nn_conv2d_bn_infer(nn_ctx *ctx, const nn_conv2d *cv, const nn_batchnorm *bn,
    float *out, float *y, const float *inp, const float *w,
    const float *gamma, const float *beta, const float *run_mean,
    const float *run_var, int B, int H, int W, int IC, int OC, int act,
    h4h_err *err)
{
	int kind, OH, OW, KK = cv->KH * cv->KW, nt = ctx->nthreads, rc;
	size_t hw, per;
	long M;
	float *ws, *a, *c0, *scr;

	if ((rc = conv_check(cv, B, H, W, IC, OC, &kind, err)) != 0)
		return rc;
	OH = (H + 2 * cv->pad - cv->KH) / cv->stride + 1;
	OW = (W + 2 * cv->pad - cv->KW) / cv->stride + 1;
	M = (long)B * OH * OW;
	if (kind == K_GEN || cv->bias || OC > bn->C || M < OC ||
	    impl_of(ctx, cv, kind, (long)H * W) != NN_IMPL_HAND) {
		/* the reference: two passes */
		if ((rc = nn_conv2d_forward(ctx, cv, y, inp, w, NULL, B, H, W,
		    IC, OC, err)) != 0)
			return rc;
		return (act ? nn_bn_hswish_forward : nn_batchnorm_forward)(ctx,
		    bn, out, NULL, NULL, (float *)run_mean, (float *)run_var, y,
		    gamma, beta, (int)M, OC, NN_BN_INFER, 0, err);
	}
	hw = fused_ws(ctx, cv, kind, B, OH, OW, IC, OC, &per);
	ws = nn_ws(ctx, hw);
	if (ws == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	a = (float *)((char *)ws + nn_round(hand_ws(ctx, cv, kind, B, OH, OW,
	    IC, OC)));
	c0 = a + nn_round(sizeof(float) * OC) / sizeof(float);
	scr = c0 + nn_round(sizeof(float) * OC) / sizeof(float);
	nn_bn_infer_coefs(bn, a, c0, gamma, beta, run_mean, run_var, OC);
	if (kind == K_DW) {
		float *wt = ws;

		hw = (size_t)OH * OW;
		for (int c = 0; c < IC; c++)
			for (int k = 0; k < KK; k++)
				wt[(size_t)k * IC + c] = w[(size_t)c * KK + k];
#pragma omp parallel for num_threads(nt) schedule(static)
		for (int n = 0; n < B; n++) {
			float *yt = scr + (size_t)omp_get_thread_num() * per;

			dw_bn_img(out + (size_t)n * hw * IC, yt, inp +
			    (size_t)n * H * W * IC, wt, a, c0, H, W, IC, cv,
			    OH, OW, act);
		}
		return 0;
	}
	/* pointwise: nn_gemm's split (along M, since M >= OC here) */
	if (nt > M / 16)
		nt = (int)(M / 16);
	if (nt < 1)
		nt = 1;
#pragma omp parallel for num_threads(nt) schedule(static, 1)
	for (int t = 0; t < nt; t++) {
		float *yb = scr + (size_t)t * per;
		long lo, hi;

		nn_split(M, nt, t, &lo, &hi);
		for (long r = lo; r < hi; r += FUSED_ROWS) {
			int n = hi - r < FUSED_ROWS ? (int)(hi - r) :
			    FUSED_ROWS;

			/* beta 1 on zeros: OpenBLAS skips its beta pass
			 * (a slow strided loop over a few channels) and
			 * adds the products to +0, as it does after that
			 * pass zeroes C for beta 0 */
			memset(yb, 0, sizeof(float) * n * OC);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n,
			    OC, IC, 1.0f, inp + r * IC, IC, w, cv->IC, 1.0f,
			    yb, OC);
			nn_bn_infer_rows(out + r * OC, yb, a, c0, n, OC, act);
		}
	}
	return 0;
}

int
nn_conv2d_backward(nn_ctx *ctx, const nn_conv2d *cv, float *dinp,
    float *dw, float *db, const float *dout, const float *inp,
    const float *w, int B, int H, int W, int IC, int OC, h4h_err *err)
{
	return nn_conv2d_backward_ex(ctx, cv, dinp, dw, db, dout, inp, w, B,
	    H, W, IC, OC, 1, err);
}

int
nn_conv2d_backward_ex(nn_ctx *ctx, const nn_conv2d *cv, float *dinp,
    float *dw, float *db, const float *dout, const float *inp,
    const float *w, int B, int H, int W, int IC, int OC, int acc,
    h4h_err *err)
{
	int kind, OH, OW, rc;
	float *ws;

	if ((rc = conv_check(cv, B, H, W, IC, OC, &kind, err)) != 0)
		return rc;
	if (impl_of(ctx, cv, kind, (long)H * W) == NN_IMPL_DNNL)
		return dconv_backward(ctx, cv, dinp, dw, db, dout, inp, w, B, H,
		    W, IC, OC, acc, err);
	OH = (H + 2 * cv->pad - cv->KH) / cv->stride + 1;
	OW = (W + 2 * cv->pad - cv->KW) / cv->stride + 1;
	ws = nn_ws(ctx, hand_ws(ctx, cv, kind, B, OH, OW, IC, OC));
	if (ws == NULL)
		return h4h_errf(err, H4H_ENOMEM, "nn: out of memory");
	hand_backward(ctx, cv, kind, dinp, dw, cv->bias ? db : NULL, dout, inp,
	    w, B, H, W, IC, OC, OH, OW, acc, ws);
	return 0;
}
