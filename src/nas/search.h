/*
 * search.h - the evolutionary architecture search (doc/search.md): the most
 * accurate subnet of a space whose full-size network meets a latency or
 * energy budget on one system.
 *
 * OFA's evolution (Cai et al., 2020): a population of 100 subnets that meet
 * the budget; each generation keeps the best 25% as parents and refills
 * the population with mutations (each decision redrawn with probability
 * 0.1, the resolution with 0.5) of a random parent and uniform crossovers
 * of two, every child redrawn until it meets the budget (rejection); the
 * next generation is the parents and 100 children.
 * Aging ("regularized") evolution (Real et al., 2019) is the alternative:
 * the child of the best of 25 random members replaces the oldest member.
 *
 * Fitness is the subnet's validation accuracy after BN recalibration,
 * which costs a real evaluation.  With the predictor (predictor.h) on, a
 * real evaluation is spent only on the most promising children of each
 * generation (by predicted accuracy) and every other member carries its
 * prediction; the predictor is fitted first on `warmup` random subnets and
 * refitted after every generation on all real evaluations.  The winner of
 * a budget is always a really evaluated subnet.
 *
 * Costs and accuracies come from the caller (nas_search_ops): the CLI uses
 * the SQLite cost oracle and the accuracy cache of fitness.h.  One
 * nas_search holds one system: every budget searched on it shares the
 * archive of costs, accuracies and the predictor.  Everything is a pure
 * function of the configuration, the seed and the callbacks' answers, so
 * a run replayed after a crash, with its accuracies cached, takes the same
 * steps and gives the same result.
 */
#ifndef H4H_NAS_SEARCH_H
#define H4H_NAS_SEARCH_H

#include <stdint.h>

#include "core/err.h"
#include "nas/gene.h"
#include "nas/predictor.h"

enum { NAS_METRIC_LATENCY, NAS_METRIC_ENERGY, NAS_METRIC_COUNT };
enum { NAS_EVO_OFA, NAS_EVO_AGING };

const char *nas_metric_name(int metric);

typedef struct nas_search_cfg {
	int algorithm;			/* NAS_EVO_* (ofa) */
	int population;			/* 100 */
	int generations;		/* 30 */
	double parent_ratio;		/* 0.25 */
	double mutation_ratio;		/* 0.5: children by mutation, the
					 * rest of the refill by crossover */
	double p_mutate;		/* 0.1 per decision */
	double p_mutate_res;		/* 0.5 for the resolution */
	int sample_size;		/* aging: tournament size (25) */
	int no_vit;			/* search the CNN-only subspace */
	int predictor;			/* 1 */
	int pred_kind;			/* NAS_PRED_* (ridge) */
	int warmup;			/* random subnets evaluated to fit
					 * the predictor first (200) */
	int holdout;			/* of them, held out of the first fit
					 * to measure its rank correlation (50) */
	int real_per_gen;		/* real evaluations per generation
					 * with the predictor (10) */
	int max_tries;			/* draws per child before giving up
					 * and keeping its parent (30): OFA
					 * redraws without limit, but with
					 * simulated costs every draw costs a
					 * network simulation */
	uint64_t seed;
} nas_search_cfg;

void nas_search_defaults(nas_search_cfg *c);

typedef struct nas_search_ops {
	void *ctx;
	/* c[NAS_METRIC_LATENCY] in s, c[NAS_METRIC_ENERGY] in J of g's
	 * full-size network on the system. */
	int (*cost)(void *ctx, const nas_gene *g, double c[NAS_METRIC_COUNT],
	    h4h_err *err);
	/* Validation accuracy in [0, 1] of n subnets (one batch, so the
	 * callee can store them in one transaction). */
	int (*accuracy)(void *ctx, const nas_gene *g, int n, double *acc,
	    h4h_err *err);
	/* Optional: `what` reached done of total. */
	void (*progress)(void *ctx, const char *what, int done, int total);
} nas_search_ops;

