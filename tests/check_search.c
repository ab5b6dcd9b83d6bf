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

#include "nas/accdata.h"
#include "nas/gene.h"
#include "nas/predictor.h"
#include "nas/search.h"
#include "nas/space.h"
#include "nas/stats.h"

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

/* With an accuracy dataset, its best subnets within the budget start the
 * population at no evaluation cost: the winner is never worse than the
 * dataset's best within budget (here a planted 0.99), the dataset's
 * subnets are never evaluated again, and the start beats the same search
 * without the dataset. */
START_TEST(test_search_dataset_start)
{
	nas_space *s = load_proxy();
	nas_search_cfg cfg;
	double minc[NAS_METRIC_COUNT];
	nas_gene dg[200];
	double dy[200];
	problem pd;
	int better = 0;
	h4h_err err;

	small_cfg(&cfg);
	cfg.generations = 2;
	cfg.real_per_gen = 2;
	pd.s = s;
	nas_accdata_sample(s, 200, 5, 0, dg);
	for (int i = 0; i < 200; i++)
		dy[i] = synth_acc1(&pd, &dg[i]);
	/* A planted score no synthetic subnet reaches, on the smallest
	 * subnet (within every budget): only the dataset knows it, so it
	 * wins only if the dataset's scores start the search as real ones. */
	nas_gene_min(s, 1, &dg[199]);
	dy[199] = 0.99;
	for (int b = 0; b < 5; b++) {
		problem p1, p2;
		nas_search *A, *R;
		nas_search_result ra, rr;
		double budget, best = -1;

		A = make_search(s, &p1, &cfg);
		R = make_search(s, &p2, &cfg);
		nas_search_set_dataset(A, dg, dy, 200);
		OK(nas_search_min_cost(A, minc, &err));
		budget = minc[NAS_METRIC_LATENCY] * (1.5 + 0.4 * b);
		for (int i = 0; i < 200; i++) {
			double c[NAS_METRIC_COUNT];

			OK(synth_cost(NULL, &dg[i], c, &err));
			if (c[NAS_METRIC_LATENCY] <= budget && dy[i] > best)
				best = dy[i];
		}
		OK(nas_search_run(A, NAS_METRIC_LATENCY, budget, &ra, &err));
		OK(nas_search_run(R, NAS_METRIC_LATENCY, budget, &rr, &err));
		ck_assert(ra.cost[NAS_METRIC_LATENCY] <= budget);
		ck_assert_msg(ra.acc >= best, "budget %d: winner %.4f below the "
		    "dataset's best %.4f", b, ra.acc, best);
		ck_assert(best == 0.99);
		ck_assert_int_eq(p1.acc_genes, ra.real_evals);
		better += ra.acc > rr.acc;
		nas_search_result_free(&ra);
		nas_search_result_free(&rr);
		nas_search_destroy(A);
		nas_search_destroy(R);
	}
	ck_assert_int_eq(better, 5);
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
	nas_search_result_free(&ra);
	nas_search_destroy(A);
	nas_space_destroy(s);
}
END_TEST

/* Aging evolution without the predictor against random search given the
 * same real evaluations, on 4 budgets of the synthetic landscape: better
 * on at least 3 and by at least half a point on average.  Random search
 * in evolution's place (or a selection that ignores fitness) fails this:
 * the two would tie in expectation. */
START_TEST(test_aging_beats_random)
{
	nas_space *s = load_proxy();
	nas_search_cfg cfg;
	double minc[NAS_METRIC_COUNT], gain = 0;
	int gt = 0;
	h4h_err err;

	for (int b = 0; b < 4; b++) {
		problem p1, p2;
		nas_search *A, *R;
		nas_search_result ra, rr;
		double budget;

		small_cfg(&cfg);
		cfg.algorithm = NAS_EVO_AGING;
		cfg.predictor = 0;
		cfg.sample_size = 10;
		cfg.seed = 3 + b;
		A = make_search(s, &p1, &cfg);
		R = make_search(s, &p2, &cfg);
		OK(nas_search_min_cost(A, minc, &err));
		budget = minc[NAS_METRIC_ENERGY] * (1.8 + 0.3 * b);
		OK(nas_search_run(A, NAS_METRIC_ENERGY, budget, &ra, &err));
		OK(nas_search_random(R, NAS_METRIC_ENERGY, budget,
		    (int)ra.real_evals, 77 + b, &rr, &err));
		ck_assert(ra.cost[NAS_METRIC_ENERGY] <= budget);
		ck_assert(rr.cost[NAS_METRIC_ENERGY] <= budget);
		ck_assert_int_le(p2.acc_genes, ra.real_evals);
		gt += ra.acc > rr.acc;
		gain += (ra.acc - rr.acc) / 4;
		nas_search_result_free(&ra);
		nas_search_result_free(&rr);
		nas_search_destroy(A);
		nas_search_destroy(R);
	}
	ck_assert_msg(gt >= 3 && gain >= 0.005, "aging evolution beat random "
	    "search on %d of 4 budgets, mean gain %.4f", gt, gain);
	nas_space_destroy(s);
}
END_TEST

