/*
 * check_nn_blocks.c - forward results of the two composite blocks the
 * reference models are built from (src/nn/model.c: mbconv() and
 * vit_block()), chained from the ops exactly as the model's forward runs
 * them and checked against small hand-computed cases.
 *
 * check_nn_ops.c checks each op on its own; what this adds is the wiring:
 * the order of the ops, which tensor feeds which, the residual operands,
 * the qkv interleave seen through a real linear layer.  Weights are chosen
 * so that every value has a closed form, written out in the comments and
 * recomputed here in double precision:
 *   hswish(x) = x min(max(x+3,0),6)/6
 *   BN (inference, running mean 0, var 1, gamma 1, beta 0, eps 1e-5)
 *       = x / sqrt(1 + 1e-5)
 *   LN(v) = (v - mean) / sqrt(var + 1e-5), biased variance, weight 1,
 *       bias 0.
 * A value passes when |got - want| <= 1e-5 |want| + 1e-6: float rounding
 * through these few ops is ~1e-7 relative, while a wrong wire moves a value
 * by O(1).  The 1e-6 floor only matters for values that are exactly 0.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/ctx.h"
#include "nn/ops.h"

#define RTOL 1e-5
#define ATOL 1e-6
#define BN_EPS 1e-5
#define LN_EPS 1e-5

/* A call that must succeed; on failure the message says why. */
#define OK(call) do { \
	int rc_ = (call); \
	ck_assert_msg(rc_ == 0, "%s: %d: %s", #call, rc_, err.msg); \
} while (0)

#define NEAR(got, want, what) do { \
	double g_ = (got), w_ = (want); \
	ck_assert_msg(fabs(g_ - w_) <= RTOL * fabs(w_) + ATOL, \
	    "%s: got %.9g, want %.9g", (what), g_, w_); \
} while (0)

static double
hswish_ref(double x)
{
	return x * fmin(fmax(x + 3.0, 0.0), 6.0) / 6.0;
}

/* Inference BN with running mean 0, var 1, gamma 1, beta 0. */
static double
bn_ref(double x)
{
	return (x - 0.0) / sqrt(1.0 + BN_EPS) * 1.0 + 0.0;
}

/* out (C) = LN(v (C)), weight 1, bias 0, biased variance. */
static void
ln_ref(double *out, const double *v, int C)
{
	double m = 0, var = 0;

	for (int i = 0; i < C; i++)
		m += v[i];
	m /= C;
	for (int i = 0; i < C; i++)
		var += (v[i] - m) * (v[i] - m);
	var /= C;
	for (int i = 0; i < C; i++)
		out[i] = (v[i] - m) / sqrt(var + LN_EPS);
}

/*
 * MBConv, t = 2, 1 -> 1 channel, stride 1 (so the residual is taken), on a
 * 1x1 map, batch 1, input x = 1.  By hand (s = 1/sqrt(1.00001)
 * = 0.99999500004):
 *   expand [1, -0.5]:   e  = [1, -0.5]
 *   BN + hswish:        h1 = [0.66666250004, -0.20833250001]
 *   dw 3x3 pad 1: on a 1x1 map only the centre tap sees data, centres
 *   [3, 2] (the other 16 taps are 100+i and must not count):
 *                       d  = [1.99998750011, -0.41666500001]
 *   BN + hswish:        h2 = [1.66664041704, -0.17939679399]
 *   project [0.5, 1]:   p  = 0.65392341453
 *   BN:                 q  = 0.65392014493
 *   + x:                y  = 1.65392014493
 * Runs with the convolutions forced to each implementation, and with BN +
 * hswish both fused (as model.c runs it: K_BNACT) and as two ops.
 */
