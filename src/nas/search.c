/*
 * search.c - evolutionary search under a cost budget (search.h).
 *
 * Random streams: every draw comes from an nn_rng seeded with the search
 * seed and a stream number made of a tag, the budget's position among the
 * runs of this nas_search and the generation, so no run's draws depend on
 * how many draws another made.  Ties in fitness go to the cheaper subnet,
 * then to the smaller gene hash: sorting never depends on qsort's order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "nas/predictor.h"
#include "nas/search.h"
#include "nas/stats.h"

enum { TAG_WARMUP = 101, TAG_INIT, TAG_EVOLVE, TAG_RANDOM };

struct nas_search {
	const nas_space *s;
	nas_search_cfg cfg;
	nas_search_ops ops;
	nas_entry **e;			/* the archive, first-seen order */
	int n, cap;
	h4h_htab index;			/* gene hash -> entry */
	nas_predictor *pred;
	int warmed;
	int runs;			/* nas_search_run calls so far */
	int n_fitted;			/* real evaluations the predictor saw */
	double rho_holdout, rho_online, tau_holdout;
	int n_holdout;
	/* the accuracy dataset (nas_search_set_dataset): fits the predictor
	 * beside the real evaluations, and its best subnets within a budget
	 * start the population (from_data entries) */
	nas_gene *dg;
	double *dy;
	int nd;
	long long real_evals, cost_queries;
	/* (prediction, truth) of screened genes, for rho_online */
	double *on_pred, *on_true;
	int n_on, cap_on;
};

const char *
nas_metric_name(int metric)
{
	return metric == NAS_METRIC_ENERGY ? "energy" : "latency";
}

void
nas_search_defaults(nas_search_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->algorithm = NAS_EVO_OFA;
	c->population = 100;
	c->generations = 30;
	c->parent_ratio = 0.25;
	c->mutation_ratio = 0.5;
	c->p_mutate = 0.1;
	c->p_mutate_res = 0.5;
	c->sample_size = 25;
	c->predictor = 1;
	c->warmup = 200;
	c->holdout = 50;
	c->real_per_gen = 10;
	c->max_tries = 30;
	c->seed = 1;
}

void
nas_search_result_free(nas_search_result *r)
{
	if (r == NULL)
		return;
	free(r->gen_best);
	free(r->gen_mean);
	r->gen_best = r->gen_mean = NULL;
}

static int
entry_eq(const void *item, const void *key)
{
	const nas_entry *e = item;
	const nas_gene *g = key;

	return e->g.n == g->n && memcmp(e->g.c, g->c, (size_t)g->n) == 0;
}

/* The archive entry of g, made if new. */
static nas_entry *
entry_get(nas_search *S, const nas_gene *g)
{
	uint64_t h = nas_gene_hash(S->s, g);
	nas_entry *e = h4h_htab_find(&S->index, h, entry_eq, g);

	if (e != NULL)
		return e;
	e = h4h_xcalloc(1, sizeof *e);
	e->g = *g;
	e->acc = -1;
	e->pred = -2;
	if (S->n == S->cap) {
		S->cap = S->cap ? 2 * S->cap : 256;
		S->e = h4h_xrealloc(S->e, (size_t)S->cap * sizeof *S->e);
	}
	S->e[S->n++] = e;
	h4h_htab_add(&S->index, h, e);
	return e;
}

static int
entry_cost(nas_search *S, nas_entry *e, h4h_err *err)
{
	int rc;

	if (e->costed)
		return 0;
	S->cost_queries++;
	if ((rc = S->ops.cost(S->ops.ctx, &e->g, e->cost, err)) != 0)
		return rc;
	e->costed = 1;
	return 0;
}

/* Real evaluation of the entries of list[0..n) that have none, in one
 * batch; their predictions are kept for rho_online. */