/* A subnet the search has seen. */
typedef struct nas_entry {
	nas_gene g;
	double cost[NAS_METRIC_COUNT];
	double acc;			/* validation; < 0: not evaluated */
	double pred;			/* the predictor's guess before its
					 * real evaluation (< -1: none) */
	int costed;
	int from_data;			/* acc is the accuracy dataset's (a
					 * real score paid for before) */
} nas_entry;

typedef struct nas_search_result {
	nas_gene best;
	double acc;			/* validation accuracy of best */
	double cost[NAS_METRIC_COUNT];
	int generations;
	double *gen_best;		/* per generation: best validation
					 * accuracy in budget so far */
	double *gen_mean;		/* mean fitness of the population */
	long long real_evals;		/* new real evaluations in this run */
	long long candidates;		/* children drawn (rejected ones too) */
	long long rejected;		/* children over budget */
} nas_search_result;

void nas_search_result_free(nas_search_result *r);

typedef struct nas_search nas_search;

int nas_search_create(const nas_space *s, const nas_search_cfg *cfg,
    const nas_search_ops *ops, nas_search **out);
void nas_search_destroy(nas_search *S);

/* The cheapest subnet's cost (the space's minimum; every depth at its
 * least and every width too), so callers can refuse budgets below it. */
int nas_search_min_cost(nas_search *S, double c[NAS_METRIC_COUNT],
    h4h_err *err);

/* Searches one budget (cost[metric] <= budget).  A budget below the
 * minimum subnet's cost is H4H_EINPUT naming that cost. */
int nas_search_run(nas_search *S, int metric, double budget,
    nas_search_result *res, h4h_err *err);

/* Random search with the same budget rule: the best of n_real really
 * evaluated random subnets that meet the budget (the baseline). */
int nas_search_random(nas_search *S, int metric, double budget, int n_real,
    uint64_t seed, nas_search_result *res, h4h_err *err);

/* The archive: every subnet seen, in first-seen order. */
int nas_search_count(const nas_search *S);
const nas_entry *nas_search_entry(const nas_search *S, int i);
/* Costs an archived subnet that was not costed yet (for Pareto fronts). */
int nas_search_cost(nas_search *S, const nas_gene *g,
    double c[NAS_METRIC_COUNT], h4h_err *err);

/* The predictor's Spearman rho: on the warmup genes held out of its first
 * fit (*rho_holdout, n_holdout), and on every gene it screened before
 * that gene's real evaluation (*rho_online, n_online); 0 and 0 when not
 * measured. */
void nas_search_rho(const nas_search *S, double *rho_holdout,
    int *n_holdout, double *rho_online, int *n_online);
/* An accuracy dataset (accdata.h) for the predictor: with one, the
 * warm-up draws no random subnets; the predictor is fitted on the dataset
 * (every fifth subnet held out first, to measure rho and tau) and the
 * real evaluations, and screens every generation's children, of which the
 * `real_per_gen` most promising (the finalists) are evaluated for real.
 * The dataset's subnets stay out of the archive: a winner is always a
 * subnet this search evaluated (a cache hit when it is in the dataset).
 * Copied; call before the first run. */
void nas_search_set_dataset(nas_search *S, const nas_gene *g,
    const double *y, int n);

typedef struct nas_pred_report {
	int kind;			/* NAS_PRED_* */
	int n_data;			/* dataset subnets */
	double rho_holdout, tau_holdout;	/* held out of the first fit */
	int n_holdout;
	double rho_online, tau_online;	/* the finalists, each predicted
					 * before its real evaluation */
	int n_online;
} nas_pred_report;

void nas_search_pred_report(const nas_search *S, nas_pred_report *r);

/* Real evaluations requested of ops->accuracy so far. */
long long nas_search_real_evals(const nas_search *S);
long long nas_search_cost_queries(const nas_search *S);

#endif
