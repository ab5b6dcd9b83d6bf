/*
 * study.c - searches of one supernet on several systems (study.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic.h"
#include "nas/accdata.h"
#include "nas/stats.h"
#include "nas/study.h"
#include "sim/front/arch.h"
#include "cost/db.h"
#include "cost/memo.h"

#define MAX_SYSTEMS 16

struct nas_study_sys {
	nas_study *st;
	sim_profile prof;
	int metric;
	h4h_oracle *o;
	nas_search *S;
	h4h_err deferred;		/* a flush error seen in a hook */
	int failed;
};

struct nas_study {
	nas_study_cfg cfg;
	nas_supernet sn;
	int sn_open;
	h4h_db *db;
	nas_fitness *fit;
	nas_study_sys *sys[MAX_SYSTEMS];
	int n_sys;
	nas_accdata data;		/* n == 0: none */
	char note[2048];
};

static int
cost_fn(void *ctx, const nas_gene *g, double c[NAS_METRIC_COUNT],
    h4h_err *err)
{
	nas_study_sys *sys = ctx;
	sim_arch a;
	h4h_cost cost;
	int rc;

	nas_gene_arch(sys->st->sn.sp->full, g, &a);
	if ((rc = h4h_oracle_cost_arch(sys->o, &a, &cost, err)) != 0)
		return rc;
	c[NAS_METRIC_LATENCY] = cost.latency_s;
	c[NAS_METRIC_ENERGY] = cost.energy_j;
	return 0;
}

static int
acc_fn(void *ctx, const nas_gene *g, int n, double *acc, h4h_err *err)
{
	nas_study_sys *sys = ctx;

	return nas_fitness_eval(sys->st->fit, NAS_SPLIT_VAL, g, n, acc, err);
}

/* After each generation: store the new costs (so a killed search resumes
 * without simulating them again) and report. */
static void
progress_fn(void *ctx, const char *what, int done, int total)
{
	nas_study_sys *sys = ctx;
	const nas_study_cfg *c = &sys->st->cfg;

	if (!sys->failed && h4h_oracle_flush(sys->o, &sys->deferred) != 0)
		sys->failed = 1;
	if (c->progress)
		c->progress(c->progress_ctx, sys->prof.name, what, done,
		    total);
}

