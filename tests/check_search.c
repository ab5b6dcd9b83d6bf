/*
 * check_search.c - the evolutionary search, its operators and the accuracy
 * predictor (src/nas/search.c, predictor.c), on the shipped proxy space
 * with synthetic costs and accuracies, so every answer is known.
 *
 * Core: mutation and crossover stay inside the space at the stated rates;
 * Spearman's rho against a hand computation; the predictor ranks a
 * held-out fixture above rho 0.9; every winner meets its budget, the same
 * seed gives the same search, and evolution beats random search with the
 * same number of real evaluations on at least 4 of 5 budgets (and
 * strictly on one); without the predictor every child is evaluated once;
 * aging evolution meets its budget too.
 * Errors: a budget below the smallest subnet's cost names that cost.
 */
#define _POSIX_C_SOURCE 200809L
#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nas/gene.h"
#include "nas/predictor.h"
#include "nas/search.h"
#include "nas/space.h"

#define OK(call) do { \
	int rc_ = (call); \
	ck_assert_msg(rc_ == 0, "%s: %d: %s", #call, rc_, err.msg); \
} while (0)

static nas_space *
load_proxy(void)
{
	char path[1024];
	nas_space *s;
	h4h_err err;

	tu_src_path(path, sizeof path, "spaces/h4h-fmnist.json");
	OK(nas_space_load(path, &s, &err));
	return s;
}

/* The synthetic problem: latency grows with every choice index (more
 * channels, blocks, pixels cost more), energy likewise with other
 * weights; accuracy is an additive function of the choices with weights
 * that do not follow the cost, plus one interaction (a ViT block helps
 * only at the larger resolutions), so cheap and accurate disagree. */
typedef struct problem {
	const nas_space *s;
	long long acc_calls, acc_genes;
} problem;

static double
weight(int d, int salt)
{
	unsigned x = (unsigned)(d * 2654435761u) ^ (unsigned)salt * 40503u;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return (x % 1000) / 1000.0;
}

static int
synth_cost(void *ctx, const nas_gene *g, double c[NAS_METRIC_COUNT],
    h4h_err *err)
{
	(void)ctx;
	(void)err;
	c[0] = c[1] = 1e-3;
	for (int d = 0; d < g->n; d++) {
		c[NAS_METRIC_LATENCY] += 1e-4 * g->c[d] * (1 + d % 3);
		c[NAS_METRIC_ENERGY] += 1e-5 * g->c[d] * (1 + weight(d, 7));
	}
	return 0;
}

static double
synth_acc1(const problem *p, const nas_gene *g)
{
	double a = 0.5, tot = 0;

	for (int d = 0; d < g->n; d++) {
		int st, key, n = nas_space_choices(p->s, d, &st, &key);

		a += 0.3 * weight(d, 1) * g->c[d] / (n > 1 ? n - 1 : 1);
		tot += 0.3 * weight(d, 1);
	}
	a = 0.5 + (a - 0.5) / tot * 0.4;
	if (nas_gene_has_vit(p->s, g))
		a += g->c[0] >= 2 ? 0.02 : -0.02;
	return a < 0 ? 0 : a > 1 ? 1 : a;
}

static int
synth_acc(void *ctx, const nas_gene *g, int n, double *acc, h4h_err *err)
{
	problem *p = ctx;

	(void)err;
	p->acc_calls++;
	p->acc_genes += n;
	for (int i = 0; i < n; i++)
		acc[i] = synth_acc1(p, &g[i]);
	return 0;
}

static nas_search *
make_search(const nas_space *s, problem *p, const nas_search_cfg *cfg)
{
	nas_search_ops ops = { p, synth_cost, synth_acc, NULL };
	nas_search *S;

	memset(p, 0, sizeof *p);
	p->s = s;
	ck_assert_int_eq(nas_search_create(s, cfg, &ops, &S), 0);
	return S;
}

/* ---- Core --------------------------------------------------------------- */

START_TEST(test_operators_in_space)
{
	nas_space *s = load_proxy();
	nas_gene max, a, b, out;
	nn_rng r;
	h4h_err err;
	int res_changed = 0, width_changed = 0, N = 4000;

	nas_gene_max(s, 0, &max);
	nn_rng_seed(&r, 5, 1);
	for (int i = 0; i < N; i++) {
		nas_gene_mutate_res(s, &max, 0.1, 0.5, 0, &r, &out);
		OK(nas_gene_check(s, &out, &err));
		res_changed += out.c[0] != max.c[0];
		width_changed += out.c[1] != max.c[1];	/* Conv-0 width */
		nas_gene_sample(s, 0, &r, &a);
		nas_gene_sample(s, 1, &r, &b);
		nas_gene_crossover(s, &a, &b, &r, &out);
		OK(nas_gene_check(s, &out, &err));
		/* every decision comes from a parent (after canonicalising) */
		for (int d = 0; d < out.n; d++)
			ck_assert(out.c[d] == a.c[d] || out.c[d] == b.c[d] ||
			    out.c[d] == 0);
		/* CNN-only stays CNN-only */
		nas_gene_mutate_res(s, &b, 0.5, 0.5, 1, &r, &out);
		ck_assert(!nas_gene_has_vit(s, &out));
	}
	ck_assert_msg(fabs(res_changed / (double)N - 0.5) < 0.03,
	    "resolution mutated in %d of %d", res_changed, N);
	ck_assert_msg(fabs(width_changed / (double)N - 0.1) < 0.02,
	    "width mutated in %d of %d", width_changed, N);
	nas_space_destroy(s);
}
END_TEST