/* The accuracy dataset's sample: the smallest and largest subnets first,
 * every choice of every decision present, no duplicate, the same list
 * for the same seed; gene texts parse back to the same genes. */
START_TEST(test_accdata_sample)
{
	nas_space *s = load_proxy();
	enum { N = 120 };
	nas_gene g[N], h[N], mn, mx, back;
	int nd = nas_space_decisions(s);
	h4h_err err;

	nas_accdata_sample(s, N, 5, 0, g);
	nas_accdata_sample(s, N, 5, 0, h);
	nas_gene_min(s, 0, &mn);
	nas_gene_max(s, 0, &mx);
	ck_assert_int_eq(memcmp(&g[0], &mn, sizeof mn), 0);
	ck_assert_int_eq(memcmp(&g[1], &mx, sizeof mx), 0);
	ck_assert_int_eq(memcmp(g, h, sizeof g), 0);
	for (int d = 0; d < nd; d++) {
		int st, key, nc = nas_space_choices(s, d, &st, &key);

		for (int c = 0; c < nc; c++) {
			int k = 0;

			for (int i = 0; i < N; i++)
				k += g[i].c[d] == c;
			/* dealt N/nc times; depth-0 stages zero some */
			ck_assert_msg(k >= N / nc / 3, "decision %d choice %d "
			    "drawn %d times", d, c, k);
		}
	}
	for (int i = 0; i < N; i++) {
		char text[1024];

		OK(nas_gene_check(s, &g[i], &err));
		for (int j = 0; j < i; j++)
			ck_assert(memcmp(&g[i], &g[j], sizeof g[i]) != 0);
		nas_gene_text(s, &g[i], text, sizeof text);
		OK(nas_gene_parse_text(s, text, &back, &err));
		ck_assert_int_eq(memcmp(&back, &g[i], sizeof back), 0);
	}
	ck_assert_int_eq(nas_gene_parse_text(s, "h4h-fmnist:1|2", &back,
	    &err), H4H_EINPUT);
	ck_assert_int_eq(nas_gene_parse_text(s, "other:1", &back, &err),
	    H4H_EINPUT);
	nas_space_destroy(s);
}
END_TEST

/* Wilson's interval, McNemar's exact test, the paired bootstrap and
 * Kendall's tau against hand computations. */
START_TEST(test_intervals)
{
	double lo, hi;
	nas_paired pc;
	unsigned char a[1000], b[1000];
	double x[4] = { 1, 2, 3, 4 }, y[4] = { 1, 3, 2, 4 };
	double t[4] = { 1, 1, 2, 3 }, u[4] = { 1, 2, 3, 4 };

	/* 81 of 100: p = .81, z^2 = 3.841459, mid = (.81 + .0192073) /
	 * 1.0384146 = .798534, half = 1.959964 / 1.0384146 * sqrt(.81 * .19
	 * / 100 + 3.841459 / 40000) = .076320 */
	nas_wilson(81, 100, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.722212, 2e-6);
	ck_assert_double_eq_tol(hi, 0.874852, 2e-6);
	/* all right: the upper end is 1, the lower n / (n + z^2) */
	nas_wilson(50, 50, &lo, &hi);
	ck_assert_double_eq_tol(lo, 50 / (50 + NAS_Z95 * NAS_Z95), 1e-9);
	ck_assert_double_eq(hi, 1);
	/* McNemar b = 10, c = 2: 2 (1 + 12 + 66) / 4096 */
	ck_assert_double_eq_tol(nas_mcnemar_exact(10, 2), 158.0 / 4096,
	    1e-12);
	ck_assert_double_eq_tol(nas_mcnemar_exact(2, 10), 158.0 / 4096,
	    1e-12);
	ck_assert_double_eq(nas_mcnemar_exact(3, 3), 1);
	ck_assert_double_eq(nas_mcnemar_exact(0, 0), 1);
	/* 1000 images, a alone right on 60, b alone on 30: diff .03, the
	 * paired normal sd sqrt((90/1000 - .03^2) / 1000) = .009439, so
	 * the 95 % interval is about [.0115, .0485] */
	for (int i = 0; i < 1000; i++) {
		a[i] = i < 60 || i >= 500;
		b[i] = (i >= 60 && i < 90) || i >= 500;
	}
	nas_paired_compare(a, b, 1000, &pc);
	ck_assert_int_eq(pc.a_only, 60);
	ck_assert_int_eq(pc.b_only, 30);
	ck_assert_double_eq_tol(pc.diff, 0.03, 1e-12);
	ck_assert_msg(fabs(pc.lo - 0.0115) < 0.003 && fabs(pc.hi - 0.0485) <
	    0.003, "bootstrap [%.4f, %.4f]", pc.lo, pc.hi);
	ck_assert(pc.significant);
	ck_assert(pc.p_mcnemar < 0.01);
	/* 12 against 8 discordant images: the interval holds 0 */
	nas_paired_from_counts(1000, 12, 8, &pc);
	ck_assert(pc.lo < 0 && pc.hi > 0);
	ck_assert(!pc.significant);
	ck_assert(pc.p_mcnemar > 0.4);
	/* tau: 5 concordant pairs, 1 discordant: 4/6; with a tie in t,
	 * tau-b = (5 - 0) / sqrt(5 * 6) */
	ck_assert_double_eq_tol(nas_kendall(x, y, 4), 4.0 / 6, 1e-12);
	ck_assert_double_eq_tol(nas_kendall(t, u, 4), 5 / sqrt(30), 1e-12);
	ck_assert_double_eq(nas_kendall(x, y, 1), 0);
}
END_TEST