/* The dataset into the accuracy cache, and the predictor's choice. */
static int
open_dataset(nas_study *st, h4h_err *err)
{
	const nas_study_cfg *c = &st->cfg;
	const char *path = c->dataset, *id = nas_fitness_supernet_id(st->fit);
	const char *set = nas_fitness_settings(st->fit, NAS_SPLIT_VAL);
	char auto_path[4096];
	nas_accdata *d = &st->data;
	int rc;

	if (path == NULL && c->dataset_auto) {
		size_t k = strlen(c->ckpt);

		if (k > 5 && strcmp(c->ckpt + k - 5, ".ckpt") == 0)
			k -= 5;
		snprintf(auto_path, sizeof auto_path, "%.*s.acc.csv", (int)k,
		    c->ckpt);
		if (access(auto_path, R_OK) != 0) {
			snprintf(st->note, sizeof st->note, "no accuracy "
			    "dataset (%.400s): the predictor starts from %d random "
			    "subnets", auto_path, c->search.warmup);
			return 0;
		}
		path = auto_path;
	}
	if (path == NULL)
		return 0;
	if ((rc = nas_accdata_read(path, st->sn.sp, d, err)) != 0) {
		if (c->dataset != NULL)
			return rc;
		snprintf(st->note, sizeof st->note, "accuracy dataset %.400s "
		    "skipped: %s", path, err->msg);
		return 0;
	}
	if (strcmp(d->supernet, id) != 0 || strcmp(d->split, "val") != 0 ||
	    strcmp(d->settings, set) != 0) {
		char why[400];

		snprintf(why, sizeof why, "it is of supernet %s, %s split, "
		    "'%s'; this search scores supernet %s, val split, '%s'",
		    d->supernet, d->split, d->settings, id, set);
		nas_accdata_free(d);
		if (c->dataset != NULL)
			return h4h_errf(err, H4H_EINPUT, "accuracy dataset "
			    "'%s' does not fit: %s", path, why);
		snprintf(st->note, sizeof st->note, "accuracy dataset %.400s "
		    "skipped: %s", path, why);
		return 0;
	}
	for (int i = 0; i < d->n; i++) {
		char text[NAS_GENE_TEXT_MAX];

		nas_gene_text(st->sn.sp, &d->g[i], text, sizeof text);
		nas_fitness_memo_put(st->fit, NAS_SPLIT_VAL, text, d->acc[i]);
	}
	if (c->pred_auto) {
		char kind[32] = "";

		if (sscanf(d->predictor, "%31s", kind) == 1 &&
		    nas_pred_parse(kind) >= 0) {
			st->cfg.search.pred_kind = nas_pred_parse(kind);
			snprintf(st->note, sizeof st->note, "accuracy dataset "
			    "%.400s: %d subnets; predictor %s (recorded: %s)", path,
			    d->n, kind, d->predictor);
		} else {
			int kinds[NAS_PRED_COUNT] = { NAS_PRED_RIDGE,
			    NAS_PRED_MLP, NAS_PRED_FOREST };
			nas_pred_cmp_cfg cc = { 5, 0.2, 1 };
			nas_pred_eval ev[NAS_PRED_COUNT];
			int b;

			if ((rc = nas_predictor_compare(st->sn.sp, d->g, d->acc,
			    d->n, &cc, kinds, NAS_PRED_COUNT, ev, err)) != 0)
				return rc;
			b = nas_pred_best(ev, NAS_PRED_COUNT);
			st->cfg.search.pred_kind = ev[b].kind;
			snprintf(st->note, sizeof st->note, "accuracy dataset "
			    "%.400s: %d subnets; predictor %s by 5-fold "
			    "cross-validation (cv rho %.3f; ridge %.3f, mlp "
			    "%.3f, forest %.3f)", path, d->n,
			    nas_pred_name(ev[b].kind), ev[b].cv_rho,
			    ev[0].cv_rho, ev[1].cv_rho, ev[2].cv_rho);
		}
	} else {
		snprintf(st->note, sizeof st->note, "accuracy dataset %.400s: %d "
		    "subnets; predictor %s", path, d->n,
		    nas_pred_name(st->cfg.search.pred_kind));
	}
	return 0;
}

const char *
nas_study_dataset_note(const nas_study *st)
{
	return st->note;
}

int
nas_study_pred_kind(const nas_study *st)
{
	return st->cfg.search.pred_kind;
}

int
nas_study_open(const nas_study_cfg *cfg, nas_study **out, h4h_err *err)
{
	nas_study *st = h4h_xcalloc(1, sizeof *st);
	int rc;

	*out = NULL;
	st->cfg = *cfg;
	if ((rc = nas_supernet_open(cfg->ckpt, cfg->threads, 0, &st->sn,
	    err)) != 0)
		goto fail;
	st->sn_open = 1;
	if ((rc = h4h_db_open(cfg->db, H4H_DB_CREATE, &st->db, err)) != 0)
		goto fail;
	if ((rc = nas_fitness_open(&st->sn, cfg->ckpt, cfg->data_dir, st->db,
	    cfg->val_images, &st->fit, err)) != 0)
		goto fail;
	if ((rc = open_dataset(st, err)) != 0)
		goto fail;
	*out = st;
	return 0;
fail:
	nas_study_close(st);
	return rc;
}

void
nas_study_close(nas_study *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < st->n_sys; i++) {
		h4h_oracle_close(st->sys[i]->o);
		nas_search_destroy(st->sys[i]->S);
		free(st->sys[i]);
	}
	nas_fitness_close(st->fit);
	nas_accdata_free(&st->data);
	h4h_db_close(st->db);
	if (st->sn_open)
		nas_supernet_close(&st->sn);
	free(st);
}

int
nas_study_bad_rows(const nas_study *st, const char **first)
{
	const char *f = NULL, *one;
	int n = h4h_db_bad_rows(st->db, &f);

	for (int i = 0; i < st->n_sys; i++) {
		int k = h4h_db_bad_rows(h4h_oracle_db(st->sys[i]->o), &one);

		if (k > 0 && f == NULL)
			f = one;
		n += k;
	}
	*first = f;
	return n;
}

const nas_space *
nas_study_space(const nas_study *st)
{
	return st->sn.sp;
}

nas_fitness *
nas_study_fitness(nas_study *st)
{
	return st->fit;
}

