/*
 * check_nn_optim.c - AdamW, the cosine schedule with warmup, gradient
 * clipping and the parameter table (optim.c).
 *
 * The AdamW case is two steps worked by hand (lr 0.1, betas 0.9/0.999,
 * wd 0.5) on a slab holding a decayed tensor "w" of two floats and an
 * undecayed "b" of one, with a float between them that no tensor owns:
 *
 *   step 1, g = (0.5, -1, 2): m = 0.1 g, v = 0.001 g^2, and after bias
 *   correction m^/sqrt(v^) = sign(g), so w = 0.95 w - 0.1 sign(g) =
 *   (0.85, -1.8) and b = 0.5 - 0.1 = 0.4 (no decay on b).
 *   step 2, g = (-0.5, 0.25, 1): m_w0 = 0.9*0.05 - 0.05 = -0.005,
 *   v_w0 = 0.999*0.00025 + 0.00025 = 0.00049975; m^ = -0.005/0.19,
 *   v^ = 0.00049975/0.001999 = 0.25, so w0 = 0.95*0.85 + 0.1*0.0263158/0.5
 *   = 0.8127632; likewise w1 = -1.6630532, b = 0.3067820.
 *   Without decay: (0.9, -1.9) then (0.9052632, -1.8530532).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/optim.h"

static const nn_param tab2[2] = {
	{ "w", 0, 1, { 2 }, 1 },
	{ "b", 3, 1, { 1 }, 0 },
};

static void
two_steps(float wd, float out[2][4])
{
	nn_adamw_cfg c = nn_adamw_defaults(wd);
	float p[4] = { 1.0f, -2.0f, 7.0f, 0.5f };
	float m[4] = { 0 }, v[4] = { 0 };
	float g1[4] = { 0.5f, -1.0f, 3.0f, 2.0f };
	float g2[4] = { -0.5f, 0.25f, 3.0f, 1.0f };

	nn_adamw_step(&c, 0.1f, 1, 1.0f, p, g1, m, v, tab2, 2);
	memcpy(out[0], p, sizeof p);
	nn_adamw_step(&c, 0.1f, 2, 1.0f, p, g2, m, v, tab2, 2);
	memcpy(out[1], p, sizeof p);
	/* The float no tensor owns is never touched. */
	ck_assert_float_eq(m[2], 0.0f);
	ck_assert_float_eq(v[2], 0.0f);
}

START_TEST(test_adamw_two_steps_decay)
{
	float p[2][4];

	two_steps(0.5f, p);
	ck_assert_float_eq_tol(p[0][0], 0.85f, 1e-6);
	ck_assert_float_eq_tol(p[0][1], -1.8f, 1e-6);
	ck_assert_float_eq(p[0][2], 7.0f);
	ck_assert_float_eq_tol(p[0][3], 0.4f, 1e-6);
	ck_assert_float_eq_tol(p[1][0], 0.8127632f, 1e-6);
	ck_assert_float_eq_tol(p[1][1], -1.6630532f, 1e-6);
	ck_assert_float_eq(p[1][2], 7.0f);
	ck_assert_float_eq_tol(p[1][3], 0.3067820f, 1e-6);
}
END_TEST

START_TEST(test_adamw_two_steps_no_decay)
{
	float p[2][4], q[2][4];

	two_steps(0.0f, p);
	ck_assert_float_eq_tol(p[0][0], 0.9f, 1e-6);
	ck_assert_float_eq_tol(p[0][1], -1.9f, 1e-6);
	ck_assert_float_eq_tol(p[1][0], 0.9052632f, 1e-6);
	ck_assert_float_eq_tol(p[1][1], -1.8530532f, 1e-6);
	/* b is not flagged: its trajectory is the same with or without
	 * decay, bit for bit. */
	two_steps(0.5f, q);
	ck_assert_float_eq(p[0][3], q[0][3]);
	ck_assert_float_eq(p[1][3], q[1][3]);
}
END_TEST

/* A zero gradient: a decayed weight shrinks by exactly (1 - lr wd), an
 * undecayed one does not move. */
