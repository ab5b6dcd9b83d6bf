/*
 * check_nn_ops.c - the training engine's ops (src/nn/ops*.c).
 *
 * Gradient check: every op's loss is L = sum_i out_i R_i (R fixed random,
 * accumulated in double), the analytic gradient is backward with dout = R
 * into zeroed buffers, and the numeric one a float central difference
 * (L(x+h) - L(x-h)) / ((x+h) - (x-h)) with h = 1e-2.  The ops are linear or
 * smooth in each coordinate at this scale, so truncation error is
 * h^2 f'''/6 ~ 1e-5; the rounding noise of a float forward summed over a
 * few hundred outputs is ~1e-6 in L, ~5e-5 in the quotient.  A coordinate
 * passes when |analytic - numeric| <= 2e-3 + 1e-2 |numeric|, ten times
 * those errors and far below any real bug (a wrong term is O(1) of the
 * gradient).  Piecewise ops get inputs kept 2h away from their kinks.
 *
 * Elastic widths (active < max) are checked three ways: the gradient
 * check itself runs on sliced weights, gradient entries outside the active
 * block must stay exactly 0, and the sliced op must equal the same op on a
 * compact copy of the block.  The oneDNN and hand paths are checked
 * against each other, and small forward cases against hand-computed values.
 */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ctx.h"
#include "nn/ops.h"

#define FD_H 1e-2f
#define FD_ATOL 2e-3
#define FD_RTOL 1e-2
#define NSAMPLE 24

/* A call that must succeed; on failure the message says why. */
#define OK(call) do { \
	int rc_ = (call); \
	ck_assert_msg(rc_ == 0, "%s: %d: %s", #call, rc_, err.msg); \
} while (0)

static float
urand(uint64_t *s)
{
	return 2.0f * nn_sm64_uniform(s) - 1.0f;
}

static float *
rnd_buf(size_t n, uint64_t *s)
{
	float *p = malloc(sizeof(float) * (n ? n : 1));

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = urand(s);
	return p;
}

static float *
zbuf(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));

	ck_assert_ptr_nonnull(p);
	return p;
}