static int
evaluate(nas_search *S, nas_entry **list, int n, h4h_err *err)
{
	nas_gene *g = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *g);
	nas_entry **todo = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *todo);
	double *acc = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *acc);
	int m = 0, rc = 0;

	for (int i = 0; i < n; i++) {
		int dup = 0;

		if (list[i]->acc >= 0)
			continue;
		for (int j = 0; j < m; j++)
			dup |= todo[j] == list[i];
		if (dup)
			continue;
		todo[m] = list[i];
		g[m++] = list[i]->g;
	}
	if (m > 0 && (rc = S->ops.accuracy(S->ops.ctx, g, m, acc, err)) == 0)
		for (int i = 0; i < m; i++) {
			todo[i]->acc = acc[i];
			S->real_evals++;
			if (todo[i]->pred > -1) {
				if (S->n_on == S->cap_on) {
					S->cap_on = S->cap_on ? 2 * S->cap_on :
					    256;
					S->on_pred = h4h_xrealloc(S->on_pred,
					    (size_t)S->cap_on * sizeof(double));
					S->on_true = h4h_xrealloc(S->on_true,
					    (size_t)S->cap_on * sizeof(double));
				}
				S->on_pred[S->n_on] = todo[i]->pred;
				S->on_true[S->n_on++] = acc[i];
			}
		}
	free(acc);
	free(todo);
	free(g);
	return rc;
}

/* Refits the predictor on the dataset and every real evaluation, in
 * archive order.  Ridge refits whenever a real evaluation was added; the
 * MLP and the forest, whose fits take seconds, when the real evaluations
 * grew by half since their last fit (with a dataset: never, as OFA's
 * predictor is fitted once). */
static int
refit(nas_search *S, h4h_err *err)
{
	nas_gene *g = h4h_xmalloc((size_t)(S->n + S->nd + 1) * sizeof *g);
	double *y = h4h_xmalloc((size_t)(S->n + S->nd + 1) * sizeof *y);
	int m = 0, rc = 0;

	for (int i = 0; i < S->nd; i++) {
		g[m] = S->dg[i];
		y[m++] = S->dy[i];
	}
	for (int i = 0; i < S->n; i++)
		if (S->e[i]->acc >= 0 && !S->e[i]->from_data) {
			g[m] = S->e[i]->g;
			y[m++] = S->e[i]->acc;
		}
	if (m != S->n_fitted && m >= 2 && (S->n_fitted == 0 ||
	    S->cfg.pred_kind == NAS_PRED_RIDGE || (S->nd == 0 && 2 * m >= 3 *
	    S->n_fitted))) {
		rc = nas_predictor_fit(S->pred, g, y, m, err);
		S->n_fitted = m;
	}
	free(y);
	free(g);
	return rc;
}

/* The first fit on an accuracy dataset: every fifth subnet (20 %) held
 * out of a fit on the rest and scored, then the fit on all of it. */
static int
warm_up_dataset(nas_search *S, h4h_err *err)
{
	nas_gene *g = h4h_xmalloc((size_t)S->nd * sizeof *g);
	double *y = h4h_xmalloc((size_t)S->nd * sizeof *y);
	double *p = h4h_xmalloc((size_t)S->nd * sizeof *p);
	double *t = h4h_xmalloc((size_t)S->nd * sizeof *t);
	int m = 0, h = 0, rc = 0;

	for (int i = 0; i < S->nd; i++)
		if (i % 5 != 4) {
			g[m] = S->dg[i];
			y[m++] = S->dy[i];
		}
	if (m >= 2 && S->nd - m >= 2 && (rc = nas_predictor_fit(S->pred, g, y,
	    m, err)) == 0) {
		for (int i = 4; i < S->nd; i += 5) {
			p[h] = nas_predictor_predict(S->pred, &S->dg[i]);
			t[h++] = S->dy[i];
		}
		S->rho_holdout = nas_spearman(p, t, h);
		S->tau_holdout = nas_kendall(p, t, h);
		S->n_holdout = h;
	}
	free(t);
	free(p);
	free(y);
	free(g);
	if (rc == 0 && (rc = refit(S, err)) == 0)
		S->warmed = 1;
	return rc;
}