START_TEST(test_adamw_zero_grad)
{
	nn_adamw_cfg c = nn_adamw_defaults(0.05f);
	float p[4] = { 2.0f, -4.0f, 1.0f, 3.0f }, g[4] = { 0 };
	float m[4] = { 0 }, v[4] = { 0 };
	float keep = 1.0f - 0.002f * 0.05f;

	nn_adamw_step(&c, 0.002f, 1, 1.0f, p, g, m, v, tab2, 2);
	ck_assert_float_eq(p[0], 2.0f * keep);
	ck_assert_float_eq(p[1], -4.0f * keep);
	ck_assert_float_eq(p[3], 3.0f);
}
END_TEST

/* gscale folds clipping into the step: same result as scaling g first. */
START_TEST(test_adamw_gscale)
{
	nn_adamw_cfg c = nn_adamw_defaults(0.1f);
	float p1[4] = { 1, 2, 3, 4 }, p2[4] = { 1, 2, 3, 4 };
	float g[4] = { 0.5f, -0.25f, 1.0f, 2.0f }, gs[4];
	float m1[4] = { 0 }, v1[4] = { 0 }, m2[4] = { 0 }, v2[4] = { 0 };
	int i, t;

	for (i = 0; i < 4; i++)
		gs[i] = g[i] * 0.5f;
	for (t = 1; t <= 3; t++) {
		nn_adamw_step(&c, 0.01f, t, 0.5f, p1, g, m1, v1, tab2, 2);
		nn_adamw_step(&c, 0.01f, t, 1.0f, p2, gs, m2, v2, tab2, 2);
	}
	ck_assert_mem_eq(p1, p2, sizeof p1);
	ck_assert_mem_eq(v1, v2, sizeof v1);
}
END_TEST

START_TEST(test_sched_values)
{
	nn_sched s = { 0.1f, 0.01f, 10, 110 };
	nn_sched c = { 2e-3f, 0.0f, 0, 1000 };
	h4h_err e;

	ck_assert_int_eq(nn_sched_check(&s, &e), 0);
	ck_assert_float_eq_tol(nn_sched_lr(&s, 0), 0.01f, 1e-7);
	ck_assert_float_eq_tol(nn_sched_lr(&s, 4), 0.05f, 1e-7);
	ck_assert_float_eq_tol(nn_sched_lr(&s, 9), 0.1f, 1e-7);
	ck_assert_float_eq_tol(nn_sched_lr(&s, 10), 0.1f, 1e-7);
	/* a quarter of the cosine: 0.01 + 0.045 (1 + cos(pi/4)) */
	ck_assert_float_eq_tol(nn_sched_lr(&s, 35), 0.0868198f, 1e-6);
	ck_assert_float_eq_tol(nn_sched_lr(&s, 60), 0.055f, 1e-7);
	/* 0.01 + 0.045 (1 + cos(0.99 pi)) */
	ck_assert_float_eq_tol(nn_sched_lr(&s, 109), 0.0100222f, 1e-7);
	ck_assert_float_eq(nn_sched_lr(&s, 110), 0.01f);
	ck_assert_float_eq(nn_sched_lr(&s, 5000), 0.01f);
	/* No warmup, to 0: the recipe, torch's CosineAnnealingLR. */
	ck_assert_float_eq(nn_sched_lr(&c, 0), 2e-3f);
	ck_assert_float_eq_tol(nn_sched_lr(&c, 500), 1e-3f, 1e-9);
	ck_assert_float_eq_tol(nn_sched_lr(&c, 750), 2.9289322e-4f, 1e-9);
	ck_assert_float_eq(nn_sched_lr(&c, 1000), 0.0f);
}
END_TEST