static double
dotd(const float *a, const float *b, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

static nn_ctx *
mkctx(void)
{
	nn_ctx *ctx;
	h4h_err err;

	OK(nn_ctx_create(2, &ctx, &err));
	return ctx;
}

typedef double (*loss_fn)(void *u);

/*
 * Central-difference check of grad (n floats) against loss f over x;
 * at most NSAMPLE coordinates, spread over the buffer.  skip(i) (may be
 * NULL) excludes coordinates outside an active slice.
 */
static void
fd_check(const char *what, loss_fn f, void *u, float *x, const float *grad,
    size_t n, int (*skip)(void *, size_t))
{
	size_t step = n > NSAMPLE ? n / NSAMPLE : 1;
	int checked = 0;

	for (size_t i = step / 2; i < n; i += step) {
		if (skip != NULL && skip(u, i))
			continue;
		float x0 = x[i], xp = x0 + FD_H, xm = x0 - FD_H;
		x[i] = xp;
		double lp = f(u);
		x[i] = xm;
		double lm = f(u);
		x[i] = x0;
		double num = (lp - lm) / ((double)xp - xm);
		double e = fabs(num - grad[i]);

		ck_assert_msg(e <= FD_ATOL + FD_RTOL * fabs(num),
		    "%s[%zu]: analytic %.6g numeric %.6g", what, i, grad[i],
		    num);
		checked++;
	}
	ck_assert_msg(checked > 0, "%s: nothing checked", what);
	f(u);			/* leave the outputs of the unperturbed x */
}

/* Every element within tol (relative, floor 1): one Check assertion for
 * the whole array, since each passing ck_assert costs Check an I/O. */
static void
assert_close(const char *what, const float *a, const float *b, size_t n,
    double tol)
{
	size_t bad = n;

	for (size_t i = 0; i < n && bad == n; i++)
		if (!(fabs((double)a[i] - b[i]) <= tol * (1.0 + fabs(b[i]))))
			bad = i;
	ck_assert_msg(bad == n, "%s[%zu]: %.7g vs %.7g", what, bad,
	    bad < n ? a[bad] : 0.0, bad < n ? b[bad] : 0.0);
}

/* ---- conv ----------------------------------------------------------------- */

typedef struct convt {
	nn_ctx *ctx;
	nn_conv2d cv;
	int B, H, W, IC, OC, OH, OW;
	float *x, *w, *b, *out, *R;
} convt;

static size_t
conv_nout(const convt *t)
{
	return (size_t)t->B * t->OH * t->OW * t->OC;
}

static double
conv_loss(void *u)
{
	convt *t = u;
	h4h_err err;

	OK(nn_conv2d_forward(t->ctx, &t->cv, t->out, t->x, t->w,
	    t->b, t->B, t->H, t->W, t->IC, t->OC, &err));
	return dotd(t->out, t->R, conv_nout(t));
}

/* Weight coordinate i outside the active block? */
static int
conv_wskip(void *u, size_t i)
{
	convt *t = u;
	int KK = t->cv.KH * t->cv.KW;
	int ldw = t->cv.IC / t->cv.groups * KK;
	int o = (int)(i / ldw), r = (int)(i % ldw);

	if (t->cv.groups > 1)
		return o >= t->OC;
	return o >= t->OC || r >= t->IC * KK;
}

static void
conv_gradcheck(int impl, nn_conv2d cv, int B, int H, int W, int IC, int OC)
{
	uint64_t s = 42 + impl * 7 + IC * 131 + OC;
	convt t = { mkctx(), cv, B, H, W, IC, OC, 0, 0, 0, 0, 0, 0, 0 };
	size_t nw = nn_conv2d_nweights(&cv), nx = (size_t)B * H * W * IC;
	h4h_err err;
	char what[96];

	OK(nn_ctx_set_impl(t.ctx, NN_OP_CONV_PW, impl, &err));
	OK(nn_ctx_set_impl(t.ctx, NN_OP_CONV_DW, impl, &err));
	OK(nn_ctx_set_impl(t.ctx, NN_OP_CONV, impl, &err));
	nn_conv2d_out_hw(&cv, H, &t.OH);
	nn_conv2d_out_hw(&cv, W, &t.OW);
	OK(nn_conv2d_prepare(t.ctx, &cv, B, H, W, IC, OC, &err));
	t.x = rnd_buf(nx, &s);
	t.w = rnd_buf(nw, &s);
	t.b = rnd_buf(cv.OC, &s);
	t.out = zbuf(conv_nout(&t));
	t.R = rnd_buf(conv_nout(&t), &s);
	float *dx = zbuf(nx), *dw = zbuf(nw), *db = zbuf(cv.OC);

	conv_loss(&t);
	OK(nn_conv2d_backward(t.ctx, &cv, dx, dw, db, t.R, t.x,
	    t.w, B, H, W, IC, OC, &err));
	snprintf(what, sizeof what, "conv impl %d k%d s%d p%d g%d %d->%d "
	    "(max %d->%d)", impl, cv.KH, cv.stride, cv.pad, cv.groups, IC, OC,
	    cv.IC, cv.OC);
	fd_check(what, conv_loss, &t, t.x, dx, nx, NULL);
	fd_check(what, conv_loss, &t, t.w, dw, nw, conv_wskip);
	if (cv.bias) {
		fd_check(what, conv_loss, &t, t.b, db, OC, NULL);
		for (int c = OC; c < cv.OC; c++)
			ck_assert_float_eq(db[c], 0.0f);
	}
	size_t nz = 0;
	for (size_t i = 0; i < nw; i++)
		nz += conv_wskip(&t, i) && dw[i] != 0.0f;
	ck_assert_msg(nz == 0, "%s: %zu dw entries outside the active block "
	    "written", what, nz);
	/* backward accumulates: a second call doubles every gradient */
	float *dx2 = malloc(sizeof(float) * nx);
	memcpy(dx2, dx, sizeof(float) * nx);
	OK(nn_conv2d_backward(t.ctx, &cv, dx, dw, db, t.R, t.x,
	    t.w, B, H, W, IC, OC, &err));
	for (size_t i = 0; i < nx; i++)
		dx2[i] *= 2;
	assert_close("accumulated dx", dx, dx2, nx, 1e-5);
	free(dx2);
	free(dx);
	free(dw);
	free(db);
	free(t.x);
	free(t.w);
	free(t.b);
	free(t.out);
	free(t.R);
	nn_ctx_destroy(t.ctx);
}

static const nn_conv2d conv_cases[] = {
	/* IC OC KH KW s p g bias impl */
	{ 5, 6, 3, 3, 1, 1, 1, 1, 0 },	/* 3x3, elastic below */
	{ 5, 6, 3, 3, 2, 1, 1, 0, 0 },	/* stride 2 */
	{ 1, 4, 3, 3, 2, 1, 1, 1, 0 },	/* the stem: 1 channel in */
	{ 8, 8, 3, 3, 1, 1, 8, 1, 0 },	/* depthwise */
	{ 8, 8, 3, 3, 2, 1, 8, 0, 0 },	/* depthwise stride 2 */
	{ 8, 8, 5, 5, 1, 2, 8, 0, 0 },	/* depthwise 5x5 */
	{ 6, 7, 1, 1, 1, 0, 1, 1, 0 },	/* pointwise */
	{ 6, 7, 1, 1, 2, 0, 1, 0, 0 },	/* 1x1 stride 2 (shortcut) */
	{ 4, 6, 3, 3, 1, 1, 2, 1, 0 },	/* grouped, full width */
	{ 3, 4, 2, 3, 1, 0, 1, 1, 0 },	/* non-square kernel, no padding */
};
#define NCONV ((int)(sizeof conv_cases / sizeof conv_cases[0]))

static void
conv_active(const nn_conv2d *cv, int *IC, int *OC)
{
	if (cv->groups > 1 && cv->groups == cv->IC) {
		*IC = *OC = cv->IC - 3;
	} else if (cv->groups > 1) {
		*IC = cv->IC;
		*OC = cv->OC;
	} else {
		*IC = cv->IC > 1 ? cv->IC - 2 : 1;
		*OC = cv->OC - 1;
	}
}

START_TEST(test_conv_gradcheck)
{
	const nn_conv2d *cv = &conv_cases[_i % NCONV];
	int impl = _i < NCONV ? NN_IMPL_HAND : NN_IMPL_DNNL, IC, OC;

	/* full width, then elastic */
	conv_gradcheck(impl, *cv, 2, 5, 6, cv->IC, cv->OC);
	conv_active(cv, &IC, &OC);
	conv_gradcheck(impl, *cv, 2, 5, 6, IC, OC);
}
END_TEST

/* A sliced conv equals the same conv on a compact copy of the block, and
 * oneDNN agrees with the hand path on a larger shape. */
START_TEST(test_conv_slice_and_impls)
{
	const nn_conv2d *cv = &conv_cases[_i];
	uint64_t s = 7 + _i;
	int IC, OC, OH, OW, B = 3, H = 9, W = 8, KK = cv->KH * cv->KW;
	nn_ctx *ctx = mkctx();
	h4h_err err;

	conv_active(cv, &IC, &OC);
	nn_conv2d_out_hw(cv, H, &OH);
	nn_conv2d_out_hw(cv, W, &OW);
	nn_conv2d small = *cv;
	size_t nw = nn_conv2d_nweights(cv), nx = (size_t)B * H * W * IC;
	size_t no = (size_t)B * OH * OW * OC;
	float *x = rnd_buf(nx, &s), *w = rnd_buf(nw, &s), *b = rnd_buf(cv->OC,
	    &s), *g = rnd_buf(no, &s);

	if (cv->groups == 1 || cv->groups != cv->IC) {
		small.IC = IC;
		small.OC = OC;
	} else {
		small.IC = small.OC = small.groups = IC;
	}
	int ldw = cv->IC / cv->groups * KK, lds = small.IC / small.groups * KK;
	float *wc = zbuf(nn_conv2d_nweights(&small));
	for (int o = 0; o < OC; o++)
		memcpy(wc + (size_t)o * lds, w + (size_t)o * ldw,
		    sizeof(float) * lds);

	float *out[3], *dx[3], *dw[3], *db[3];
	for (int k = 0; k < 3; k++) {
		int impl = k == 2 ? NN_IMPL_DNNL : NN_IMPL_HAND;
		const nn_conv2d *c = k == 1 ? &small : cv;

		out[k] = zbuf(no);
		dx[k] = zbuf(nx);
		dw[k] = zbuf(nw);
		db[k] = zbuf(cv->OC);
		for (int op = 0; op < NN_OP_BN; op++)
			nn_ctx_set_impl(ctx, op, impl, &err);
		OK(nn_conv2d_forward(ctx, c, out[k], x,
		    k == 1 ? wc : w, b, B, H, W, IC, OC, &err));
		OK(nn_conv2d_backward(ctx, c, dx[k], dw[k], db[k],
		    g, x, k == 1 ? wc : w, B, H, W, IC, OC, &err));
	}
	assert_close("slice out", out[0], out[1], no, 1e-5);
	assert_close("dnnl out", out[2], out[0], no, 1e-4);
	assert_close("slice dx", dx[0], dx[1], nx, 1e-5);
	assert_close("dnnl dx", dx[2], dx[0], nx, 1e-4);
	assert_close("dnnl dw", dw[2], dw[0], nw, 1e-4);
	assert_close("dnnl db", db[2], db[0], cv->OC, 1e-4);
	for (int o = 0; o < OC; o++)
		assert_close("slice dw", dw[0] + (size_t)o * ldw,
		    dw[1] + (size_t)o * lds, lds, 1e-5);
	for (int k = 0; k < 3; k++) {
		free(out[k]);
		free(dx[k]);
		free(dw[k]);
		free(db[k]);
	}
	free(x);
	free(w);
	free(wc);
	free(b);
	free(g);
	nn_ctx_destroy(ctx);
}
END_TEST

/* 3x3 on a 4x4 input holding 1..16, worked by hand. */
START_TEST(test_conv_hand_3x3)
{
	nn_ctx *ctx = mkctx();
	nn_conv2d cv = { 1, 1, 3, 3, 1, 1, 1, 0, 0 };
	float x[16], ones[9], right[9] = { 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	float out[16];
	h4h_err err;
	/* sums of the 3x3 neighbourhoods (zero padding) */
	const float want[16] = { 14, 24, 30, 22, 33, 54, 63, 45, 57, 90, 99,
	    69, 46, 72, 78, 54 };

	for (int i = 0; i < 16; i++)
		x[i] = (float)(i + 1);
	for (int i = 0; i < 9; i++)
		ones[i] = 1;
	for (int impl = NN_IMPL_HAND; impl <= NN_IMPL_DNNL; impl++) {
		nn_ctx_set_impl(ctx, NN_OP_CONV, impl, &err);
		OK(nn_conv2d_forward(ctx, &cv, out, x, ones, NULL,
		    1, 4, 4, 1, 1, &err));
		for (int i = 0; i < 16; i++)
			ck_assert_float_eq_tol(out[i], want[i], 1e-5);
		/* cross-correlation, not convolution: w[1][2] reads x[i][j+1] */
		OK(nn_conv2d_forward(ctx, &cv, out, x, right,
		    NULL, 1, 4, 4, 1, 1, &err));
		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++)
				ck_assert_float_eq(out[i * 4 + j],
				    j < 3 ? x[i * 4 + j + 1] : 0.0f);
		/* stride 2, no padding: one output, the top-left 3x3 */
		nn_conv2d s2 = { 1, 1, 3, 3, 2, 0, 1, 0, 0 };
		OK(nn_conv2d_forward(ctx, &s2, out, x, ones, NULL,
		    1, 4, 4, 1, 1, &err));
		ck_assert_float_eq_tol(out[0], 54.0f, 1e-5);
	}
	nn_ctx_destroy(ctx);
}
END_TEST

/* ---- batch norm ------------------------------------------------------------- */

typedef struct bnt {
	nn_ctx *ctx;
	nn_batchnorm bn;
	int N, C;
	float *x, *g, *b, *out, *R, *mean, *rstd, *rm, *rv;
} bnt;

static double
bn_loss(void *u)
{
	bnt *t = u;
	h4h_err err;

	OK(nn_batchnorm_forward(t->ctx, &t->bn, t->out, t->mean,
	    t->rstd, t->rm, t->rv, t->x, t->g, t->b, t->N, t->C, NN_BN_TRAIN,
	    0, &err));
	return dotd(t->out, t->R, (size_t)t->N * t->C);
}

START_TEST(test_bn_gradcheck)
{
	int impl = _i ? NN_IMPL_DNNL : NN_IMPL_HAND;
	uint64_t s = 99;
	bnt t = { mkctx(), { 7, 1e-5f, 0.1f }, 30, 5, 0, 0, 0, 0, 0, 0, 0, 0,
	    0 };
	size_t n = (size_t)t.N * t.C;
	h4h_err err;

	nn_ctx_set_impl(t.ctx, NN_OP_BN, impl, &err);
	OK(nn_batchnorm_prepare(t.ctx, &t.bn, t.N, t.C, &err));
	t.x = rnd_buf(n, &s);
	for (size_t i = 0; i < n; i++)	/* per-channel offset and scale */
		t.x[i] = t.x[i] * (1 + (i % t.C)) + (float)(i % t.C);
	t.g = rnd_buf(7, &s);
	t.b = rnd_buf(7, &s);
	t.R = rnd_buf(n, &s);
	t.out = zbuf(n);
	t.mean = zbuf(7);
	t.rstd = zbuf(7);
	t.rm = zbuf(7);
	t.rv = zbuf(7);
	float *dx = zbuf(n), *dg = zbuf(7), *db = zbuf(7);

	bn_loss(&t);
	OK(nn_batchnorm_backward(t.ctx, &t.bn, dx, dg, db, t.R,
	    t.x, t.mean, t.rstd, t.g, t.N, t.C, &err));
	fd_check("bn dx", bn_loss, &t, t.x, dx, n, NULL);
	fd_check("bn dgamma", bn_loss, &t, t.g, dg, t.C, NULL);
	fd_check("bn dbeta", bn_loss, &t, t.b, db, t.C, NULL);
	ck_assert_float_eq(dg[5], 0.0f);	/* beyond the active 5 */
	ck_assert_float_eq(db[6], 0.0f);
	free(dx);
	free(dg);
	free(db);
	free(t.x);
	free(t.g);
	free(t.b);
	free(t.R);
	free(t.out);
	free(t.mean);
	free(t.rstd);
	free(t.rm);
	free(t.rv);
	nn_ctx_destroy(t.ctx);
}
END_TEST

/* The fused BN + hswish against BN then hswish (both gradient-checked
 * above), in accumulate and overwrite modes, and the overwrite mode of
 * batch norm's and conv's backward against accumulating into zeros. */
START_TEST(test_bn_hswish_fused)
{
	int N = 300, C = 5;
	size_t n = (size_t)N * C;
	uint64_t s = 7;
	nn_ctx *ctx = mkctx();
	nn_batchnorm bn = { 7, 1e-5f, 0.1f };
	h4h_err err;
	float *x = rnd_buf(n, &s), *g = rnd_buf(7, &s), *b = rnd_buf(7, &s);
	float *R = rnd_buf(n, &s), *P = rnd_buf(n, &s);
	float *y = zbuf(n), *h = zbuf(n), *hf = zbuf(n), *dy = zbuf(n);
	float *dx = zbuf(n), *dxf = zbuf(n), *dx0 = zbuf(n);
	float m[7], r[7], mf[7], rf[7], rm[7] = { 0 }, rv[7] = { 0 },
	    rmf[7] = { 0 }, rvf[7] = { 0 }, dg[7] = { 0 }, db[7] = { 0 },
	    dgf[7] = { 0 }, dbf[7] = { 0 };

	for (size_t i = 0; i < n; i++)	/* spread over hswish's three arms */
		x[i] = x[i] * (2 + (i % C)) + (float)(i % C) - 2;
	nn_ctx_set_impl(ctx, NN_OP_BN, NN_IMPL_HAND, &err);
	OK(nn_batchnorm_prepare(ctx, &bn, N, C, &err));
	OK(nn_batchnorm_forward(ctx, &bn, y, m, r, rm, rv, x, g, b, N, C,
	    NN_BN_TRAIN, 0, &err));
	nn_hswish_forward(h, y, n);
	OK(nn_bn_hswish_forward(ctx, &bn, hf, mf, rf, rmf, rvf, x, g, b, N, C,
	    NN_BN_TRAIN, 0, &err));
	for (size_t i = 0; i < n; i++)
		ck_assert_float_eq_tol(hf[i], h[i], 1e-6f);
	for (int c = 0; c < C; c++) {
		ck_assert_float_eq(mf[c], m[c]);
		ck_assert_float_eq(rf[c], r[c]);
		ck_assert_float_eq(rmf[c], rm[c]);
		ck_assert_float_eq(rvf[c], rv[c]);
	}
	/* backward, accumulating onto P */
	nn_hswish_backward(dy, R, y, n);
	memcpy(dx, P, n * sizeof *dx);
	memcpy(dxf, P, n * sizeof *dxf);
	OK(nn_batchnorm_backward(ctx, &bn, dx, dg, db, dy, x, m, r, g, N, C,
	    &err));
	OK(nn_bn_hswish_backward(ctx, &bn, dxf, dgf, dbf, R, x, m, r, g, b, N,
	    C, 1, &err));
	for (size_t i = 0; i < n; i++)
		ck_assert_float_eq_tol(dxf[i], dx[i], 1e-5f);
	for (int c = 0; c < C; c++) {
		ck_assert_float_eq_tol(dgf[c], dg[c], 1e-4f);
		ck_assert_float_eq_tol(dbf[c], db[c], 1e-4f);
	}
	ck_assert_float_eq(dgf[5], 0.0f);	/* beyond the active 5 */
	/* overwrite mode: whatever was in dinp is gone */
	memset(dx0, 0, n * sizeof *dx0);
	OK(nn_batchnorm_backward(ctx, &bn, dx0, dg, db, dy, x, m, r, g, N, C,
	    &err));
	for (size_t i = 0; i < n; i++)
		dx[i] = dxf[i] = 1e30f;
	OK(nn_batchnorm_backward_ex(ctx, &bn, dx, dg, db, dy, x, m, r, g, N,
	    C, 0, &err));
	OK(nn_bn_hswish_backward(ctx, &bn, dxf, dgf, dbf, R, x, m, r, g, b, N,
	    C, 0, &err));
	for (size_t i = 0; i < n; i++) {
		ck_assert_float_eq(dx[i], dx0[i]);
		ck_assert_float_eq_tol(dxf[i], dx0[i], 1e-5f);
	}
	ck_assert_int_eq(nn_bn_hswish_forward(ctx, &bn, x, mf, rf, rmf, rvf,
	    x, g, b, N, C, NN_BN_TRAIN, 0, &err), H4H_EINPUT);
	/* conv: overwrite == accumulate into zeros, both paths */
	for (int impl = NN_IMPL_HAND; impl <= NN_IMPL_DNNL; impl++) {
		nn_conv2d cv = { 6, 4, 3, 3, 1, 1, 1, 0, 0 };
		int B = 2, H = 5, IC = 6, OC = 4;
		size_t ni = (size_t)B * H * H * IC, no = (size_t)B * H * H * OC;
		float *ci = rnd_buf(ni, &s), *cw = rnd_buf(4 * 6 * 9, &s);
		float *cg = rnd_buf(no, &s), *d1 = zbuf(ni), *d2 = zbuf(ni);
		float *w1 = zbuf(4 * 6 * 9), *w2 = zbuf(4 * 6 * 9);

		nn_ctx_set_impl(ctx, NN_OP_CONV, impl, &err);
		OK(nn_conv2d_prepare(ctx, &cv, B, H, H, IC, OC, &err));
		OK(nn_conv2d_backward(ctx, &cv, d1, w1, NULL, cg, ci, cw, B, H,
		    H, IC, OC, &err));
		for (size_t i = 0; i < ni; i++)
			d2[i] = -1e30f;
		OK(nn_conv2d_backward_ex(ctx, &cv, d2, w2, NULL, cg, ci, cw, B,
		    H, H, IC, OC, 0, &err));
		for (size_t i = 0; i < ni; i++)
			ck_assert_float_eq(d2[i], d1[i]);
		for (int i = 0; i < 4 * 6 * 9; i++)
			ck_assert_float_eq(w2[i], w1[i]);
		free(ci);
		free(cw);
		free(cg);
		free(d1);
		free(d2);
		free(w1);
		free(w2);
	}
	free(x);
	free(g);
	free(b);
	free(R);
	free(P);
	free(y);
	free(h);
	free(hf);
	free(dy);
	free(dx);
	free(dxf);
	free(dx0);
	nn_ctx_destroy(ctx);
}
END_TEST

/* One channel, x = 1 2 3 4: mean 2.5, biased var 1.25, unbiased 5/3. */
START_TEST(test_bn_hand)
{
	int impl = _i ? NN_IMPL_DNNL : NN_IMPL_HAND;
	nn_ctx *ctx = mkctx();
	nn_batchnorm bn = { 2, 1e-5f, 0.1f };
	float x[4] = { 1, 2, 3, 4 }, x2[4] = { 2, 4, 6, 8 }, out[4];
	float g = 2, b = 0.5f, mean, rstd, rm = 0, rv = 1;
	h4h_err err;

	nn_ctx_set_impl(ctx, NN_OP_BN, impl, &err);
	OK(nn_batchnorm_forward(ctx, &bn, out, &mean, &rstd, &rm,
	    &rv, x, &g, &b, 4, 1, NN_BN_TRAIN, 0, &err));
	ck_assert_float_eq_tol(mean, 2.5f, 1e-6);
	ck_assert_float_eq_tol(rstd, 1 / sqrtf(1.25f + 1e-5f), 1e-6);
	for (int i = 0; i < 4; i++)
		ck_assert_float_eq_tol(out[i], (x[i] - 2.5f) /
		    sqrtf(1.25f + 1e-5f) * 2 + 0.5f, 1e-5);
	ck_assert_float_eq_tol(rm, 0.25f, 1e-6);		/* 0.9*0 + 0.1*2.5 */
	ck_assert_float_eq_tol(rv, 0.9f + 0.1f * 5 / 3, 1e-6);
	/* recalibration: cumulative average of two batches, k = 0 overwrites */
	OK(nn_batchnorm_forward(ctx, &bn, out, &mean, &rstd, &rm,
	    &rv, x, &g, &b, 4, 1, NN_BN_RECAL, 0, &err));
	ck_assert_float_eq_tol(rm, 2.5f, 1e-6);
	ck_assert_float_eq_tol(rv, 5.0f / 3, 1e-6);
	OK(nn_batchnorm_forward(ctx, &bn, out, &mean, &rstd, &rm,
	    &rv, x2, &g, &b, 4, 1, NN_BN_RECAL, 1, &err));
	ck_assert_float_eq_tol(rm, 3.75f, 1e-6);		/* (2.5 + 5)/2 */
	ck_assert_float_eq_tol(rv, 25.0f / 6, 1e-5);	/* (5/3 + 20/3)/2 */
	/* inference uses the running statistics and moves nothing */
	OK(nn_batchnorm_forward(ctx, &bn, out, NULL, NULL, &rm,
	    &rv, x, &g, &b, 4, 1, NN_BN_INFER, 0, &err));
	for (int i = 0; i < 4; i++)
		ck_assert_float_eq_tol(out[i], (x[i] - 3.75f) /
		    sqrtf(25.0f / 6 + 1e-5f) * 2 + 0.5f, 1e-5);
	ck_assert_float_eq_tol(rm, 3.75f, 1e-6);
	/* errors: too many channels, a one-row batch */
	ck_assert_int_eq(nn_batchnorm_forward(ctx, &bn, out, &mean, &rstd, &rm,
	    &rv, x, &g, &b, 1, 3, NN_BN_TRAIN, 0, &err), H4H_EINPUT);
	ck_assert_int_eq(nn_batchnorm_forward(ctx, &bn, out, &mean, &rstd, &rm,
	    &rv, x, &g, &b, 1, 1, NN_BN_TRAIN, 0, &err), H4H_EINPUT);
	nn_ctx_destroy(ctx);
}
END_TEST

/* Hand and oneDNN batch norm agree on a big batch (precision of the
 * statistics over 32k rows included). */
START_TEST(test_bn_impls_agree)
{
	nn_ctx *ctx = mkctx();
	nn_batchnorm bn = { 24, 1e-5f, 0.1f };
	int N = 8192, C = 24;
	size_t n = (size_t)N * C;
	uint64_t s = 5;
	float *x = rnd_buf(n, &s), *g = rnd_buf(C, &s), *b = rnd_buf(C, &s);
	float *R = rnd_buf(n, &s);
	float *out[2], *dx[2], *mean[2], *rstd[2], *rm[2], *rv[2], *dg[2],
	    *db[2];
	h4h_err err;

	for (size_t i = 0; i < n; i++)
		x[i] = 100 + 3 * x[i];	/* offset: cancellation bait */
	for (int k = 0; k < 2; k++) {
		nn_ctx_set_impl(ctx, NN_OP_BN, k ? NN_IMPL_DNNL : NN_IMPL_HAND,
		    &err);
		out[k] = zbuf(n);
		dx[k] = zbuf(n);
		mean[k] = zbuf(C);
		rstd[k] = zbuf(C);
		rm[k] = zbuf(C);
		rv[k] = zbuf(C);
		dg[k] = zbuf(C);
		db[k] = zbuf(C);
		ck_assert_int_eq(nn_batchnorm_forward(ctx, &bn, out[k], mean[k],
		    rstd[k], rm[k], rv[k], x, g, b, N, C, NN_BN_TRAIN, 0, &err),
		    0);
		OK(nn_batchnorm_backward(ctx, &bn, dx[k], dg[k],
		    db[k], R, x, mean[k], rstd[k], g, N, C, &err));
	}
	assert_close("bn out", out[1], out[0], n, 1e-4);
	assert_close("bn rstd", rstd[1], rstd[0], C, 1e-4);
	assert_close("bn run var", rv[1], rv[0], C, 1e-4);
	assert_close("bn dx", dx[1], dx[0], n, 1e-3);
	assert_close("bn dgamma", dg[1], dg[0], C, 1e-3);
	assert_close("bn dbeta", db[1], db[0], C, 1e-3);
	for (int c = 0; c < C; c++)	/* var of 3 U(-1,1) = 3 */
		ck_assert_float_eq_tol(1 / (rstd[0][c] * rstd[0][c]), 3.0f, 0.1);
	for (int k = 0; k < 2; k++) {
		free(out[k]);
		free(dx[k]);
		free(mean[k]);
		free(rstd[k]);
		free(rm[k]);
		free(rv[k]);
		free(dg[k]);
		free(db[k]);
	}
	free(x);
	free(g);
	free(b);
	free(R);
	nn_ctx_destroy(ctx);
}
END_TEST

/* ---- layer norm, activations, linear ---------------------------------------- */

typedef struct lnt {
	int N, C;
	float *x, *w, *b, *out, *R, *mean, *rstd;
} lnt;

static double
ln_loss(void *u)
{
	lnt *t = u;

	nn_layernorm_forward(t->out, t->mean, t->rstd, t->x, t->w, t->b, t->N,
	    t->C, 1e-5f);
	return dotd(t->out, t->R, (size_t)t->N * t->C);
}

START_TEST(test_layernorm)
{
	uint64_t s = 3;
	lnt t = { 6, 9, 0, 0, 0, 0, 0, 0, 0 };
	size_t n = 54;
	float *dx = zbuf(n), *dw = zbuf(9), *db = zbuf(9);

	nn_ctx_destroy(mkctx());	/* sets the thread count */
	t.x = rnd_buf(n, &s);
	t.w = rnd_buf(9, &s);
	t.b = rnd_buf(9, &s);
	t.R = rnd_buf(n, &s);
	t.out = zbuf(n);
	t.mean = zbuf(6);
	t.rstd = zbuf(6);
	ln_loss(&t);
	nn_layernorm_backward(dx, dw, db, t.R, t.x, t.w, t.mean, t.rstd, 6, 9);
	fd_check("ln dx", ln_loss, &t, t.x, dx, n, NULL);
	fd_check("ln dw", ln_loss, &t, t.w, dw, 9, NULL);
	fd_check("ln db", ln_loss, &t, t.b, db, 9, NULL);
	/* hand case: row 1 2 3 4 -> mean 2.5, var 1.25 */
	float x[4] = { 1, 2, 3, 4 }, one[4] = { 1, 1, 1, 1 }, zero[4] = { 0 };
	float o[4], m, r;
	nn_layernorm_forward(o, &m, &r, x, one, zero, 1, 4, 0);
	ck_assert_float_eq_tol(m, 2.5f, 1e-6);
	ck_assert_float_eq_tol(o[0], -1.5f / sqrtf(1.25f), 1e-6);
	free(dx);
	free(dw);
	free(db);
	free(t.x);
	free(t.w);
	free(t.b);
	free(t.R);
	free(t.out);
	free(t.mean);
	free(t.rstd);
}
END_TEST

typedef void (*act_f)(float *, const float *, size_t);
typedef void (*act_b)(float *, const float *, const float *, size_t);

typedef struct actt {
	act_f f;
	size_t n;
	float *x, *out, *R;
} actt;

static double
act_loss(void *u)
{
	actt *t = u;

	t->f(t->out, t->x, t->n);
	return dotd(t->out, t->R, t->n);
}

START_TEST(test_activations)
{
	static const struct {
		const char *name;
		act_f f;
		act_b b;
		float kinks[2];
		float at1;		/* f(1), by hand */
	} acts[] = {
		{ "relu6", nn_relu6_forward, nn_relu6_backward, { 0, 6 }, 1.0f },
		{ "hswish", nn_hswish_forward, nn_hswish_backward, { -3, 3 },
		    4.0f / 6 },
		{ "gelu", nn_gelu_forward, nn_gelu_backward, { 99, 99 },
		    0.8413447f },	/* Phi(1) */
		{ "swish", nn_swish_forward, nn_swish_backward, { 99, 99 },
		    0.7310586f },	/* 1/(1+e^-1) */
	};
	uint64_t s = 11;
	size_t n = 300;

	for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
		actt t = { acts[a].f, n, rnd_buf(n, &s), zbuf(n),
		    rnd_buf(n, &s) };
		float *dx = zbuf(n), one = 1, y;

		for (size_t i = 0; i < n; i++) {
			t.x[i] *= 8;	/* [-8, 8): every piece */
			for (int k = 0; k < 2; k++)
				if (fabsf(t.x[i] - acts[a].kinks[k]) < 3 * FD_H)
					t.x[i] += 6 * FD_H;
		}
		act_loss(&t);
		acts[a].b(dx, t.R, t.x, n);
		fd_check(acts[a].name, act_loss, &t, t.x, dx, n, NULL);
		acts[a].f(&y, &one, 1);
		ck_assert_msg(fabsf(y - acts[a].at1) < 1e-6, "%s(1) = %.7g",
		    acts[a].name, y);
		free(dx);
		free(t.x);
		free(t.out);
		free(t.R);
	}
	float x[3] = { -4, 7, 2 }, y[3];
	nn_relu6_forward(y, x, 3);
	ck_assert(y[0] == 0 && y[1] == 6 && y[2] == 2);
	nn_hswish_forward(y, x, 3);
	ck_assert(y[0] == 0 && y[1] == 7);
}
END_TEST