static void
mbconv_case(int impl, int fused)
{
	enum { IC = 1, MID = 2, OC = 1 };
	const nn_conv2d expand = { IC, MID, 1, 1, 1, 0, 1, 0, 0 };
	const nn_conv2d dw = { MID, MID, 3, 3, 1, 1, MID, 0, 0 };
	const nn_conv2d project = { MID, OC, 1, 1, 1, 0, 1, 0, 0 };
	const nn_batchnorm bn_mid = { MID, 1e-5f, 0.1f };
	const nn_batchnorm bn_out = { OC, 1e-5f, 0.1f };
	const float x[IC] = { 1.0f };
	const float w_exp[MID * IC] = { 1.0f, -0.5f };
	const float w_proj[OC * MID] = { 0.5f, 1.0f };
	const float ones[MID] = { 1, 1 }, zeros[MID] = { 0, 0 };
	const double centre[MID] = { 3.0, 2.0 };
	float rm[MID] = { 0, 0 }, rv[MID] = { 1, 1 };
	float w_dw[MID * 9], e[MID], b1[MID], h1[MID], d[MID], b2[MID];
	float h2[MID], p[OC], q[OC], y[OC];
	double we[MID], wh1[MID], wd[MID], wh2[MID], wp, wq, wy;
	nn_ctx *ctx;
	h4h_err err;
	char what[64];

	for (int c = 0; c < MID; c++)
		for (int k = 0; k < 9; k++)
			w_dw[c * 9 + k] = k == 4 ? (float)centre[c] :
			    100.0f + (float)(c * 9 + k);

	OK(nn_ctx_create(1, &ctx, &err));
	OK(nn_ctx_set_impl(ctx, NN_OP_CONV_PW, impl, &err));
	OK(nn_ctx_set_impl(ctx, NN_OP_CONV_DW, impl, &err));
	OK(nn_conv2d_prepare(ctx, &expand, 1, 1, 1, IC, MID, &err));
	OK(nn_conv2d_prepare(ctx, &dw, 1, 1, 1, MID, MID, &err));
	OK(nn_conv2d_prepare(ctx, &project, 1, 1, 1, MID, OC, &err));
	/* (no nn_batchnorm_prepare: it sizes the batch-statistics path,
	 * which refuses a single row; inference needs no workspace) */

	OK(nn_conv2d_forward(ctx, &expand, e, x, w_exp, NULL, 1, 1, 1, IC,
	    MID, &err));
	if (fused) {
		OK(nn_bn_hswish_forward(ctx, &bn_mid, h1, NULL, NULL, rm, rv,
		    e, ones, zeros, 1, MID, NN_BN_INFER, 0, &err));
	} else {
		OK(nn_batchnorm_forward(ctx, &bn_mid, b1, NULL, NULL, rm, rv,
		    e, ones, zeros, 1, MID, NN_BN_INFER, 0, &err));
		nn_hswish_forward(h1, b1, MID);
	}
	OK(nn_conv2d_forward(ctx, &dw, d, h1, w_dw, NULL, 1, 1, 1, MID, MID,
	    &err));
	if (fused) {
		OK(nn_bn_hswish_forward(ctx, &bn_mid, h2, NULL, NULL, rm, rv,
		    d, ones, zeros, 1, MID, NN_BN_INFER, 0, &err));
	} else {
		OK(nn_batchnorm_forward(ctx, &bn_mid, b2, NULL, NULL, rm, rv,
		    d, ones, zeros, 1, MID, NN_BN_INFER, 0, &err));
		nn_hswish_forward(h2, b2, MID);
	}
	OK(nn_conv2d_forward(ctx, &project, p, h2, w_proj, NULL, 1, 1, 1,
	    MID, OC, &err));
	OK(nn_batchnorm_forward(ctx, &bn_out, q, NULL, NULL, rm, rv, p, ones,
	    zeros, 1, OC, NN_BN_INFER, 0, &err));
	nn_residual_forward(y, x, q, OC);

	/* The reference, from the closed forms. */
	wp = 0;
	for (int c = 0; c < MID; c++) {
		we[c] = 1.0 * w_exp[c];
		wh1[c] = hswish_ref(bn_ref(we[c]));
		wd[c] = centre[c] * wh1[c];
		wh2[c] = hswish_ref(bn_ref(wd[c]));
		wp += (double)w_proj[c] * wh2[c];
	}
	wq = bn_ref(wp);
	wy = 1.0 + wq;

	/* The closed forms themselves against the hand numbers above. */
	NEAR(wh1[0], 0.66666250004, "hand h1[0]");
	NEAR(wh1[1], -0.20833250001, "hand h1[1]");
	NEAR(wh2[0], 1.66664041704, "hand h2[0]");
	NEAR(wh2[1], -0.17939679399, "hand h2[1]");
	NEAR(wy, 1.65392014493, "hand y");

	for (int c = 0; c < MID; c++) {
		snprintf(what, sizeof what, "impl %d fused %d expand[%d]",
		    impl, fused, c);
		NEAR(e[c], we[c], what);
		snprintf(what, sizeof what, "impl %d fused %d h1[%d]", impl,
		    fused, c);
		NEAR(h1[c], wh1[c], what);
		snprintf(what, sizeof what, "impl %d fused %d dw[%d]", impl,
		    fused, c);
		NEAR(d[c], wd[c], what);
		snprintf(what, sizeof what, "impl %d fused %d h2[%d]", impl,
		    fused, c);
		NEAR(h2[c], wh2[c], what);
	}
	snprintf(what, sizeof what, "impl %d fused %d project", impl, fused);
	NEAR(p[0], wp, what);
	snprintf(what, sizeof what, "impl %d fused %d project bn", impl,
	    fused);
	NEAR(q[0], wq, what);
	snprintf(what, sizeof what, "impl %d fused %d out", impl, fused);
	NEAR(y[0], wy, what);

	/* Inference must leave the running statistics alone. */
	ck_assert(rm[0] == 0.0f && rm[1] == 0.0f);
	ck_assert(rv[0] == 1.0f && rv[1] == 1.0f);
	nn_ctx_destroy(ctx);
}