int
nas_study_system(nas_study *st, const sim_profile *p, int metric,
    nas_study_sys **out, h4h_err *err)
{
	nas_study_sys *sys;
	nas_search_ops ops = { 0 };
	int rc;

	if (st->n_sys == MAX_SYSTEMS)
		return h4h_errf(err, H4H_EINPUT, "more than %d systems in one "
		    "study", MAX_SYSTEMS);
	sys = h4h_xcalloc(1, sizeof *sys);
	sys->st = st;
	sys->prof = *p;
	sys->metric = metric;
	sys->prof.part.objective = metric == NAS_METRIC_ENERGY ?
	    SIM_OBJ_ENERGY : SIM_OBJ_LATENCY;
	if ((rc = h4h_oracle_open(st->cfg.db, &sys->prof, &sys->o, err)) !=
	    0) {
		free(sys);
		return rc;
	}
	ops.ctx = sys;
	ops.cost = cost_fn;
	ops.accuracy = acc_fn;
	ops.progress = progress_fn;
	nas_search_create(st->sn.sp, &st->cfg.search, &ops, &sys->S);
	if (st->data.n > 0)
		nas_search_set_dataset(sys->S, st->data.g, st->data.acc,
		    st->data.n);
	st->sys[st->n_sys++] = sys;
	*out = sys;
	return 0;
}

nas_search *
nas_study_searcher(nas_study_sys *sys)
{
	return sys->S;
}

const sim_profile *
nas_study_profile(const nas_study_sys *sys)
{
	return &sys->prof;
}

int
nas_study_describe(nas_study_sys *sys, const nas_gene *g, int test,
    nas_pick *pick, h4h_err *err)
{
	const nas_space *sp = sys->st->sn.sp;
	sim_arch a;
	sim_net *net = NULL;
	sim_result *r = NULL;
	h4h_cost cost;
	double cim_macs = 0;
	int rc;

	memset(pick, 0, sizeof *pick);
	pick->g = *g;
	pick->metric = sys->metric;
	pick->budget = -1;
	pick->test_acc = -1;
	nas_gene_text(sp, g, pick->gene, sizeof pick->gene);
	if ((rc = nas_fitness_eval(sys->st->fit, NAS_SPLIT_VAL, g, 1,
	    &pick->val_acc, err)) != 0)
		return rc;
	if (test && ((rc = nas_fitness_eval(sys->st->fit, NAS_SPLIT_TEST, g,
	    1, &pick->test_acc, err)) != 0 || (rc =
	    nas_fitness_images(sys->st->fit, NAS_SPLIT_TEST, &pick->test_n,
	    err)) != 0))
		return rc;
	if (test)	/* the score is right / n exactly */
		nas_wilson(lround(pick->test_acc * pick->test_n), pick->test_n,
		    &pick->test_lo, &pick->test_hi);
	nas_gene_arch(sp->full, g, &a);
	for (int i = 0; i < a.n_stages; i++) {
		if (a.stages[i].kind == SIM_BLOCK_VIT)
			pick->vit_blocks += a.stages[i].depth;
		else if (a.stages[i].kind == SIM_BLOCK_MBCONV)
			pick->mbconv_blocks += a.stages[i].depth;
	}
	if ((rc = sim_arch_lower(&a, "subnet", &net, err)) != 0)
		return rc;
	if ((rc = h4h_oracle_cost_net(sys->o, net, &cost, &r, err)) != 0)
		goto out;
	pick->latency_s = cost.latency_s;
	pick->energy_j = cost.energy_j;
	pick->macs = r->macs;
	pick->layers = r->n_layers;
	for (int i = 0; i < r->n_layers; i++) {
		const sim_layer_result *l = &r->layers[i];

		cim_macs += (double)l->macs * (1 - l->npu_fraction);
		if (l->macros == 0 || l->npu_fraction >= 1)
			pick->layers_npu++;
		else if (l->npu_fraction <= 0)
			pick->layers_cim++;
		else
			pick->layers_split++;
	}
	pick->cim_mac_share = r->macs > 0 ? cim_macs / (double)r->macs : 0;
out:
	sim_result_destroy(r);
	sim_net_destroy(net);
	return rc;
}