typedef struct lint {
	nn_ctx *ctx;
	int N, IC, OC, ldw;
	float *x, *w, *b, *out, *R;
} lint;

static double
lin_loss(void *u)
{
	lint *t = u;

	nn_linear_forward(t->ctx, t->out, t->x, t->w, t->b, t->N, t->IC, t->OC,
	    t->ldw);
	return dotd(t->out, t->R, (size_t)t->N * t->OC);
}

static int
lin_wskip(void *u, size_t i)
{
	lint *t = u;

	return (int)(i / t->ldw) >= t->OC || (int)(i % t->ldw) >= t->IC;
}

START_TEST(test_linear)
{
	uint64_t s = 17;
	/* max 9->7, active 6->5; N = 40 rows (split across threads) */
	lint t = { mkctx(), 40, 6, 5, 9, 0, 0, 0, 0, 0 };
	size_t nx = 40 * 6, nw = 7 * 9;
	float *dx = zbuf(nx), *dw = zbuf(nw), *db = zbuf(7);

	t.x = rnd_buf(nx, &s);
	t.w = rnd_buf(nw, &s);
	t.b = rnd_buf(7, &s);
	t.R = rnd_buf(40 * 5, &s);
	t.out = zbuf(40 * 5);
	lin_loss(&t);
	nn_linear_backward(t.ctx, dx, dw, db, t.R, t.x, t.w, 40, 6, 5, 9);
	fd_check("linear dx", lin_loss, &t, t.x, dx, nx, NULL);
	fd_check("linear dw", lin_loss, &t, t.w, dw, nw, lin_wskip);
	fd_check("linear db", lin_loss, &t, t.b, db, 5, NULL);
	for (size_t i = 0; i < nw; i++)
		if (lin_wskip(&t, i))
			ck_assert_float_eq(dw[i], 0.0f);
	ck_assert_float_eq(db[5], 0.0f);
	/* by hand: one row (1, 2) against w row (3, 4) + 0.5 = 11.5 */
	float x[2] = { 1, 2 }, w[2] = { 3, 4 }, b = 0.5f, o;
	nn_linear_forward(t.ctx, &o, x, w, &b, 1, 2, 1, 2);
	ck_assert_float_eq_tol(o, 11.5f, 1e-6);
	free(dx);
	free(dw);
	free(db);
	free(t.x);
	free(t.w);
	free(t.b);
	free(t.R);
	free(t.out);
	nn_ctx_destroy(t.ctx);
}
END_TEST