START_TEST(test_mbconv_hand)
{
	static const int impls[] = { NN_IMPL_HAND, NN_IMPL_DNNL };

	for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
		for (int fused = 0; fused <= 1; fused++)
			mbconv_case(impls[i], fused);
}
END_TEST

/*
 * Pre-LN transformer block, T = 2 tokens, C = 8, NH = 1 (hd = 8), MLP
 * ratio 2 with hswish; all LN weights 1 and biases 0.
 *   x1 = [1..8]: mean 4.5, var 5.25, LN1(x1) = (x1-4.5)/sqrt(5.25001)
 *       = [-1.52752378, -1.09108841, ..., 1.52752378]
 *   x2 = [2 x7, 4]: mean 2.25, var 0.4375,
 *       LN1(x2) = [-0.37796015 x7, 2.64572107]
 * qkv weight (24, 8): rows 0..15 (q, k) zero, rows 16..23 (v) identity,
 * bias 0, so q = k = 0, the scores are all 0 and softmax is exactly
 * 0.5/0.5; both tokens' attention output is (LN1(x1) + LN1(x2)) / 2
 *       = [-0.95274197, -0.73452428, ..., 0.35656413, 2.08662243].
 * proj = identity, bias 0; a = x + attn:
 *   a1 = [0.04725803, 1.26547572, ..., 10.08662243]
 *   a2 = [1.04725803, 1.26547572, ..., 6.08662243]
 * mlp1 (16, 8): identity into hidden 0..7 with bias 1; hidden 8..15 have
 * weight rows of 7 and bias -1 (the LN2 rows sum to 0, so they hold
 * hswish(-1) = -1/3), but mlp2 reads none of them: mlp2 (8, 16) = [0.5 I | 0], bias 0.  y = a + 0.5 hid:
 *   y1 = [-0.04539968, 1.25534683, 2.58171719, 3.93371139, 5.31132943,
 *         6.71457132, 8.14343705, 11.43861913]
 *   y2 = [1.10105111, 1.36209802, 1.62664197, 1.89468297, 2.16622102,
 *         2.44125610, 2.71978823, 7.85999431]
 */