START_TEST(test_spearman)
{
	double a[5] = { 1, 2, 3, 4, 5 }, b[5] = { 5, 6, 7, 8, 7 };
	double c[5] = { 9, 7, 5, 3, 1 }, k[5] = { 2, 2, 2, 2, 2 };

	/* ranks of b: 1, 2, 3.5, 5, 3.5: rho = 8 / sqrt(10 * 9.5) */
	ck_assert_double_eq_tol(nas_spearman(a, b, 5), 8 / sqrt(95), 1e-12);
	ck_assert_double_eq_tol(nas_spearman(a, c, 5), -1, 1e-12);
	ck_assert_double_eq(nas_spearman(a, k, 5), 0);
	ck_assert_double_eq(nas_spearman(a, b, 1), 0);
}
END_TEST

/* Fitted on 300 genes of the synthetic landscape with noise, the ridge
 * predictor ranks 100 held-out genes at rho >= 0.9 (doc/search.md). */
START_TEST(test_predictor_rho)
{
	nas_space *s = load_proxy();
	problem p = { s, 0, 0 };
	nas_predictor *pr;
	nas_gene g[400];
	double y[400], pred[100], truth[100], rho;
	nn_rng r;
	h4h_err err;

	nn_rng_seed(&r, 11, 2);
	for (int i = 0; i < 400; i++) {
		nas_gene_sample(s, 0, &r, &g[i]);
		y[i] = synth_acc1(&p, &g[i]) + 0.005 * nn_rng_normal(&r);
	}
	OK(nas_predictor_create(s, &pr));
	OK(nas_predictor_fit(pr, g, y, 300, &err));
	for (int i = 0; i < 100; i++) {
		pred[i] = nas_predictor_predict(pr, &g[300 + i]);
		truth[i] = y[300 + i];
	}
	rho = nas_spearman(pred, truth, 100);
	ck_assert_msg(rho >= 0.9, "held-out rho %.3f", rho);
	ck_assert(nas_predictor_lambda(pr) > 0);
	ck_assert_int_ne(nas_predictor_fit(pr, g, y, 1, &err), 0);
	nas_predictor_destroy(pr);
	nas_space_destroy(s);
}
END_TEST

static void
small_cfg(nas_search_cfg *c)
{
	nas_search_defaults(c);
	c->population = 40;
	c->generations = 8;
	c->warmup = 60;
	c->holdout = 15;
	c->real_per_gen = 6;
}

START_TEST(test_search_budget_deterministic)
{
	nas_space *s = load_proxy();
	nas_search_cfg cfg;
	problem p1, p2;
	nas_search *A, *B;
	nas_search_result ra, rb;
	double minc[NAS_METRIC_COUNT], budget;
	h4h_err err;

	small_cfg(&cfg);
	A = make_search(s, &p1, &cfg);
	B = make_search(s, &p2, &cfg);
	OK(nas_search_min_cost(A, minc, &err));
	budget = minc[NAS_METRIC_LATENCY] * 2.5;
	OK(nas_search_run(A, NAS_METRIC_LATENCY, budget, &ra, &err));
	OK(nas_search_run(B, NAS_METRIC_LATENCY, budget, &rb, &err));
	ck_assert(ra.cost[NAS_METRIC_LATENCY] <= budget);
	ck_assert_int_eq(memcmp(&ra.best, &rb.best, sizeof ra.best), 0);
	ck_assert_double_eq(ra.acc, rb.acc);
	ck_assert_int_eq(ra.generations, 8);
	for (int g = 0; g < 8; g++) {
		ck_assert_double_eq(ra.gen_best[g], rb.gen_best[g]);
		if (g > 0)	/* the best so far never gets worse */
			ck_assert(ra.gen_best[g] >= ra.gen_best[g - 1]);
	}
	ck_assert(ra.gen_best[7] > ra.gen_best[0]);
	/* the accuracy comes from a real evaluation */
	ck_assert_double_eq(ra.acc, synth_acc1(&p1, &ra.best));
	/* predictor: the warm-up plus at most real_per_gen per generation
	 * and for the first population */
	ck_assert_int_le(p1.acc_genes, 60 + 9 * 6);
	ck_assert_int_eq(p1.acc_genes, ra.real_evals);
	{
		double rh, ro;
		int nh, no;

		nas_search_rho(A, &rh, &nh, &ro, &no);
		ck_assert_int_eq(nh, 15);
		ck_assert_msg(rh > 0.3, "held-out rho %.3f", rh);
		ck_assert_int_gt(no, 0);
	}
	nas_search_result_free(&ra);
	nas_search_result_free(&rb);
	nas_search_destroy(A);
	nas_search_destroy(B);
	nas_space_destroy(s);
}
END_TEST