/* ---- attention --------------------------------------------------------------- */

START_TEST(test_attn_bias_index)
{
	int idx[16 * 16];
	/* 2x2 grid, LeViT's order of first appearance */
	const int want[16] = { 0, 1, 2, 3, 1, 0, 3, 2, 2, 3, 0, 1, 3, 2, 1, 0 };

	ck_assert_int_eq(nn_attn_bias_index(idx, 2, 2), 4);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(idx[i], want[i]);
	ck_assert_int_eq(nn_attn_bias_index(idx, 4, 4), 16);
	/* symmetric, zero offset on the diagonal */
	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(idx[i * 16 + i], 0);
		for (int j = 0; j < 16; j++)
			ck_assert_int_eq(idx[i * 16 + j], idx[j * 16 + i]);
	}
	ck_assert_int_eq(nn_attn_bias_index(idx, 1, 3), 3);
}
END_TEST

/* Two tokens, one head of dim 8: S = q k^T / sqrt 8 + bias, by hand. */
START_TEST(test_attention_hand)
{
	float qkv[2 * 24] = { 0 }, out[16], att[4], bias[2] = { 0.5f, -0.5f };
	int idx[4];
	float r8 = sqrtf(8.0f);

	ck_assert_int_eq(nn_attn_bias_index(idx, 1, 2), 2);
	qkv[0] = 1;		/* q0 = e0 */
	qkv[24 + 1] = 1;	/* q1 = e1 */
	qkv[8] = r8;		/* k0 = sqrt8 e0 */
	qkv[24 + 8 + 1] = r8;	/* k1 = sqrt8 e1 */
	for (int d = 0; d < 8; d++) {
		qkv[16 + d] = (float)(d + 1);	/* v0 = 1..8 */
		qkv[24 + 16 + d] = (float)(10 * d);	/* v1 = 0,10..70 */
	}
	nn_attention_forward(out, att, qkv, bias, idx, 2, 1, 2, 8, 1);
	/* S = [[1.5, -0.5], [-0.5, 1.5]]: a = softmax, a00 = 1/(1+e^-2) */
	float a = 1.0f / (1.0f + expf(-2.0f));
	ck_assert_float_eq_tol(att[0], a, 1e-6);
	ck_assert_float_eq_tol(att[1], 1 - a, 1e-6);
	ck_assert_float_eq_tol(att[3], a, 1e-6);
	for (int d = 0; d < 8; d++) {
		ck_assert_float_eq_tol(out[d], a * (d + 1) + (1 - a) * 10 * d,
		    1e-5);
		ck_assert_float_eq_tol(out[8 + d], (1 - a) * (d + 1) +
		    a * 10 * d, 1e-5);
	}
}
END_TEST