START_TEST(test_vit_block_hand)
{
	enum { T = 2, C = 8, NH = 1, R = 2, HID = R * C };
	static const float x[T * C] = {
		1, 2, 3, 4, 5, 6, 7, 8,
		2, 2, 2, 2, 2, 2, 2, 4,
	};
	static const double y_hand[T * C] = {
		-0.04539968, 1.25534683, 2.58171719, 3.93371139, 5.31132943,
		6.71457132, 8.14343705, 11.43861913,
		1.10105111, 1.36209802, 1.62664197, 1.89468297, 2.16622102,
		2.44125610, 2.71978823, 7.85999431,
	};
	float ln_w[C], ln_b[C], w_qkv[3 * C * C], b_qkv[3 * C];
	float w_proj[C * C], b_proj[C], w_m1[HID * C], b_m1[HID];
	float w_m2[C * HID], b_m2[C];
	float l1[T * C], mean1[T], rstd1[T], qkv[T * 3 * C], att[NH * T * T];
	float at[T * C], pr[T * C], a[T * C], l2[T * C], mean2[T], rstd2[T];
	float hpre[T * HID], hid[T * HID], m2[T * C], y[T * C];
	double wl1[T * C], wat[C], wa[T * C], wl2[T * C], whid[T * HID];
	double wy[T * C], xd[C];
	nn_ctx *ctx;
	h4h_err err;
	char what[64];

	for (int i = 0; i < C; i++) {
		ln_w[i] = 1.0f;
		ln_b[i] = 0.0f;
	}
	memset(w_qkv, 0, sizeof w_qkv);
	memset(b_qkv, 0, sizeof b_qkv);
	for (int i = 0; i < C; i++)
		w_qkv[(2 * C + i) * C + i] = 1.0f;	/* v = LN1(x) */
	memset(w_proj, 0, sizeof w_proj);
	memset(b_proj, 0, sizeof b_proj);
	for (int i = 0; i < C; i++)
		w_proj[i * C + i] = 1.0f;
	for (int o = 0; o < HID; o++) {
		for (int i = 0; i < C; i++)
			w_m1[o * C + i] = o < C ? (o == i ? 1.0f : 0.0f) :
			    7.0f;
		b_m1[o] = o < C ? 1.0f : -1.0f;
	}
	memset(w_m2, 0, sizeof w_m2);
	memset(b_m2, 0, sizeof b_m2);
	for (int i = 0; i < C; i++)
		w_m2[i * HID + i] = 0.5f;

	/* vit_block's chain, the ops called as model.c's forward calls
	 * them. */
	OK(nn_ctx_create(1, &ctx, &err));
	nn_layernorm_forward(l1, mean1, rstd1, x, ln_w, ln_b, T, C, 1e-5f);
	nn_linear_forward(ctx, qkv, l1, w_qkv, b_qkv, T, C, 3 * C, C);
	nn_attention_forward(at, att, qkv, NULL, NULL, 0, 1, T, C, NH);
	nn_linear_forward(ctx, pr, at, w_proj, b_proj, T, C, C, C);
	nn_residual_forward(a, x, pr, (size_t)T * C);
	nn_layernorm_forward(l2, mean2, rstd2, a, ln_w, ln_b, T, C, 1e-5f);
	nn_linear_forward(ctx, hpre, l2, w_m1, b_m1, T, C, HID, C);
	nn_hswish_forward(hid, hpre, (size_t)T * HID);
	nn_linear_forward(ctx, m2, hid, w_m2, b_m2, T, HID, C, HID);
	nn_residual_forward(y, a, m2, (size_t)T * C);
	nn_ctx_destroy(ctx);

	/* The reference, from the closed forms. */
	for (int t = 0; t < T; t++) {
		for (int i = 0; i < C; i++)
			xd[i] = x[t * C + i];
		ln_ref(wl1 + t * C, xd, C);
	}
	for (int i = 0; i < C; i++)
		wat[i] = 0.5 * wl1[i] + 0.5 * wl1[C + i];
	for (int t = 0; t < T; t++)
		for (int i = 0; i < C; i++)
			wa[t * C + i] = x[t * C + i] + wat[i];
	for (int t = 0; t < T; t++) {
		double s = 0;

		ln_ref(wl2 + t * C, wa + t * C, C);
		for (int i = 0; i < C; i++)
			s += wl2[t * C + i];
		for (int o = 0; o < HID; o++)
			whid[t * HID + o] = hswish_ref(o < C ?
			    wl2[t * C + o] + 1.0 : 7.0 * s - 1.0);
		for (int i = 0; i < C; i++)
			wy[t * C + i] = wa[t * C + i] +
			    0.5 * whid[t * HID + i];
	}

	/* The closed forms against the hand numbers in the comment. */
	NEAR(wl1[0], -1.52752378, "hand LN1(x1)[0]");
	NEAR(wl1[C + 7], 2.64572107, "hand LN1(x2)[7]");
	NEAR(wat[7], 2.08662243, "hand attn[7]");
	NEAR(wa[0], 0.04725803, "hand a1[0]");
	for (int i = 0; i < T * C; i++) {
		snprintf(what, sizeof what, "hand y[%d]", i);
		/* the hand numbers carry 8 decimals */
		ck_assert_msg(fabs(wy[i] - y_hand[i]) <= 1e-8, "%s: %.10g "
		    "vs %.10g", what, wy[i], y_hand[i]);
	}

	/* The softmax of all-zero scores is exactly one half. */
	for (int i = 0; i < NH * T * T; i++)
		ck_assert_msg(att[i] == 0.5f, "att[%d] = %.9g, want 0.5", i,
		    att[i]);
	for (int t = 0; t < T; t++) {
		for (int i = 0; i < 2 * C; i++)
			ck_assert_msg(qkv[t * 3 * C + i] == 0.0f, "token %d "
			    "q/k[%d] = %g, want 0", t, i,
			    qkv[t * 3 * C + i]);
		for (int i = 0; i < C; i++) {
			snprintf(what, sizeof what, "LN1[%d][%d]", t, i);
			NEAR(l1[t * C + i], wl1[t * C + i], what);
			snprintf(what, sizeof what, "v[%d][%d]", t, i);
			NEAR(qkv[t * 3 * C + 2 * C + i], wl1[t * C + i],
			    what);
			snprintf(what, sizeof what, "attn[%d][%d]", t, i);
			NEAR(at[t * C + i], wat[i], what);
			snprintf(what, sizeof what, "a[%d][%d]", t, i);
			NEAR(a[t * C + i], wa[t * C + i], what);
			snprintf(what, sizeof what, "LN2[%d][%d]", t, i);
			NEAR(l2[t * C + i], wl2[t * C + i], what);
			snprintf(what, sizeof what, "y[%d][%d]", t, i);
			NEAR(y[t * C + i], wy[t * C + i], what);
		}
		for (int o = 0; o < HID; o++) {
			snprintf(what, sizeof what, "hidden[%d][%d]", t, o);
			NEAR(hid[t * HID + o], whid[t * HID + o], what);
		}
		/* the ignored hidden units are live, so mlp2 really does
		 * skip them */
		ck_assert(fabs(hid[t * HID + C]) > 0.1f);
	}
}
END_TEST

static Suite *
nn_blocks_suite(void)
{
	Suite *s = suite_create("nn_blocks");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_mbconv_hand);
	tcase_add_test(tc, test_vit_block_hand);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nn_blocks_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
