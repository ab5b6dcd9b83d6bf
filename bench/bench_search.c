/*
 * bench_search.c - the architecture search's speed and its worth
 * (doc/search.md, bench/README.md).
 *
 * On the shipped supernet (checkpoints/) and hwprofiles/system-npu-8cim.ini:
 *   1. real accuracy evaluations per second and images per second (BN
 *      recalibration on 2,000 images, then every validation image), wall
 *      and process CPU time, on 8 random subnets; then a winner's
 *      validation and test scores with the recalibration done twice
 *      (before) and once (now), alternating in one run, and the ratio;
 *      then the fused inference forward against the two-pass reference
 *      (nn_sn_set_fused) on 4 more subnets, alternating, and whether
 *      every image's result is the same;
 *   2. each accuracy predictor's Spearman rho and Kendall tau on the
 *      accuracy dataset beside the checkpoint (H4H_BENCH_ACC names
 *      another), 5-fold cross-validated and on a held-out 20 %;
 *      H4H_BENCH_QUICK stops here;
 *   with 1,000 validation images per evaluation:
 *   3. a search of population 100 x 30 generations with the predictor
 *      (200 warm-up subnets, 10 real evaluations per generation) under a
 *      40 ms budget, twice on one database: cold, then on the warm
 *      accuracy and cost caches, the second timed against the target of
 *      60 s; oracle queries per second inside it;
 *   4. evolution (population 50, 10 generations, 100 warm-up, 5 real per
 *      generation) against random search given the same number of real
 *      evaluations, on 5 latency budgets, by validation accuracy of the
 *      winner (the fitness both maximise).
 * The database is bench-search.db in the working directory, kept between
 * runs (a second `make bench-search` starts warm); H4H_BENCH_DB names
 * another.  Timing never fails the program.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "nas/accdata.h"
#include "nas/fitness.h"
#include "nas/predictor.h"
#include "nas/recal.h"
#include "nas/search.h"
#include "nas/sntrain.h"
#include "nn/supernet.h"
#include "sim/front/arch.h"
#include "cost/db.h"
#include "cost/oracle.h"
#include "sim/spec/profile.h"

typedef struct ctx {
	const nas_space *sp;
	h4h_oracle *o;
	nas_fitness *fit;
	double cost_s, acc_s;
	long long cost_n, acc_n;
} ctx;

static int
cost_fn(void *vc, const nas_gene *g, double c[NAS_METRIC_COUNT],
    h4h_err *err)
{
	ctx *x = vc;
	sim_arch a;
	h4h_cost k;
	double t0 = h4h_now_s();
	int rc;

	nas_gene_arch(x->sp->full, g, &a);
	rc = h4h_oracle_cost_arch(x->o, &a, &k, err);
	c[NAS_METRIC_LATENCY] = k.latency_s;
	c[NAS_METRIC_ENERGY] = k.energy_j;
	x->cost_s += h4h_now_s() - t0;
	x->cost_n++;
	return rc;
}

static int
acc_fn(void *vc, const nas_gene *g, int n, double *acc, h4h_err *err)
{
	ctx *x = vc;
	double t0 = h4h_now_s();
	int rc = nas_fitness_eval(x->fit, NAS_SPLIT_VAL, g, n, acc, err);

	x->acc_s += h4h_now_s() - t0;
	x->acc_n += n;
	return rc;
}

static void
flush_fn(void *vc, const char *what, int done, int total)
{
	ctx *x = vc;
	h4h_err err;

	(void)what;
	(void)done;
	(void)total;
	h4h_oracle_flush(x->o, &err);
}

static double
cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int
die(const char *what, const h4h_err *err)
{
	fprintf(stderr, "bench_search: %s: %s\n", what, err->msg);
	return 1;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *src = getenv("H4H_SRCDIR"), *dbp = getenv("H4H_BENCH_DB");
	char ckpt[4096], sysf[4096];
	nas_supernet sn;
	sim_profile prof;
	h4h_db *db;
	ctx x;
	nas_search_ops ops;
	nas_search_cfg cfg;
	h4h_err err;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = cores > 1 ? 2 : 1;

	if (src == NULL)
		src = ".";
	if (dbp == NULL)
		dbp = "bench-search.db";
	snprintf(ckpt, sizeof ckpt, "%s/checkpoints/h4h-fmnist-tpi-unfreeze.ckpt",
	    src);
	snprintf(sysf, sizeof sysf, "%s/hwprofiles/system-npu-8cim.ini", src);
	printf("bench_search: %ld cores, %d threads, checkpoint %s, system %s, "
	    "database %s\n", cores, threads, ckpt, sysf, dbp);
	memset(&x, 0, sizeof x);
	if (nas_supernet_open(ckpt, threads, 0, &sn, &err) != 0)
		return die("supernet", &err);
	if (sim_profile_open(sysf, NULL, 0, NULL, &prof, &err) != 0)
		return die("profile", &err);
	if (h4h_db_open(dbp, H4H_DB_CREATE, &db, &err) != 0)
		return die("database", &err);
	if (h4h_oracle_open(dbp, &prof, &x.o, &err) != 0)
		return die("oracle", &err);
	x.sp = sn.sp;
	ops = (nas_search_ops){ &x, cost_fn, acc_fn, flush_fn };

	/* 1. evaluations per second, uncached (no database) */
	{
		nas_fitness *f;
		nas_gene g[24];
		double acc[24], t0, c0;
		int nval = 0, ntest = 0;
		nn_rng r;

		if (nas_fitness_open(&sn, ckpt, NULL, NULL, 0, &f, &err) != 0)
			return die("fitness", &err);
		nn_rng_seed(&r, 77, 1);
		for (int i = 0; i < 24; i++)
			nas_gene_sample(sn.sp, 0, &r, &g[i]);
		if (nas_fitness_eval(f, NAS_SPLIT_VAL, g, 1, acc, &err) != 0 ||
		    nas_fitness_images(f, NAS_SPLIT_VAL, &nval, &err) != 0 ||
		    nas_fitness_images(f, NAS_SPLIT_TEST, &ntest, &err) != 0)
			return die("evaluation", &err);	/* loads the images */
		t0 = h4h_now_s();
		c0 = cpu_s();
		if (nas_fitness_eval(f, NAS_SPLIT_VAL, g + 1, 8, acc + 1,
		    &err) != 0)
			return die("evaluation", &err);
		printf("real evaluations (recalibration on %d images + all %d "
		    "validation images): %.2f per second, %.0f images/s wall, "
		    "%.0f images/s of process CPU time (8 subnets, %.1f s)\n",
		    sn.recal_images, nval, 8 / (h4h_now_s() - t0),
		    8.0 * (sn.recal_images + nval) / (h4h_now_s() - t0),
		    8.0 * (sn.recal_images + nval) / (cpu_s() - c0),
		    h4h_now_s() - t0);
		/* a winner is scored on the validation and then the test
		 * images: before this change it was recalibrated twice, now
		 * once.  Alternating old (reuse off) and new (on) on the same
		 * subnets in one run, so load on the machine hits both. */
		{
			double tw[2] = { 0, 0 }, tc[2] = { 0, 0 };
			long long img[2] = { 0, 0 };

			for (int i = 0; i < 6; i++) {
				int mode = i % 2;
				nas_gene one = g[10 + i];
				double a, t1 = h4h_now_s(), c1 = cpu_s();
				unsigned char *right = h4h_xmalloc(
				    (size_t)ntest);

				/* a fresh gene each time: no cached score */
				nas_fitness_set_reuse(f, mode);
				if (nas_fitness_eval_right(f, NAS_SPLIT_VAL,
				    &one, right, &a, &err) != 0 ||
				    nas_fitness_eval_right(f, NAS_SPLIT_TEST,
				    &one, right, &a, &err) != 0)
					return die("evaluation", &err);
				free(right);
				tw[mode] += h4h_now_s() - t1;
				tc[mode] += cpu_s() - c1;
				img[mode] += 2LL * sn.recal_images + nval +
				    ntest;
			}
			printf("a winner scored on validation then test (%d + "
			    "%d images, recalibration counted each time it was "
			    "done before): old %.0f images/s, new (recalibration "
			    "reused) %.0f images/s wall, ratio %.2f; by CPU time "
			    "%.0f and %.0f, ratio %.2f (3 different subnets each, "
			    "alternating)\n", nval,
			    ntest, img[0] / tw[0], img[1] / tw[1],
			    tw[0] / tw[1], img[0] / tc[0], img[1] / tc[1],
			    tc[0] / tc[1]);
		}
		/* the scoring forward with each conv and its batch norm
		 * fused (nn_sn_set_fused, on by default) against the
		 * two-pass reference, on the same 4 subnets, the order
		 * alternating; the recalibration is the same in both and
		 * timed with them; the per-image results compared */
		{
			nas_imageset cal, set;
			double tw[2] = { 0, 0 }, tc[2] = { 0, 0 }, img;
			unsigned char *right[2];
			long same = 0, all = 0;

			if (nas_supernet_sets(&sn, NULL, 0, 0, &cal, &set,
			    &err) != 0)
				return die("images", &err);
			right[0] = h4h_xmalloc((size_t)set.n);
			right[1] = h4h_xmalloc((size_t)set.n);
			for (int i = 0; i < 8; i++) {
				int mode = (i + i / 2) % 2;	/* 0 1 1 0 .. */
				nn_sn_active act;
				double a, t1 = h4h_now_s(), c1 = cpu_s();

				nas_gene_active(sn.sp, &g[16 + i / 2], &act);
				nn_sn_set_fused(sn.sn, mode);
				if (nn_sn_set_active(sn.sn, &act, &err) != 0 ||
				    nas_recal(sn.sn, &cal, sn.recal_batch,
				    &err) != 0 ||
				    nas_accuracy_right(sn.sn, &set, sn.B, &a,
				    right[mode], &err) != 0)
					return die("evaluation", &err);
				tw[mode] += h4h_now_s() - t1;
				tc[mode] += cpu_s() - c1;
				if (i % 2 == 1) {
					unsigned char *p = right[0];
					unsigned char *q = right[1];

					for (int k = 0; k < set.n; k++)
						same += p[k] == q[k];
					all += set.n;
				}
			}
			nn_sn_set_fused(sn.sn, 1);
			img = 4.0 * (cal.n + set.n);
			printf("fused inference (conv + batch norm, on by "
			    "default) against the two-pass reference, the same "
			    "4 subnets: %.0f and %.0f images/s wall, ratio "
			    "%.2f; by CPU time %.0f and %.0f, ratio %.2f; "
			    "per-image results equal on %ld of %ld\n",
			    img / tw[0], img / tw[1], tw[0] / tw[1],
			    img / tc[0], img / tc[1], tc[0] / tc[1], same, all);
			free(right[0]);
			free(right[1]);
			nas_imageset_free(&cal);
			nas_imageset_free(&set);
		}
		nas_fitness_close(f);
	}
	/* 2. the accuracy predictors on the accuracy dataset beside the
	 * checkpoint (or H4H_BENCH_ACC), 5-fold CV and 20 % held out */
	{
		const char *acc = getenv("H4H_BENCH_ACC");
		char accp[4096];
		nas_accdata d;

		if (acc == NULL) {
			snprintf(accp, sizeof accp, "%s/checkpoints/"
			    "h4h-fmnist-tpi-unfreeze.acc.csv", src);
			acc = accp;
		}
		if (access(acc, R_OK) != 0) {
			printf("predictors: no accuracy dataset %s (h4h "
			    "predictor dataset makes one): skipped\n", acc);
		} else if (nas_accdata_read(acc, sn.sp, &d, &err) != 0) {
			return die("accuracy dataset", &err);
		} else {
			nas_pred_cmp_cfg cc = { 5, 0.2, 1 };

			printf("predictors on %s (%d subnets, supernet %s, %s): "
			    "5-fold CV on %d, held out %d\n", acc, d.n,
			    d.supernet, d.settings, d.n - (int)(0.2 * d.n +
			    0.5), (int)(0.2 * d.n + 0.5));
			for (int k = 0; k < NAS_PRED_COUNT; k++) {
				nas_pred_eval ev;
				double t0 = h4h_now_s();

				if (nas_predictor_compare(sn.sp, d.g, d.acc,
				    d.n, &cc, &k, 1, &ev, &err) != 0)
					return die("predictor", &err);
				printf("  %-6s cv rho %.3f (sd %.3f) tau %.3f; "
				    "held-out rho %.3f tau %.3f; %.1f s\n",
				    nas_pred_name(k), ev.cv_rho, ev.cv_rho_sd,
				    ev.cv_tau, ev.rho, ev.tau, h4h_now_s() -
				    t0);
			}
			nas_accdata_free(&d);
		}
	}
	if (getenv("H4H_BENCH_QUICK") != NULL) {
		printf("H4H_BENCH_QUICK: the searches skipped\n");
		h4h_oracle_close(x.o);
		h4h_db_close(db);
		nas_supernet_close(&sn);
		return 0;
	}
	if (nas_fitness_open(&sn, ckpt, NULL, db, 1000, &x.fit, &err) != 0)
		return die("fitness", &err);

	/* 3. 100 x 30 with the predictor, cold then warm */
	nas_search_defaults(&cfg);
	for (int pass = 0; pass < 2; pass++) {
		nas_search *S;
		nas_search_result res;
		double t0 = h4h_now_s(), t;

		memset(&x.cost_s, 0, sizeof x - offsetof(ctx, cost_s));
		nas_search_create(sn.sp, &cfg, &ops, &S);
		if (nas_search_run(S, NAS_METRIC_LATENCY, 40e-3, &res, &err))
			return die("search", &err);
		t = h4h_now_s() - t0;
		printf("search 100 x 30, predictor, 40 ms, %s caches: %.1f s "
		    "(target on warm caches: <= 60 s: %s); best val %.2f %% at "
		    "%.2f ms; %lld accuracy lookups in %.1f s, %lld cost "
		    "queries in %.1f s = %.0f queries/s; %lld candidates, %lld "
		    "rejected\n", pass ? "warm" : "cold", t, pass ? (t <= 60 ?
		    "met" : "missed") : "n/a", 100 * res.acc,
		    res.cost[NAS_METRIC_LATENCY] * 1e3, x.acc_n, x.acc_s,
		    x.cost_n, x.cost_s, x.cost_n / (x.cost_s > 0 ? x.cost_s :
		    1), res.candidates, res.rejected);
		if (h4h_oracle_flush(x.o, &err) != 0)
			return die("flush", &err);
		nas_search_result_free(&res);
		nas_search_destroy(S);
	}

	/* 4. evolution against random search, equal real evaluations */
	{
		const double budgets[5] = { 8e-3, 12e-3, 20e-3, 35e-3, 60e-3 };
		int geq = 0, gt = 0;

		cfg.population = 50;
		cfg.generations = 10;
		cfg.warmup = 100;
		cfg.holdout = 25;
		cfg.real_per_gen = 5;
		printf("evolution vs random search (population 50 x 10, 100 "
		    "warm-up, 5 real per generation):\n");
		for (int b = 0; b < 5; b++) {
			nas_search *E, *R;
			nas_search_result re, rr;
			long long evals;

			nas_search_create(sn.sp, &cfg, &ops, &E);
			nas_search_create(sn.sp, &cfg, &ops, &R);
			if (nas_search_run(E, NAS_METRIC_LATENCY, budgets[b], &re,
			    &err) != 0)
				return die("search", &err);
			evals = nas_search_real_evals(E);
			if (nas_search_random(R, NAS_METRIC_LATENCY, budgets[b],
			    (int)evals, 1234 + b, &rr, &err) != 0) {
				/* no random subnet within budget at all */
				printf("  budget %5.1f ms: evolution %.2f %% "
				    "(%.2f ms), random: %s\n", budgets[b] * 1e3,
				    100 * re.acc, re.cost[0] * 1e3, err.msg);
				geq++;
				gt++;
				nas_search_result_free(&re);
				nas_search_destroy(E);
				nas_search_destroy(R);
				continue;
			}
			printf("  budget %5.1f ms: evolution %.2f %% (%.2f ms), "
			    "random %.2f %% (%.2f ms), %lld real evaluations "
			    "each\n", budgets[b] * 1e3, 100 * re.acc,
			    re.cost[0] * 1e3, 100 * rr.acc, rr.cost[0] * 1e3,
			    evals);
			geq += re.acc >= rr.acc;
			gt += re.acc > rr.acc;
			if (h4h_oracle_flush(x.o, &err) != 0)
				return die("flush", &err);
			nas_search_result_free(&re);
			nas_search_result_free(&rr);
			nas_search_destroy(E);
			nas_search_destroy(R);
		}
		printf("evolution >= random on %d of 5 budgets (target >= 4), "
		    "better on %d\n", geq, gt);
	}
	nas_fitness_close(x.fit);
	h4h_oracle_close(x.o);
	h4h_db_close(db);
	nas_supernet_close(&sn);
	return 0;
}