/* Cross-validation on a synthetic dataset whose rank correlation is
 * known: y is the landscape plus noise, so no model can rank the
 * held-out part better than the landscape itself does (rho_max = 0.958
 * here); each model gets within 0.2 of it (ridge 0.88, MLP 0.85, forest
 * 0.79 when written).  On pure noise the ridge's and the
 * forest's cross-validated rho are near 0. */
START_TEST(test_predictor_compare)
{
	nas_space *s = load_proxy();
	problem p = { s, 0, 0 };
	enum { N = 300 };
	nas_gene g[N];
	double y[N], f[N], z[N];
	int kinds[3] = { NAS_PRED_RIDGE, NAS_PRED_MLP, NAS_PRED_FOREST };
	nas_pred_cmp_cfg cfg = { 5, 0.2, 4 };
	nas_pred_eval ev[3], evz[3];
	nn_rng r;
	h4h_err err;
	double rho_max;

	nn_rng_seed(&r, 21, 2);
	for (int i = 0; i < N; i++) {
		nas_gene_sample(s, 0, &r, &g[i]);
		f[i] = synth_acc1(&p, &g[i]);
		y[i] = f[i] + 0.01 * nn_rng_normal(&r);
		z[i] = nn_rng_uniform(&r);
	}
	/* the held-out part is the last 20 % after the seeded shuffle; the
	 * landscape's rho there is the ceiling, computed the same way */
	{
		int perm[N];
		double a[N], b[N];
		int nte = 60;

		for (int i = 0; i < N; i++)
			perm[i] = i;
		nn_rng_seed(&r, cfg.seed, 0x43560);
		nn_rng_shuffle(&r, perm, N);
		for (int i = 0; i < nte; i++) {
			a[i] = f[perm[N - nte + i]];
			b[i] = y[perm[N - nte + i]];
		}
		rho_max = nas_spearman(a, b, nte);
	}
	OK(nas_predictor_compare(s, g, y, N, &cfg, kinds, 3, ev, &err));
	/* the MLP's fits take seconds each: noise for the other two */
	OK(nas_predictor_compare(s, g, z, N, &cfg, kinds, 1, evz, &err));
	OK(nas_predictor_compare(s, g, z, N, &cfg, kinds + 2, 1, evz + 2,
	    &err));
	evz[1] = evz[0];
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(ev[k].n_test, 60);
		ck_assert_int_eq(ev[k].n_train, 240);
		ck_assert_msg(ev[k].rho <= rho_max + 0.05 && ev[k].rho >=
		    rho_max - 0.2, "%s: held-out rho %.3f, ceiling %.3f",
		    nas_pred_name(kinds[k]), ev[k].rho, rho_max);
		ck_assert_msg(ev[k].cv_rho > 0.6 && ev[k].tau > 0.45,
		    "%s: cv rho %.3f tau %.3f", nas_pred_name(kinds[k]),
		    ev[k].cv_rho, ev[k].tau);
		ck_assert_msg(fabs(evz[k].cv_rho) < 0.2, "%s on noise: cv rho "
		    "%.3f", nas_pred_name(kinds[k]), evz[k].cv_rho);
	}
	ck_assert_int_eq(nas_predictor_compare(s, g, y, 8, &cfg, kinds, 1, ev,
	    &err), H4H_EINPUT);
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
	TCase *preds = tcase_create("Predictors");

	tcase_add_test(core, test_operators_in_space);
	tcase_add_test(core, test_spearman);
	tcase_add_test(core, test_predictor_rho);
	tcase_add_test(core, test_search_budget_deterministic);
	tcase_add_test(core, test_search_beats_random);
	tcase_add_test(core, test_search_dataset_start);
	tcase_add_test(core, test_search_no_predictor_and_aging);
	tcase_add_test(core, test_aging_beats_random);
	tcase_add_test(core, test_intervals);
	tcase_add_test(core, test_accdata_sample);
	tcase_add_test(errs, test_budget_below_min);
	/* the MLP's cross-validation: 6 fits of seconds each */
	tcase_set_timeout(preds, 600);
	tcase_add_test(preds, test_predictor_compare);
	suite_add_tcase(s, core);
	suite_add_tcase(s, preds);
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
