/*
 * bench_search.c - the architecture search's speed and its worth
 * (doc/search.md, bench/README.md).
 *
 * On the shipped supernet (checkpoints/) and hwprofiles/system-npu-8cim.ini,
 * with 1,000 validation images per evaluation:
 *   1. real accuracy evaluations per second (BN recalibration on 2,000
 *      images, then scoring), on 24 random subnets;
 *   2. a search of population 100 x 30 generations with the predictor
 *      (200 warm-up subnets, 10 real evaluations per generation) under a
 *      40 ms budget, twice on one database: cold, then on the warm
 *      accuracy and cost caches, the second timed against the target of
 *      60 s; oracle queries per second inside it;
 *   3. evolution (population 50, 10 generations, 100 warm-up, 5 real per
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
#include <unistd.h>

#include "core/clock.h"
#include "nas/fitness.h"
#include "nas/search.h"
#include "nas/sntrain.h"
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
		double acc[24], t0;
		nn_rng r;

		if (nas_fitness_open(&sn, ckpt, NULL, NULL, 1000, &f, &err) != 0)
			return die("fitness", &err);
		nn_rng_seed(&r, 77, 1);
		for (int i = 0; i < 24; i++)
			nas_gene_sample(sn.sp, 0, &r, &g[i]);
		if (nas_fitness_eval(f, NAS_SPLIT_VAL, g, 1, acc, &err) != 0)
			return die("evaluation", &err);	/* loads the images */
		t0 = h4h_now_s();
		if (nas_fitness_eval(f, NAS_SPLIT_VAL, g + 1, 23, acc + 1,
		    &err) != 0)
			return die("evaluation", &err);
		printf("real evaluations (recalibration on 2000 images + 1000 "
		    "validation images): %.2f per second (23 subnets, %.1f s)\n",
		    23 / (h4h_now_s() - t0), h4h_now_s() - t0);
		nas_fitness_close(f);
	}
	if (nas_fitness_open(&sn, ckpt, NULL, db, 1000, &x.fit, &err) != 0)
		return die("fitness", &err);

	/* 2. 100 x 30 with the predictor, cold then warm */
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

	/* 3. evolution against random search, equal real evaluations */
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