/* The predictor's first fit: `warmup` random subnets of the whole space,
 * fitted without the last `holdout`, scored on them, then refitted. */
static int
warm_up(nas_search *S, h4h_err *err)
{
	const nas_search_cfg *c = &S->cfg;
	int n = c->warmup, hold = c->holdout < n - 2 ? c->holdout : 0, rc;
	nas_entry **list;
	nn_rng r;

	if (S->warmed || !c->predictor)
		return 0;
	if (S->nd > 0)
		return warm_up_dataset(S, err);
	if (n < 2)
		n = 2;
	list = h4h_xmalloc((size_t)n * sizeof *list);
	nn_rng_seed(&r, c->seed, nn_rng_stream(TAG_WARMUP, 0, 0));
	for (int i = 0; i < n; i++) {
		nas_gene g;

		nas_gene_sample(S->s, c->no_vit, &r, &g);
		list[i] = entry_get(S, &g);
	}
	/* in chunks, so the caller can report progress and store them */
	for (int i = 0; i < n; i += 25) {
		int k = n - i < 25 ? n - i : 25;

		if ((rc = evaluate(S, list + i, k, err)) != 0)
			goto out;
		if (S->ops.progress)
			S->ops.progress(S->ops.ctx, "predictor warm-up",
			    i + k, n);
	}
	if (hold > 0) {
		nas_gene *g = h4h_xmalloc((size_t)n * sizeof *g);
		double *y = h4h_xmalloc((size_t)n * sizeof *y);
		double *p = h4h_xmalloc((size_t)hold * sizeof *p);
		int m = n - hold;

		for (int i = 0; i < n; i++) {
			g[i] = list[i]->g;
			y[i] = list[i]->acc;
		}
		rc = nas_predictor_fit(S->pred, g, y, m, err);
		for (int i = 0; rc == 0 && i < hold; i++)
			p[i] = nas_predictor_predict(S->pred, &g[m + i]);
		if (rc == 0) {
			S->rho_holdout = nas_spearman(p, y + m, hold);
			S->tau_holdout = nas_kendall(p, y + m, hold);
			S->n_holdout = hold;
		}
		free(p);
		free(y);
		free(g);
		if (rc != 0)
			goto out;
	}
	if ((rc = refit(S, err)) != 0)
		goto out;
	S->warmed = 1;
out:
	free(list);
	return rc;
}

int
nas_search_create(const nas_space *s, const nas_search_cfg *cfg,
    const nas_search_ops *ops, nas_search **out)
{
	nas_search *S = h4h_xcalloc(1, sizeof *S);

	S->s = s;
	S->cfg = *cfg;
	S->ops = *ops;
	if (S->cfg.population < 4)
		S->cfg.population = 4;
	if (S->cfg.max_tries < 1)
		S->cfg.max_tries = 1;
	nas_predictor_create_kind(s, S->cfg.pred_kind, S->cfg.seed,
	    &S->pred);
	*out = S;
	return 0;
}

void
nas_search_destroy(nas_search *S)
{
	if (S == NULL)
		return;
	for (int i = 0; i < S->n; i++)
		free(S->e[i]);
	free(S->e);
	h4h_htab_free(&S->index, NULL);
	nas_predictor_destroy(S->pred);
	free(S->dg);
	free(S->dy);
	free(S->on_pred);
	free(S->on_true);
	free(S);
}

int
nas_search_min_cost(nas_search *S, double c[NAS_METRIC_COUNT], h4h_err *err)
{
	nas_gene g;
	nas_entry *e;
	int rc;

	nas_gene_min(S->s, 1, &g);
	e = entry_get(S, &g);
	if ((rc = entry_cost(S, e, err)) != 0)
		return rc;
	memcpy(c, e->cost, sizeof e->cost);
	return 0;
}