typedef struct attt {
	int B, T, C, NH, nofs;
	int *idx;
	float *qkv, *bias, *out, *att, *R;
} attt;

static double
att_loss(void *u)
{
	attt *t = u;

	nn_attention_forward(t->out, t->att, t->qkv, t->bias, t->idx, t->nofs,
	    t->B, t->T, t->C, t->NH);
	return dotd(t->out, t->R, (size_t)t->B * t->T * t->C);
}

START_TEST(test_attention_gradcheck)
{
	uint64_t s = 23;
	/* 2x3 grid (T = 6), 2 active heads of dim 8 out of 3 in the bias */
	attt t = { 3, 6, 16, 2, 0, 0, 0, 0, 0, 0, 0 };
	size_t nq = (size_t)3 * 6 * 48, no = (size_t)3 * 6 * 16;

	nn_ctx_destroy(mkctx());
	t.idx = malloc(sizeof(int) * 36);
	t.nofs = nn_attn_bias_index(t.idx, 2, 3);
	t.qkv = rnd_buf(nq, &s);
	for (size_t i = 0; i < nq; i++)
		t.qkv[i] *= 2;	/* peaky enough softmax to matter */
	t.bias = rnd_buf((size_t)3 * t.nofs, &s);
	t.out = zbuf(no);
	t.att = zbuf((size_t)3 * 2 * 36);
	t.R = rnd_buf(no, &s);
	float *dq = zbuf(nq), *dbias = zbuf((size_t)3 * t.nofs);

	att_loss(&t);
	nn_attention_backward(dq, dbias, t.R, t.qkv, t.att, t.idx, t.nofs, 3, 6,
	    16, 2);
	fd_check("attention dqkv", att_loss, &t, t.qkv, dq, nq, NULL);
	fd_check("attention dbias", att_loss, &t, t.bias, dbias,
	    (size_t)2 * t.nofs, NULL);
	for (int i = 2 * t.nofs; i < 3 * t.nofs; i++)
		ck_assert_float_eq(dbias[i], 0.0f);
	/* rows of att sum to 1 */
	for (int r = 0; r < 3 * 2 * 6; r++) {
		float sum = 0;
		for (int j = 0; j < 6; j++)
			sum += t.att[r * 6 + j];
		ck_assert_float_eq_tol(sum, 1.0f, 1e-5);
	}
	/* no bias: the same gradient check on q, k, v */
	free(t.bias);
	t.bias = NULL;
	memset(dq, 0, sizeof(float) * nq);
	att_loss(&t);
	nn_attention_backward(dq, NULL, t.R, t.qkv, t.att, t.idx, t.nofs, 3, 6,
	    16, 2);
	fd_check("attention dqkv (no bias)", att_loss, &t, t.qkv, dq, nq, NULL);
	free(dq);
	free(dbias);
	free(t.idx);
	free(t.qkv);
	free(t.out);
	free(t.att);
	free(t.R);
}
END_TEST