static int
finish_pick(nas_study_sys *sys, const nas_gene *g, double budget,
    nas_pick *pick, h4h_err *err)
{
	int rc;

	if (sys->failed)
		return h4h_errf(err, H4H_EIO, "%s", sys->deferred.msg);
	if ((rc = nas_study_describe(sys, g, 1, pick, err)) != 0)
		return rc;
	pick->budget = budget;
	return nas_study_flush(sys->st, err);
}

int
nas_study_search(nas_study_sys *sys, double budget, nas_pick *pick,
    nas_search_result *res, h4h_err *err)
{
	nas_search_result own;
	int rc;

	if (res == NULL)
		res = &own;
	if ((rc = nas_search_run(sys->S, sys->metric, budget, res, err)) == 0)
		rc = finish_pick(sys, &res->best, budget, pick, err);
	if (res == &own)
		nas_search_result_free(&own);
	return rc;
}

int
nas_study_random(nas_study_sys *sys, double budget, int n_real,
    uint64_t seed, nas_pick *pick, h4h_err *err)
{
	nas_search_result res;
	int rc;

	if ((rc = nas_search_random(sys->S, sys->metric, budget, n_real, seed,
	    &res, err)) == 0)
		rc = finish_pick(sys, &res.best, budget, pick, err);
	nas_search_result_free(&res);
	return rc;
}

typedef struct front_item {
	const nas_entry *e;
	double cost;
} front_item;

static int
cmp_front(const void *a, const void *b)
{
	const front_item *x = a, *y = b;

	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	if (x->e->acc != y->e->acc)
		return x->e->acc > y->e->acc ? -1 : 1;
	return memcmp(x->e->g.c, y->e->g.c, (size_t)x->e->g.n);
}

int
nas_study_front(nas_study_sys *sys, double max_budget, nas_pick **picks,
    int *n, h4h_err *err)
{
	int total = nas_search_count(sys->S), m = 0, k = 0, rc = 0;
	front_item *it = h4h_xmalloc((size_t)(total ? total : 1) * sizeof *it);
	nas_pick *out;
	double best = -1;

	*picks = NULL;
	*n = 0;
	for (int i = 0; i < total; i++) {
		const nas_entry *e = nas_search_entry(sys->S, i);

		if (e->acc < 0 || !e->costed ||
		    e->cost[sys->metric] > max_budget)
			continue;
		it[m++] = (front_item){ e, e->cost[sys->metric] };
	}
	qsort(it, (size_t)m, sizeof *it, cmp_front);
	out = h4h_xcalloc((size_t)(m ? m : 1), sizeof *out);
	for (int i = 0; i < m && rc == 0; i++) {
		if (it[i].e->acc <= best)
			continue;
		best = it[i].e->acc;
		rc = nas_study_describe(sys, &it[i].e->g, 0, &out[k++], err);
	}
	free(it);
	if (rc == 0)
		rc = nas_study_flush(sys->st, err);
	if (rc != 0) {
		free(out);
		return rc;
	}
	*picks = out;
	*n = k;
	return 0;
}

char *
nas_study_arch_json(const nas_study *st, const nas_gene *g, const char *name)
{
	sim_arch a;

	nas_gene_arch(st->sn.sp->full, g, &a);
	snprintf(a.name, sizeof a.name, "%s", name);
	return sim_arch_canon(&a);
}

int
nas_study_trace(nas_study_sys *sys, const nas_gene *g, const char *path,
    h4h_err *err)
{
	sim_arch a;
	sim_net *net = NULL;
	sim_trace *tr;
	sim_result *r = NULL;
	int rc;

	nas_gene_arch(sys->st->sn.sp->full, g, &a);
	if ((rc = sim_arch_lower(&a, "subnet", &net, err)) != 0)
		return rc;
	tr = sim_trace_create(sys->prof.cim.macros, sys->prof.cim.cus_per_macro);
	if ((rc = sim_run(&sys->prof, net, tr, &r, err)) == 0)
		rc = sim_trace_write(tr, path, err);
	sim_result_destroy(r);
	sim_trace_destroy(tr);
	sim_net_destroy(net);
	return rc;
}

int
nas_study_flush(nas_study *st, h4h_err *err)
{
	int rc;

	for (int i = 0; i < st->n_sys; i++)
		if ((rc = h4h_oracle_flush(st->sys[i]->o, err)) != 0)
			return rc;
	return 0;
}