static int
check_budget(nas_search *S, int metric, double budget, h4h_err *err)
{
	double c[NAS_METRIC_COUNT];
	int rc;

	if ((rc = nas_search_min_cost(S, c, err)) != 0)
		return rc;
	if (!(budget >= c[metric])) {
		if (metric == NAS_METRIC_LATENCY)
			return h4h_errf(err, H4H_EINPUT, "latency budget "
			    "%.4g ms is below the smallest subnet's latency "
			    "on this system (%.4g ms)", budget * 1e3,
			    c[metric] * 1e3);
		return h4h_errf(err, H4H_EINPUT, "energy budget %.4g mJ is "
		    "below the smallest subnet's energy on this system "
		    "(%.4g mJ)", budget * 1e3, c[metric] * 1e3);
	}
	return 0;
}

/* Fitness: the real accuracy, else the prediction (else -1). */
static double
fitness(const nas_search *S, nas_entry *e)
{
	if (e->acc >= 0)
		return e->acc;
	if (S->cfg.predictor) {
		e->pred = nas_predictor_predict(S->pred, &e->g);
		return e->pred;
	}
	return -1;
}

typedef struct member {
	nas_entry *e;
	double fit;
	uint64_t hash;
	int age;			/* aging: birth order */
	double cost;			/* the budget metric's, for ties */
} member;

static int
cmp_member(const void *a, const void *b)
{
	const member *x = a, *y = b;
	if (x->fit != y->fit)
		return x->fit > y->fit ? -1 : 1;
	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return 0;
}

/* Best first: fitness, then the cheaper, then the smaller gene hash. */
static void
sort_members(member *m, int n, int metric)
{
	for (int i = 0; i < n; i++)
		m[i].cost = m[i].e->cost[metric];
	qsort(m, (size_t)n, sizeof *m, cmp_member);
}

/* Costs e and says whether it meets the budget. */
static int
fits(nas_search *S, nas_entry *e, int metric, double budget, int *ok,
    h4h_err *err)
{
	int rc = entry_cost(S, e, err);

	*ok = rc == 0 && e->cost[metric] <= budget;
	return rc;
}

/* A child of parent(s) that meets the budget: mutation (b NULL) or
 * crossover; after max_tries failures, the first parent itself. */
static int
make_child(nas_search *S, const nas_entry *a, const nas_entry *b, int metric,
    double budget, nn_rng *r, nas_search_result *res, nas_entry **out,
    h4h_err *err)
{
	const nas_search_cfg *c = &S->cfg;
	int rc, ok;

	for (int t = 0; t < c->max_tries; t++) {
		nas_gene g;
		nas_entry *e;

		if (b == NULL)
			nas_gene_mutate_res(S->s, &a->g, c->p_mutate,
			    c->p_mutate_res, c->no_vit, r, &g);
		else
			nas_gene_crossover(S->s, &a->g, &b->g, r, &g);
		e = entry_get(S, &g);
		res->candidates++;
		if ((rc = fits(S, e, metric, budget, &ok, err)) != 0)
			return rc;
		if (ok) {
			*out = e;
			return 0;
		}
		res->rejected++;
	}
	*out = (nas_entry *)a;
	return 0;
}

/* Real evaluations for a generation's new members: all of them without the
 * predictor; with it, the best `real_per_gen` by prediction, then a
 * refit. */