/* With the same number of real evaluations, evolution's winner is at
 * least as accurate as random search's on at least 4 of 5 budgets and
 * strictly better on at least one. */
START_TEST(test_search_beats_random)
{
	nas_space *s = load_proxy();
	nas_search_cfg cfg;
	double minc[NAS_METRIC_COUNT];
	int geq = 0, gt = 0;
	h4h_err err;

	small_cfg(&cfg);
	for (int b = 0; b < 5; b++) {
		problem p1, p2;
		nas_search *A, *R;
		nas_search_result ra, rr;
		double budget;

		A = make_search(s, &p1, &cfg);
		R = make_search(s, &p2, &cfg);
		OK(nas_search_min_cost(A, minc, &err));
		budget = minc[NAS_METRIC_ENERGY] * (1.8 + 0.3 * b);
		OK(nas_search_run(A, NAS_METRIC_ENERGY, budget, &ra, &err));
		OK(nas_search_random(R, NAS_METRIC_ENERGY, budget,
		    (int)ra.real_evals, 99, &rr, &err));
		ck_assert(ra.cost[NAS_METRIC_ENERGY] <= budget);
		ck_assert(rr.cost[NAS_METRIC_ENERGY] <= budget);
		ck_assert_int_le(p2.acc_genes, ra.real_evals);
		geq += ra.acc >= rr.acc;
		gt += ra.acc > rr.acc;
		nas_search_result_free(&ra);
		nas_search_result_free(&rr);
		nas_search_destroy(A);
		nas_search_destroy(R);
	}
	ck_assert_msg(geq >= 4 && gt >= 1, "evolution >= random on %d of 5, "
	    "> on %d", geq, gt);
	nas_space_destroy(s);
}
END_TEST

START_TEST(test_search_no_predictor_and_aging)
{
	nas_space *s = load_proxy();
	nas_search_cfg cfg;
	problem p;
	nas_search *A;
	nas_search_result ra;
	double minc[NAS_METRIC_COUNT], budget;
	h4h_err err;

	small_cfg(&cfg);
	cfg.predictor = 0;
	cfg.generations = 4;
	A = make_search(s, &p, &cfg);
	OK(nas_search_min_cost(A, minc, &err));
	budget = minc[NAS_METRIC_LATENCY] * 2;
	OK(nas_search_run(A, NAS_METRIC_LATENCY, budget, &ra, &err));
	ck_assert(ra.cost[NAS_METRIC_LATENCY] <= budget);
	/* every distinct member evaluated once: no warm-up, no repeats */
	{
		int evaluated = 0;

		for (int i = 0; i < nas_search_count(A); i++)
			evaluated += nas_search_entry(A, i)->acc >= 0;
		ck_assert_int_eq(evaluated, p.acc_genes);
		ck_assert_int_gt(evaluated, 40);
	}
	nas_search_result_free(&ra);
	nas_search_destroy(A);

	small_cfg(&cfg);
	cfg.algorithm = NAS_EVO_AGING;
	A = make_search(s, &p, &cfg);
	OK(nas_search_run(A, NAS_METRIC_LATENCY, budget, &ra, &err));
	ck_assert(ra.cost[NAS_METRIC_LATENCY] <= budget);
	ck_assert(ra.gen_best[7] >= ra.gen_best[0]);
	nas_search_result_free(&ra);
	nas_search_destroy(A);
	nas_space_destroy(s);
}
END_TEST

/* ---- Errors ------------------------------------------------------------- */

START_TEST(test_budget_below_min)
{
	nas_space *s = load_proxy();
	nas_search_cfg cfg;
	problem p;
	nas_search *A;
	nas_search_result r;
	double minc[NAS_METRIC_COUNT];
	h4h_err err;

	small_cfg(&cfg);
	A = make_search(s, &p, &cfg);
	OK(nas_search_min_cost(A, minc, &err));
	ck_assert_double_eq_tol(minc[NAS_METRIC_LATENCY], 1e-3, 1e-12);
	ck_assert_int_eq(nas_search_run(A, NAS_METRIC_LATENCY, 0.5e-3, &r,
	    &err), H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "latency budget 0.5 ms is below the "
	    "smallest subnet's latency on this system (1 ms)") != NULL,
	    "%s", err.msg);
	ck_assert_int_eq(p.acc_genes, 0);	/* refused before any work */
	nas_search_result_free(&r);
	nas_search_destroy(A);
	nas_space_destroy(s);
}
END_TEST

static Suite *
search_suite(void)
{
	Suite *s = suite_create("search");
	TCase *core = tcase_create("Core"), *errs = tcase_create("Errors");

	tcase_add_test(core, test_operators_in_space);
	tcase_add_test(core, test_spearman);
	tcase_add_test(core, test_predictor_rho);
	tcase_add_test(core, test_search_budget_deterministic);
	tcase_add_test(core, test_search_beats_random);
	tcase_add_test(core, test_search_no_predictor_and_aging);
	tcase_add_test(errs, test_budget_below_min);
	suite_add_tcase(s, core);
	suite_add_tcase(s, errs);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(search_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