/* ---- residual, pool, dropout, drop-connect ------------------------------------ */

typedef struct misct {
	int kind;
	int B, HW, C;
	float p;
	uint64_t seed;
	float *x, *y, *out, *R, *scale;
	uint8_t *mask;
} misct;

static size_t
misc_nout(const misct *t)
{
	return t->kind == 1 ? (size_t)t->B * t->C :
	    (size_t)t->B * t->HW * t->C;
}

static double
misc_loss(void *u)
{
	misct *t = u;
	size_t n = (size_t)t->B * t->HW * t->C;
	uint64_t rng = t->seed;	/* the same draws every call */

	switch (t->kind) {
	case 0:
		nn_residual_forward(t->out, t->x, t->y, n);
		break;
	case 1:
		nn_avgpool_forward(t->out, t->x, t->B, t->HW, t->C);
		break;
	case 2:
		nn_dropout_forward(t->out, t->mask, t->x, n, t->p, &rng);
		break;
	default:
		nn_dropconnect_forward(t->out, t->scale, t->x, t->B,
		    (size_t)t->HW * t->C, t->p, &rng);
	}
	return dotd(t->out, t->R, misc_nout(t));
}

START_TEST(test_misc_gradcheck)
{
	static const char *name[] = { "residual", "avgpool", "dropout",
	    "dropconnect" };
	uint64_t s = 31;
	misct t = { _i, 8, 5, 4, 0.3f, 1234, 0, 0, 0, 0, 0, 0 };
	size_t n = (size_t)8 * 5 * 4;
	float *dx = zbuf(n), *dy = zbuf(n);

	nn_ctx_destroy(mkctx());
	t.x = rnd_buf(n, &s);
	t.y = rnd_buf(n, &s);
	t.out = zbuf(n);
	t.R = rnd_buf(n, &s);
	t.scale = zbuf(8);
	t.mask = malloc(n);
	misc_loss(&t);
	switch (t.kind) {
	case 0:
		nn_residual_backward(dx, dy, t.R, n);
		fd_check(name[0], misc_loss, &t, t.y, dy, n, NULL);
		break;
	case 1:
		nn_avgpool_backward(dx, t.R, 8, 5, 4);
		ck_assert_float_eq_tol(t.out[0], (t.x[0] + t.x[4] + t.x[8] +
		    t.x[12] + t.x[16]) / 5, 1e-6);
		break;
	case 2:
		nn_dropout_backward(dx, t.R, t.mask, n, t.p);
		break;
	default:
		nn_dropconnect_backward(dx, t.R, t.scale, 8,
		    (size_t)5 * 4);
		for (int b = 0; b < 8; b++) {
			ck_assert(t.scale[b] == 0.0f ||
			    fabsf(t.scale[b] - 1 / 0.7f) < 1e-6);
			for (int i = 0; i < 20; i++)
				ck_assert_float_eq_tol(t.out[b * 20 + i],
				    t.x[b * 20 + i] * t.scale[b], 1e-6);
		}
	}
	fd_check(name[t.kind], misc_loss, &t, t.x, dx, n, NULL);
	free(dx);
	free(dy);
	free(t.x);
	free(t.y);
	free(t.out);
	free(t.R);
	free(t.scale);
	free(t.mask);
}
END_TEST