static int
screen(nas_search *S, member *m, int n, int metric, h4h_err *err)
{
	nas_entry **list = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *list);
	int k = 0, rc;

	if (!S->cfg.predictor) {
		for (int i = 0; i < n; i++)
			list[k++] = m[i].e;
		rc = evaluate(S, list, k, err);
		for (int i = 0; i < n; i++)
			m[i].fit = m[i].e->acc;
		free(list);
		return rc;
	}
	for (int i = 0; i < n; i++)
		m[i].fit = fitness(S, m[i].e);
	sort_members(m, n, metric);
	for (int i = 0; i < n && k < S->cfg.real_per_gen; i++) {
		int dup = 0;

		if (m[i].e->acc >= 0)
			continue;
		for (int j = 0; j < k; j++)
			dup |= list[j] == m[i].e;
		if (!dup)
			list[k++] = m[i].e;
	}
	rc = evaluate(S, list, k, err);
	free(list);
	if (rc == 0)
		rc = refit(S, err);
	for (int i = 0; rc == 0 && i < n; i++)
		m[i].fit = fitness(S, m[i].e);
	return rc;
}

/* The best really evaluated, costed archive entry within budget. */
static nas_entry *
best_in_budget(const nas_search *S, int metric, double budget)
{
	nas_entry *best = NULL;

	for (int i = 0; i < S->n; i++) {
		nas_entry *e = S->e[i];

		if (e->acc < 0 || !e->costed || e->cost[metric] > budget)
			continue;
		if (best == NULL || e->acc > best->acc ||
		    (e->acc == best->acc && (e->cost[metric] <
		    best->cost[metric] || (e->cost[metric] ==
		    best->cost[metric] && nas_gene_hash(S->s, &e->g) <
		    nas_gene_hash(S->s, &best->g)))))
			best = e;
	}
	return best;
}

static double
mean_fit(const member *m, int n)
{
	double s = 0;

	for (int i = 0; i < n; i++)
		s += m[i].fit;
	return n ? s / n : 0;
}

typedef struct data_rank {
	double acc;
	int i;
} data_rank;

/* Most accurate first; the dataset's order breaks ties. */
static int
by_data_acc(const void *a, const void *b)
{
	const data_rank *x = a, *y = b;

	return x->acc < y->acc ? 1 : x->acc > y->acc ? -1 :
	    (x->i > y->i) - (x->i < y->i);
}

/* With an accuracy dataset, its most accurate subnets that meet the
 * budget fill up to half of the first population: their validation
 * scores are real and already paid for (the fitness cache holds them
 * too), so the search starts where the measured subnets are best, as
 * OFA's starts from its measured set; the other half stays random, for
 * diversity.  Returns how many it placed in pop. */
static int
seed_from_dataset(nas_search *S, member *pop, int metric, double budget,
    nas_search_result *res, int *n_out, h4h_err *err)
{
	int half = S->cfg.population / 2, n = 0, rc = 0, ok;
	data_rank *ord;

	*n_out = 0;
	if (S->nd == 0 || !S->cfg.predictor || half == 0)
		return 0;
	ord = h4h_xmalloc((size_t)S->nd * sizeof *ord);
	for (int i = 0; i < S->nd; i++)
		ord[i] = (data_rank){ S->dy[i], i };
	qsort(ord, (size_t)S->nd, sizeof *ord, by_data_acc);
	for (int k = 0; k < S->nd && n < half && rc == 0; k++) {
		const nas_gene *g = &S->dg[ord[k].i];
		nas_entry *e = entry_get(S, g);
		int dup = 0;

		res->candidates++;
		if ((rc = fits(S, e, metric, budget, &ok, err)) != 0 || !ok)
			continue;
		for (int j = 0; j < n; j++)
			dup |= pop[j].e == e;
		if (dup)
			continue;
		if (e->acc < 0) {
			e->acc = ord[k].acc;
			e->from_data = 1;
		}
		pop[n] = (member){ e, 0, nas_gene_hash(S->s, g), n, 0 };
		n++;
	}
	free(ord);
	*n_out = n;
	return rc;
}

/* The first population: the accuracy dataset's best within budget (above),
 * then random subnets that meet the budget, topped up with mutations of
 * those found (or of the minimum subnet, which always fits) when
 * rejection finds too few. */