START_TEST(test_clip)
{
	float g[4] = { 3.0f, 0.0f, -4.0f, 0.0f }, h[4];
	double norm;

	memcpy(h, g, sizeof g);
	ck_assert_double_eq_tol(nn_grad_norm(g, 4), 5.0, 1e-12);
	norm = nn_grad_clip(g, 4, 10.0f);
	ck_assert_double_eq_tol(norm, 5.0, 1e-12);
	ck_assert_mem_eq(g, h, sizeof g);	/* under the limit: untouched */
	norm = nn_grad_clip(g, 4, 1.0f);
	ck_assert_double_eq_tol(norm, 5.0, 1e-12);
	ck_assert_float_eq_tol(g[0], 0.6f, 1e-6);
	ck_assert_float_eq_tol(g[2], -0.8f, 1e-6);
	ck_assert_double_eq_tol(nn_grad_norm(g, 4), 1.0, 1e-6);
	ck_assert_float_eq(nn_grad_clip_scale(5.0, 0.0f), 1.0f);
	ck_assert_float_eq_tol(nn_grad_clip_scale(4.0, 2.0f), 0.5f, 1e-6);
}
END_TEST

START_TEST(test_clip_large)
{
	size_t n = 1000003, i;
	float *g = malloc(sizeof *g * n);

	for (i = 0; i < n; i++)
		g[i] = (i % 2) ? 0.5f : -0.5f;
	ck_assert_double_eq_tol(nn_grad_clip(g, n, 1.0f), 0.5 * sqrt(n), 1e-6);
	ck_assert_double_eq_tol(nn_grad_norm(g, n), 1.0, 1e-5);
	free(g);
}
END_TEST

START_TEST(test_param_table)
{
	nn_param t[3] = {
		{ "stem.w", 0, 4, { 16, 1, 3, 3 }, 1 },
		{ "stem.bn.g", 144, 1, { 16 }, 0 },
		{ "stem.bn.b", 160, 1, { 16 }, 0 },
	};
	h4h_err e;

	ck_assert_uint_eq(nn_param_count(&t[0]), 144);
	ck_assert_int_eq(nn_param_table_check(t, 3, 176, &e), 0);
	ck_assert_int_eq(nn_param_table_check(t, 3, 175, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "parameter 'stem.bn.b' (16 floats at 160) "
	    "overruns the 175-float slab");
	t[2].offset = 150;
	ck_assert_int_eq(nn_param_table_check(t, 3, 176, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "parameters 'stem.bn.g' and 'stem.bn.b' "
	    "overlap");
	t[2].offset = 160;
	t[1].dims[0] = 0;
	ck_assert_int_eq(nn_param_table_check(t, 3, 176, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "parameter 'stem.bn.g' dimension 0 is 0");
}
END_TEST

START_TEST(test_cfg_errors)
{
	nn_adamw_cfg c = nn_adamw_defaults(0.05f);
	nn_sched s = { 1e-3f, 0.0f, 20, 10 };
	h4h_err e;

	ck_assert_int_eq(nn_adamw_check(&c, &e), 0);
	c.beta2 = 1.0f;
	ck_assert_int_eq(nn_adamw_check(&c, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "adamw: beta2 must be in [0, 1) (got 1)");
	c = nn_adamw_defaults(-1.0f);
	ck_assert_int_eq(nn_adamw_check(&c, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "adamw: weight decay must be >= 0 (got -1)");
	ck_assert_int_eq(nn_sched_check(&s, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "schedule: warmup steps must be in 0..10 "
	    "(got 20)");
	s.warmup = 0;
	s.lr_max = 0.0f;
	ck_assert_int_eq(nn_sched_check(&s, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "schedule: learning rate must be > 0 (got 0)");
}
END_TEST

static Suite *
nn_optim_suite(void)
{
	Suite *s = suite_create("nn_optim");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_adamw_two_steps_decay);
	tcase_add_test(tc, test_adamw_two_steps_no_decay);
	tcase_add_test(tc, test_adamw_zero_grad);
	tcase_add_test(tc, test_adamw_gscale);
	tcase_add_test(tc, test_sched_values);
	tcase_add_test(tc, test_clip);
	suite_add_tcase(s, tc);
	tc = tcase_create("Limits");
	tcase_add_test(tc, test_clip_large);
	suite_add_tcase(s, tc);
	tc = tcase_create("Errors");
	tcase_add_test(tc, test_param_table);
	tcase_add_test(tc, test_cfg_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nn_optim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