/* Dropout keeps about 1-p, scales by 1/(1-p), reproduces from the seed
 * whatever the thread count, and p = 0 is the identity. */
START_TEST(test_dropout_stats)
{
	size_t n = 200000;
	float *x = malloc(sizeof(float) * n), *o = malloc(sizeof(float) * n);
	float *o2 = malloc(sizeof(float) * n);
	uint8_t *m = malloc(n);
	uint64_t r1 = 77, r2 = 77;
	long kept = 0;

	nn_ctx_destroy(mkctx());
	for (size_t i = 0; i < n; i++)
		x[i] = 1.0f;
	nn_dropout_forward(o, m, x, n, 0.25f, &r1);
	size_t wrong = 0;
	for (size_t i = 0; i < n; i++) {
		kept += m[i];
		wrong += o[i] != (m[i] ? 1.0f / 0.75f : 0.0f);
	}
	ck_assert_uint_eq(wrong, 0);
	ck_assert(fabs((double)kept / n - 0.75) < 0.01);
	/* a serial run (1 thread) draws the same mask */
	omp_set_num_threads(1);
	nn_dropout_forward(o2, m, x, n, 0.25f, &r2);
	omp_set_num_threads(2);
	ck_assert(memcmp(o, o2, sizeof(float) * n) == 0);
	ck_assert(r1 == r2 && r1 != 77);
	nn_dropout_forward(o, m, x, n, 0.0f, &r1);
	ck_assert(memcmp(o, x, sizeof(float) * n) == 0);
	free(x);
	free(o);
	free(o2);
	free(m);
}
END_TEST

/* ---- losses ---------------------------------------------------------------------- */

typedef struct losst {
	int kl;
	int B, K;
	float eps;
	int *labels;
	float *z, *pt, *probs;
} losst;