static int
init_population(nas_search *S, member *pop, int metric, double budget,
    nn_rng *r, nas_search_result *res, h4h_err *err)
{
	const nas_search_cfg *c = &S->cfg;
	int P = c->population, n = 0, rc, ok;
	long long tries = (long long)P * c->max_tries;

	if ((rc = seed_from_dataset(S, pop, metric, budget, res, &n,
	    err)) != 0)
		return rc;

	for (long long t = 0; t < tries && n < P; t++) {
		nas_gene g;
		nas_entry *e;

		nas_gene_sample(S->s, c->no_vit, r, &g);
		e = entry_get(S, &g);
		res->candidates++;
		if ((rc = fits(S, e, metric, budget, &ok, err)) != 0)
			return rc;
		if (!ok) {
			res->rejected++;
			continue;
		}
		pop[n] = (member){ e, 0, nas_gene_hash(S->s, &g), n, 0 };
		n++;
	}
	if (n == 0) {
		nas_gene g;

		nas_gene_min(S->s, 1, &g);
		pop[n] = (member){ entry_get(S, &g), 0, 0, 0, 0 };
		pop[n].hash = nas_gene_hash(S->s, &g);
		n++;
	}
	while (n < P) {
		nas_entry *e;

		if ((rc = make_child(S, pop[nn_rng_below(r, (uint32_t)n)].e,
		    NULL, metric, budget, r, res, &e, err)) != 0)
			return rc;
		pop[n] = (member){ e, 0, nas_gene_hash(S->s, &e->g), n, 0 };
		n++;
	}
	return screen(S, pop, P, metric, err);
}

/* OFA's loop: the best n_par of the population are the parents, and
 * P children join them (mutation_ratio of them mutants, the rest
 * crossovers), so each later generation holds n_par + P members. */
static int
run_ofa(nas_search *S, member *pop, int metric, double budget,
    nas_search_result *res, h4h_err *err)
{
	const nas_search_cfg *c = &S->cfg;
	int P = c->population, rc = 0, live = P;
	int n_par = (int)(P * c->parent_ratio + 0.5);
	int n_mut = (int)(P * c->mutation_ratio + 0.5);

	if (n_par < 2)
		n_par = 2;
	for (int gen = 0; gen < c->generations; gen++) {
		member *kids = pop + n_par;
		nn_rng r;
		nas_entry *best;

		nn_rng_seed(&r, c->seed, nn_rng_stream(TAG_EVOLVE,
		    (uint64_t)S->runs, (uint64_t)gen));
		sort_members(pop, live, metric);
		for (int i = 0; i < P; i++) {
			const nas_entry *a = pop[nn_rng_below(&r,
			    (uint32_t)n_par)].e, *b = NULL;
			nas_entry *e;

			if (i >= n_mut)
				b = pop[nn_rng_below(&r, (uint32_t)n_par)].e;
			if ((rc = make_child(S, a, b, metric, budget, &r, res,
			    &e, err)) != 0)
				return rc;
			kids[i] = (member){ e, 0, nas_gene_hash(S->s, &e->g),
			    0, 0 };
		}
		live = n_par + P;
		if ((rc = screen(S, kids, P, metric, err)) != 0)
			return rc;
		for (int i = 0; i < n_par; i++)
			pop[i].fit = fitness(S, pop[i].e);
		best = best_in_budget(S, metric, budget);
		res->gen_best[gen] = best ? best->acc : -1;
		res->gen_mean[gen] = mean_fit(pop, live);
		res->generations = gen + 1;
		if (S->ops.progress)
			S->ops.progress(S->ops.ctx, "generation", gen + 1,
			    c->generations);
	}
	return rc;
}

/* Aging evolution: per generation, P - parents cycles; each cycle's child
 * is a mutation of the fittest of sample_size random members, and it
 * replaces the oldest.  The children of one generation are screened
 * together, like OFA's. */