void
nas_budget_label(int metric, double budget, char *buf, size_t n)
{
	snprintf(buf, n, "%g%s", budget * 1e3, metric == NAS_METRIC_ENERGY ?
	    "mJ" : "ms");
}

typedef struct picks_ctx {
	const nas_pick *p;
	int n;
	const char *system;
} picks_ctx;

static void
write_csv(FILE *f, const void *ctx)
{
	const picks_ctx *c = ctx;

	fprintf(f, "metric,budget,gene,val_acc,test_acc,latency_ms,energy_mj,"
	    "macs,vit_blocks,mbconv_blocks,layers,layers_npu,layers_cim,"
	    "layers_split,cim_mac_share,test_lo,test_hi\n");
	for (int i = 0; i < c->n; i++) {
		const nas_pick *p = &c->p[i];

		fprintf(f, "%s,", nas_metric_name(p->metric));
		if (p->budget >= 0)
			fprintf(f, "%.6g", p->budget * 1e3);
		fprintf(f, ",%s,%.4f,", p->gene, p->val_acc);
		if (p->test_acc >= 0)
			fprintf(f, "%.4f", p->test_acc);
		fprintf(f, ",%.6f,%.6f,%lld,%d,%d,%d,%d,%d,%d,%.4f,",
		    p->latency_s * 1e3, p->energy_j * 1e3, p->macs,
		    p->vit_blocks, p->mbconv_blocks, p->layers, p->layers_npu,
		    p->layers_cim, p->layers_split, p->cim_mac_share);
		if (p->test_acc >= 0)
			fprintf(f, "%.4f,%.4f", p->test_lo, p->test_hi);
		else
			fputc(',', f);
		fputc('\n', f);
	}
}

int
nas_picks_write_csv(const char *path, const nas_pick *p, int n,
    h4h_err *err)
{
	picks_ctx c = { p, n, NULL };

	return h4h_write_atomic(path, "search results", write_csv, &c, err);
}

static void
write_json(FILE *f, const void *ctx)
{
	const picks_ctx *c = ctx;
	json_t *arr = json_array(), *root = json_object();
	char *s;

	for (int i = 0; i < c->n; i++) {
		const nas_pick *p = &c->p[i];
		json_t *o = json_object();

		json_object_set_new(o, "metric",
		    json_string(nas_metric_name(p->metric)));
		json_object_set_new(o, "budget", p->budget >= 0 ?
		    json_real(p->budget) : json_null());
		json_object_set_new(o, "gene", json_string(p->gene));
		json_object_set_new(o, "val_acc", json_real(p->val_acc));
		json_object_set_new(o, "test_acc", p->test_acc >= 0 ?
		    json_real(p->test_acc) : json_null());
		if (p->test_acc >= 0) {
			json_t *ci = json_array();

			json_array_append_new(ci, json_real(p->test_lo));
			json_array_append_new(ci, json_real(p->test_hi));
			json_object_set_new(o, "test_ci95", ci);
			json_object_set_new(o, "test_images",
			    json_integer(p->test_n));
		}
		json_object_set_new(o, "latency_s", json_real(p->latency_s));
		json_object_set_new(o, "energy_j", json_real(p->energy_j));
		json_object_set_new(o, "macs", json_integer(p->macs));
		json_object_set_new(o, "vit_blocks",
		    json_integer(p->vit_blocks));
		json_object_set_new(o, "mbconv_blocks",
		    json_integer(p->mbconv_blocks));
		json_object_set_new(o, "layers_npu",
		    json_integer(p->layers_npu));
		json_object_set_new(o, "layers_cim",
		    json_integer(p->layers_cim));
		json_object_set_new(o, "layers_split",
		    json_integer(p->layers_split));
		json_object_set_new(o, "cim_mac_share",
		    json_real(p->cim_mac_share));
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "system", json_string(c->system));
	json_object_set_new(root, "subnets", arr);
	s = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(8));
	fputs(s ? s : "{}", f);
	fputc('\n', f);
	free(s);
	json_decref(root);
}

int
nas_picks_write_json(const char *path, const char *system, const nas_pick *p,
    int n, h4h_err *err)
{
	picks_ctx c = { p, n, system };

	return h4h_write_atomic(path, "search results", write_json, &c, err);
}