static double
loss_loss(void *u)
{
	losst *t = u;

	if (t->kl)
		return nn_kldiv_forward(NULL, t->probs, t->z, t->pt, t->B, t->K);
	return nn_crossentropy_forward(NULL, t->probs, t->z, t->labels, t->B,
	    t->K, t->eps);
}

START_TEST(test_losses)
{
	uint64_t s = 41;
	int B = 6, K = 5;
	int labels[6] = { 0, 4, 2, 2, 1, 3 };
	losst t = { _i, B, K, 0.1f, labels, rnd_buf(30, &s), zbuf(30),
	    zbuf(30) };
	float *dz = zbuf(30);

	for (int i = 0; i < 30; i++)
		t.z[i] *= 3;
	/* a teacher: softmax of other logits, one row with exact zeros */
	float *tz = rnd_buf(30, &s);
	nn_softmax_forward(t.pt, tz, B, K);
	t.pt[0] = 0.5f;
	t.pt[1] = 0.5f;
	t.pt[2] = t.pt[3] = t.pt[4] = 0.0f;
	loss_loss(&t);
	if (t.kl)
		nn_kldiv_backward(dz, t.probs, t.pt, B, K, 1.0f);
	else
		nn_crossentropy_backward(dz, t.probs, labels, B, K, 0.1f, 1.0f);
	fd_check(t.kl ? "kldiv" : "crossentropy", loss_loss, &t, t.z, dz, 30,
	    NULL);
	free(dz);
	free(tz);
	free(t.z);
	free(t.pt);
	free(t.probs);
}
END_TEST

START_TEST(test_losses_hand)
{
	float z[4] = { 0, 0, 0, 0 }, p[4], pt[4], l;
	int lab = 2;

	/* uniform logits: -sum q log(1/4) = log 4, smoothing or not */
	l = nn_crossentropy_forward(NULL, p, z, &lab, 1, 4, 0.1f);
	ck_assert_float_eq_tol(l, logf(4), 1e-6);
	/* z = (2,0,0,0), label 0, eps 0.1: q = (0.925, 0.025 x3) */
	z[0] = 2;
	lab = 0;
	l = nn_crossentropy_forward(NULL, p, z, &lab, 1, 4, 0.1f);
	double lse = log(exp(2.0) + 3);
	ck_assert_float_eq_tol(l, 0.925 * (lse - 2) + 0.075 * lse, 1e-6);
	/* KL of a distribution with itself is 0; one-hot teacher: -log ps */
	nn_softmax_forward(pt, z, 1, 4);
	ck_assert_float_eq_tol(nn_kldiv_forward(NULL, p, z, pt, 1, 4), 0, 1e-6);
	memset(pt, 0, sizeof pt);
	pt[1] = 1;
	ck_assert_float_eq_tol(nn_kldiv_forward(NULL, p, z, pt, 1, 4),
	    -logf(p[1]), 1e-6);
}
END_TEST

/* ---- errors, plan-time preparation ------------------------------------------------- */

START_TEST(test_conv_errors_and_prepare)
{
	nn_ctx *ctx = mkctx();
	nn_conv2d dw = { 8, 8, 3, 3, 1, 1, 8, 0, 0 }, gr = { 4, 6, 3, 3, 1, 1,
	    2, 0, 0 }, pw = { 8, 16, 1, 1, 1, 0, 1, 0, 0 };
	float buf[4096] = { 0 };
	h4h_err err;

	ck_assert_int_eq(nn_conv2d_forward(ctx, &pw, buf, buf, buf, NULL, 1,
	    2, 2, 9, 16, &err), H4H_EINPUT);
	ck_assert(strstr(err.msg, "9->16") != NULL);
	ck_assert_int_eq(nn_conv2d_forward(ctx, &dw, buf, buf, buf, NULL, 1,
	    4, 4, 6, 5, &err), H4H_EINPUT);
	ck_assert_int_eq(nn_conv2d_forward(ctx, &gr, buf, buf, buf, NULL, 1,
	    4, 4, 4, 4, &err), H4H_EINPUT);
	ck_assert(strstr(err.msg, "full width") != NULL);
	ck_assert_int_eq(nn_ctx_set_impl(ctx, 99, NN_IMPL_HAND, &err),
	    H4H_EINPUT);
	/* prepared shapes run without allocating, in both paths */
	for (int impl = NN_IMPL_HAND; impl <= NN_IMPL_DNNL; impl++) {
		for (int op = 0; op < NN_OP_NKIND; op++)
			nn_ctx_set_impl(ctx, op, impl, &err);
		OK(nn_conv2d_prepare(ctx, &dw, 4, 8, 8, 5, 5,
		    &err));
		OK(nn_conv2d_prepare(ctx, &pw, 4, 4, 4, 8, 12,
		    &err));
		long lazy = nn_ctx_lazy_allocs(ctx);
		int cached = nn_ctx_cache_count(ctx);
		float *x = zbuf(4 * 64 * 8), *o = zbuf(4 * 64 * 16);
		float *w = zbuf(8 * 16);
		OK(nn_conv2d_forward(ctx, &dw, o, x, w, NULL, 4,
		    8, 8, 5, 5, &err));
		OK(nn_conv2d_backward(ctx, &dw, x, w, NULL, o, x,
		    w, 4, 8, 8, 5, 5, &err));
		OK(nn_conv2d_forward(ctx, &pw, o, x, w, NULL, 4,
		    4, 4, 8, 12, &err));
		ck_assert_int_eq(nn_ctx_lazy_allocs(ctx), lazy);
		ck_assert_int_eq(nn_ctx_cache_count(ctx), cached);
		free(x);
		free(o);
		free(w);
	}
	nn_ctx_destroy(ctx);
	nn_ctx_destroy(NULL);
}
END_TEST

static Suite *
nn_ops_suite(void)
{
	Suite *s = suite_create("nn_ops");
	TCase *core = tcase_create("Core");
	TCase *errors = tcase_create("Errors");

	tcase_set_timeout(core, 60);
	tcase_add_loop_test(core, test_conv_gradcheck, 0, 2 * NCONV);
	tcase_add_loop_test(core, test_conv_slice_and_impls, 0, NCONV);
	tcase_add_test(core, test_conv_hand_3x3);
	tcase_add_loop_test(core, test_bn_gradcheck, 0, 2);
	tcase_add_loop_test(core, test_bn_hand, 0, 2);
	tcase_add_test(core, test_bn_hswish_fused);
	tcase_add_test(core, test_bn_impls_agree);
	tcase_add_test(core, test_layernorm);
	tcase_add_test(core, test_activations);
	tcase_add_test(core, test_linear);
	tcase_add_test(core, test_attn_bias_index);
	tcase_add_test(core, test_attention_hand);
	tcase_add_test(core, test_attention_gradcheck);
	tcase_add_loop_test(core, test_misc_gradcheck, 0, 4);
	tcase_add_test(core, test_dropout_stats);
	tcase_add_loop_test(core, test_losses, 0, 2);
	tcase_add_test(core, test_losses_hand);
	suite_add_tcase(s, core);
	tcase_add_test(errors, test_conv_errors_and_prepare);
	suite_add_tcase(s, errors);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nn_ops_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