static int
run_aging(nas_search *S, member *pop, int metric, double budget,
    nas_search_result *res, h4h_err *err)
{
	const nas_search_cfg *c = &S->cfg;
	int P = c->population, rc = 0, born = P;
	int n_kids = P - (int)(P * c->parent_ratio + 0.5);
	int sample = c->sample_size < P ? c->sample_size : P;
	member *kids = h4h_xmalloc((size_t)n_kids * sizeof *kids);

	if (sample < 1)
		sample = 1;
	for (int gen = 0; gen < c->generations; gen++) {
		nn_rng r;
		nas_entry *best;

		nn_rng_seed(&r, c->seed, nn_rng_stream(TAG_EVOLVE,
		    (uint64_t)S->runs, (uint64_t)gen));
		for (int i = 0; i < n_kids; i++) {
			member *top = NULL;
			nas_entry *e;
			int oldest = 0;

			for (int k = 0; k < sample; k++) {
				member *m = &pop[nn_rng_below(&r,
				    (uint32_t)P)];

				if (top == NULL || m->fit > top->fit)
					top = m;
			}
			if ((rc = make_child(S, top->e, NULL, metric, budget,
			    &r, res, &e, err)) != 0)
				goto out;
			for (int k = 1; k < P; k++)
				if (pop[k].age < pop[oldest].age)
					oldest = k;
			pop[oldest] = (member){ e, fitness(S, e),
			    nas_gene_hash(S->s, &e->g), born++, 0 };
			kids[i] = pop[oldest];
		}
		if ((rc = screen(S, kids, n_kids, metric, err)) != 0)
			goto out;
		for (int i = 0; i < P; i++)
			pop[i].fit = fitness(S, pop[i].e);
		best = best_in_budget(S, metric, budget);
		res->gen_best[gen] = best ? best->acc : -1;
		res->gen_mean[gen] = mean_fit(pop, P);
		res->generations = gen + 1;
		if (S->ops.progress)
			S->ops.progress(S->ops.ctx, "generation", gen + 1,
			    c->generations);
	}
out:
	free(kids);
	return rc;
}

static int
finish(nas_search *S, int metric, double budget, nas_search_result *res,
    h4h_err *err)
{
	nas_entry *best = best_in_budget(S, metric, budget);

	if (best == NULL)
		return h4h_errf(err, H4H_EINPUT, "no evaluated subnet meets "
		    "the %s budget %g", nas_metric_name(metric), budget);
	res->best = best->g;
	res->acc = best->acc;
	memcpy(res->cost, best->cost, sizeof best->cost);
	return 0;
}

int
nas_search_run(nas_search *S, int metric, double budget,
    nas_search_result *res, h4h_err *err)
{
	const nas_search_cfg *c = &S->cfg;
	member *pop;
	long long evals0 = S->real_evals;
	nn_rng r;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = check_budget(S, metric, budget, err)) != 0)
		return rc;
	if ((rc = warm_up(S, err)) != 0)
		return rc;
	res->gen_best = h4h_xcalloc((size_t)c->generations + 1, sizeof(double));
	res->gen_mean = h4h_xcalloc((size_t)c->generations + 1, sizeof(double));
	pop = h4h_xcalloc((size_t)c->population * 2 + 2, sizeof *pop);
	nn_rng_seed(&r, c->seed, nn_rng_stream(TAG_INIT, (uint64_t)S->runs,
	    0));
	rc = init_population(S, pop, metric, budget, &r, res, err);
	if (rc == 0)
		rc = c->algorithm == NAS_EVO_AGING ?
		    run_aging(S, pop, metric, budget, res, err) :
		    run_ofa(S, pop, metric, budget, res, err);
	if (rc == 0)
		rc = finish(S, metric, budget, res, err);
	res->real_evals = S->real_evals - evals0;
	S->runs++;
	free(pop);
	return rc;
}

int
nas_search_random(nas_search *S, int metric, double budget, int n_real,
    uint64_t seed, nas_search_result *res, h4h_err *err)
{
	nas_entry **list = h4h_xmalloc((size_t)(n_real > 0 ? n_real : 1) *
	    sizeof *list);
	nas_entry *best = NULL;
	/* a baseline that runs out of draws would flatter the search: draw
	 * at least 200 per subnet wanted */
	long long tries = (long long)n_real * (S->cfg.max_tries > 200 ?
	    S->cfg.max_tries : 200);
	int n = 0, rc, ok;
	nn_rng r;

	memset(res, 0, sizeof *res);
	if ((rc = check_budget(S, metric, budget, err)) != 0)
		goto out;
	nn_rng_seed(&r, seed, nn_rng_stream(TAG_RANDOM, 0, 0));
	for (long long t = 0; t < tries && n < n_real; t++) {
		nas_gene g;
		nas_entry *e;
		int dup = 0;

		nas_gene_sample(S->s, S->cfg.no_vit, &r, &g);
		e = entry_get(S, &g);
		res->candidates++;
		if ((rc = fits(S, e, metric, budget, &ok, err)) != 0)
			goto out;
		for (int j = 0; j < n && ok; j++)
			dup |= list[j] == e;
		if (!ok || dup) {
			res->rejected += !ok;
			continue;
		}
		list[n++] = e;
	}
	if ((rc = evaluate(S, list, n, err)) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (best == NULL || list[i]->acc > best->acc ||
		    (list[i]->acc == best->acc && list[i]->cost[metric] <
		    best->cost[metric]))
			best = list[i];
	if (best == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "random search found no "
		    "subnet within the %s budget %g", nas_metric_name(metric),
		    budget);
		goto out;
	}
	res->best = best->g;
	res->acc = best->acc;
	memcpy(res->cost, best->cost, sizeof best->cost);
	res->real_evals = n;
out:
	free(list);
	return rc;
}

int
nas_search_count(const nas_search *S)
{
	return S->n;
}

const nas_entry *
nas_search_entry(const nas_search *S, int i)
{
	return i >= 0 && i < S->n ? S->e[i] : NULL;
}

int
nas_search_cost(nas_search *S, const nas_gene *g, double c[NAS_METRIC_COUNT],
    h4h_err *err)
{
	nas_entry *e = entry_get(S, g);
	int rc = entry_cost(S, e, err);

	if (rc == 0)
		memcpy(c, e->cost, sizeof e->cost);
	return rc;
}

void
nas_search_rho(const nas_search *S, double *rho_holdout, int *n_holdout,
    double *rho_online, int *n_online)
{
	*rho_holdout = S->rho_holdout;
	*n_holdout = S->n_holdout;
	*n_online = S->n_on;
	*rho_online = nas_spearman(S->on_pred, S->on_true, S->n_on);
}

long long
nas_search_real_evals(const nas_search *S)
{
	return S->real_evals;
}

long long
nas_search_cost_queries(const nas_search *S)
{
	return S->cost_queries;
}

void
nas_search_set_dataset(nas_search *S, const nas_gene *g, const double *y,
    int n)
{
	free(S->dg);
	free(S->dy);
	S->dg = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *g);
	S->dy = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *y);
	memcpy(S->dg, g, (size_t)n * sizeof *g);
	memcpy(S->dy, y, (size_t)n * sizeof *y);
	S->nd = n;
}

void
nas_search_pred_report(const nas_search *S, nas_pred_report *r)
{
	memset(r, 0, sizeof *r);
	r->kind = S->cfg.pred_kind;
	r->n_data = S->nd;
	r->rho_holdout = S->rho_holdout;
	r->tau_holdout = S->tau_holdout;
	r->n_holdout = S->n_holdout;
	r->n_online = S->n_on;
	r->rho_online = nas_spearman(S->on_pred, S->on_true, S->n_on);
	r->tau_online = nas_kendall(S->on_pred, S->on_true, S->n_on);
}
