/*
 * engine.c - layer-by-layer replay of a network (see sim.h).
 *
 * For every layer the partitioner's chosen split and the next-best splits
 * that need no more weight capacity (partition.shortlist in all) are
 * simulated; the best simulated one is kept.  A layer starts on an idle
 * system: it needs its predecessor's whole output, and the event model has
 * no cross-layer fusion (doc/design.md).
 */
#include "sim/sim.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "sim/spec/canon.h"
#include "sim/hw/cim.h"
#include "sim/hw/kernel.h"
#include "sim/hw/noc.h"
#include "sim/hw/npu.h"
#include "sim/engine/partition.h"

struct sim_engine {
	sim_profile p;
	sim_noc *noc;
	sim_npu *npu;
	sim_cim **macros;
	sim_npu_work npu_work;
	sim_cim_work *cim_work;
	int pending;
};

static void
device_done(void *ctx)
{
	sim_engine *e = ctx;

	e->pending--;
}

int
sim_engine_create(const sim_profile *p, sim_engine **out, h4h_err *err)
{
	sim_engine *e;
	int rc, M = p->cim.macros;

	rc = sim_profile_validate(p, err);
	if (rc != 0)
		return rc;
	rc = h4h_kernel_init(err);
	if (rc != 0)
		return rc;
	e = h4h_xcalloc(1, sizeof *e);
	e->p = *p;
	e->noc = sim_noc_create(&p->noc, 1 + M);
	e->npu = e->noc ? sim_npu_create(p, e->noc) : NULL;
	e->macros = h4h_xcalloc(M > 0 ? (size_t)M : 1, sizeof *e->macros);
	e->cim_work = h4h_xcalloc(M > 0 ? (size_t)M : 1, sizeof *e->cim_work);
	if (e->npu == NULL)
		goto fail;
	for (int j = 0; j < M; j++) {
		e->macros[j] = sim_cim_create(&p->cim, j, e->noc);
		if (e->macros[j] == NULL)
			goto fail;
	}
	*out = e;
	return 0;
fail:
	sim_engine_destroy(e);
	return h4h_errf(err, H4H_ESIM, "cannot create the device processes");
}

void
sim_engine_destroy(sim_engine *e)
{
	if (e == NULL)
		return;
	for (int j = 0; j < e->p.cim.macros; j++)
		sim_cim_destroy(e->macros[j]);
	sim_npu_destroy(e->npu);
	sim_noc_destroy(e->noc);
	free(e->macros);
	free(e->cim_work);
	free(e);
}

/* Simulate one split of one layer; fills r's timing, energy and stats
 * (start_ps/end_ps relative to the layer's start). */
static int
simulate(sim_engine *e, const sim_layer *l, const sim_cand *c,
    const int *macro_ids, sim_trace *tr, sim_layer_result *r, h4h_err *err)
{
	const sim_profile *p = &e->p;
	double static_w, e_dyn_npu = 0, e_dyn_cim = 0;
	uint64_t t0, cim_busy = 0;
	int rc, used = 0;

	memset(r, 0, sizeof *r);
	r->layer = l;
	r->npu_channels = c->npu_channels;
	r->cim_channels = c->cim_channels;
	r->macros = c->macros;
	r->est_latency_s = c->est_latency_s;
	t0 = h4h_kernel_now_ps();
	sim_noc_reset(e->noc, tr, t0);
	e->pending = 0;
	if (c->npu_channels > 0) {
		rc = sim_npu_plan(p, l, c->npu_channels, &e->npu_work, err);
		if (rc != 0)
			return rc;
		e->pending++;
	}
	for (int j = 0; j < c->macros; j++) {
		sim_cim_work *w = &e->cim_work[macro_ids[j]];

		sim_cim_plan(&p->cim, l,
		    sim_cand_macro_channels(c, p->part.granularity, j), w);
		e->pending += w->channels > 0;
	}
	/* A device alone on the link may hear of its deliveries at once: no
	 * other master's request can come between (noc.h). */
	sim_noc_set_solo(e->noc, e->pending == 1);
	e->pending = 0;
	if (c->npu_channels > 0) {
		e->pending++;
		e_dyn_npu = e->npu_work.dyn_energy_j;
		r->macs += e->npu_work.macs;
		sim_npu_start(e->npu, &e->npu_work, tr, l->name, t0,
		    device_done, e);
	}
	for (int j = 0; j < c->macros; j++) {
		sim_cim_work *w = &e->cim_work[macro_ids[j]];

		if (w->channels <= 0)
			continue;
		e->pending++;
		used++;
		e_dyn_cim += w->dyn_energy_j;
		if (p->cim.power_gating)
			e_dyn_cim += p->cim.wake_energy_nj * 1e-9;
		r->macs += w->macs;
		sim_cim_start(e->macros[macro_ids[j]], w, tr, l->name, t0,
		    device_done, e);
	}
	rc = h4h_kernel_run(err);
	sim_noc_set_solo(e->noc, 0);
	if (rc != 0)
		return rc;
	if (e->pending != 0)
		return h4h_errf(err, H4H_ESIM, "layer '%s': %d device(s) never "
		    "finished (model deadlock)", l->name, e->pending);
	{
		/* A posted write told its time at once may end the layer
		 * after the last event. */
		uint64_t end = h4h_kernel_now_ps();

		if (sim_noc_horizon_ps(e->noc) > end)
			end = sim_noc_horizon_ps(e->noc);
		r->end_ps = end - t0;
	}
	r->latency_s = r->end_ps * 1e-12;
	r->cycles = r->latency_s * p->npu.clock_mhz * 1e6;
	r->noc_bytes_npu = sim_noc_stats_of(e->noc, 0)->bytes;
	for (int j = 0; j < p->cim.macros; j++)
		r->noc_bytes_cim += sim_noc_stats_of(e->noc, 1 + j)->bytes;
	r->noc_busy_s = sim_noc_busy_ps(e->noc) * 1e-12;
	if (c->npu_channels > 0)
		r->npu_busy_s = sim_npu_busy_ps(e->npu) * 1e-12;
	for (int j = 0; j < c->macros; j++) {
		uint64_t b = sim_cim_busy_ps(e->macros[macro_ids[j]]);

		if (b > cim_busy)
			cim_busy = b;
	}
	r->cim_busy_s = cim_busy * 1e-12;
	/* Non-volatile macros the layer leaves idle are gated: only the
	 * macros it uses leak (every macro without cim.power_gating). */
	static_w = (p->npu.static_mw + (p->cim.power_gating ? used :
	    p->cim.macros) * p->cim.static_mw) * 1e-3;
	r->e_npu_j = e_dyn_npu;
	r->e_cim_j = e_dyn_cim;
	r->e_noc_j = (r->noc_bytes_npu + r->noc_bytes_cim) *
	    (p->noc.e_byte_pj + p->noc.e_sram_byte_pj) * 1e-12;
	r->e_static_j = static_w * r->latency_s;
	r->energy_j = r->e_npu_j + r->e_cim_j + r->e_noc_j + r->e_static_j;
	r->npu_fraction = r->macs > 0 ? (double)(c->npu_channels > 0 ?
	    e->npu_work.macs : 0) / (double)r->macs : 1.0;
	if (c->npu_channels > 0 && c->cim_channels == 0)
		r->npu_fraction = 1.0;
	if (tr != NULL)
		sim_trace_layer(tr, l->name, sim_op_name(l->op), r->end_ps,
		    c->npu_channels, c->cim_channels, c->macros, r->energy_j);
	return 0;
}

static double
result_cost(const sim_layer_result *r, sim_objective obj, double tl,
    double te)
{
	switch (obj) {
	case SIM_OBJ_ENERGY:
		return r->energy_j;
	case SIM_OBJ_EDP:
		return r->energy_j * tl + r->latency_s * te;
	default:
		return r->latency_s;
	}
}

/* The chosen split first, then the NPU-only one (an estimate that favoured
 * the macros wrongly must not make a layer slower than the NPU alone), then
 * others that use the same macros with no more CIM channels (so the
 * placement still fits), best estimate first: K splits, plus the NPU-only
 * one when K would leave it out.  Returns the count. */
static int
shortlist(const sim_layer_plan *lp, sim_objective obj, double tl, double te,
    int K, int *out)
{
	const sim_cand *ch = &lp->cands[lp->chosen];
	int n = 0;

	out[n++] = lp->chosen;
	if (lp->chosen != 0)
		out[n++] = 0;	/* cands[0] is the NPU-only split */
	while (n < K) {
		int best = -1;
		double best_cost = DBL_MAX;

		for (int k = 0; k < lp->n_cands; k++) {
			const sim_cand *c = &lp->cands[k];
			int taken = 0;
			double cost;

			if (c->macros != ch->macros ||
			    c->cim_channels > ch->cim_channels)
				continue;
			for (int t = 0; t < n; t++)
				taken |= out[t] == k;
			if (taken)
				continue;
			cost = sim_cand_cost(c, obj, tl, te);
			if (cost < best_cost) {
				best_cost = cost;
				best = k;
			}
		}
		if (best < 0)
			break;
		out[n++] = best;
	}
	return n;
}

/* A split's cost from the cache, or simulated (and then stored). */
static int
cost_of(sim_engine *e, const sim_layer *l, const sim_cand *c,
    const int *macro_ids, const sim_cache *cache, sim_layer_result *r,
    int *simulated, h4h_err *err)
{
	int rc;

	if (cache != NULL && cache->get_cost(cache->ctx, l, c, r)) {
		r->layer = l;
		*simulated = 0;
		return 0;
	}
	rc = simulate(e, l, c, macro_ids, NULL, r, err);
	if (rc == 0 && cache != NULL)
		cache->put_cost(cache->ctx, l, c, r);
	*simulated = 1;
	return rc;
}

int
sim_engine_run(sim_engine *e, const sim_net *net, sim_trace *trace,
    const sim_cache *cache, sim_result **out, h4h_err *err)
{
	const sim_profile *p = &e->p;
	sim_partition *part = NULL;
	sim_result *res;
	sim_objective obj = p->part.objective;
	double tl = 0, te = 0;
	uint64_t act0 = h4h_kernel_activations(), offset = 0;
	int *list = h4h_xcalloc((size_t)p->part.shortlist + 1, sizeof(int));
	int *best_chosen = h4h_xcalloc((size_t)net->n_layers, sizeof(int));
	int rc;

	res = h4h_xcalloc(1, sizeof *res);
	res->layers = h4h_xcalloc((size_t)net->n_layers, sizeof *res->layers);
	res->n_layers = net->n_layers;
	snprintf(res->net_name, sizeof res->net_name, "%s", net->name);
	snprintf(res->system_name, sizeof res->system_name, "%s", p->name);
	{
		char *canon = sim_profile_canon(p);

		snprintf(res->system_hash, sizeof res->system_hash, "%016llx",
		    (unsigned long long)h4h_hash64(canon, strlen(canon),
		    H4H_HASH_SEED));
		free(canon);
	}
	if (trace != NULL)
		sim_trace_set_system(trace, p->name, res->system_hash);
	res->objective = obj;
	rc = sim_partition_build(p, net, cache, &part, err);
	if (rc != 0)
		goto fail;
	res->partition_exact = part->exact;
	res->cim_capacity_bytes = part->capacity_bytes;
	for (int i = 0; i < net->n_layers; i++) {
		const sim_cand *c = &part->layers[i].cands[part->layers[i].chosen];

		tl += c->est_latency_s;
		te += c->est_energy_j;
	}
	for (int i = 0; i < net->n_layers; i++) {
		const sim_layer *l = &net->layers[i];
		sim_layer_plan *lp = &part->layers[i];
		sim_layer_result best, r;
		double best_cost = DBL_MAX;
		int n = shortlist(lp, obj, tl, te, p->part.shortlist, list);
		int best_k = list[0];

		/* A layer of the same shape with the same chosen split was
		 * simulated already, on an idle system like this one: its
		 * result is this layer's (most of a network repeats). */
		if (lp->same_as >= 0 &&
		    part->layers[lp->same_as].chosen == lp->chosen) {
			best = res->layers[lp->same_as];
			best.layer = l;
			best.end_ps -= best.start_ps;
			best_k = best_chosen[lp->same_as];
			n = 0;
		}
		for (int s = 0; s < n; s++) {
			int simulated;

			rc = cost_of(e, l, &lp->cands[list[s]], lp->macro_ids,
			    cache, &r, &simulated, err);
			if (rc != 0)
				goto fail;
			res->layer_sims += simulated;
			res->layers_reused += !simulated;
			if (result_cost(&r, obj, tl, te) < best_cost) {
				best_cost = result_cost(&r, obj, tl, te);
				best = r;
				best_k = list[s];
			}
		}
		if (trace != NULL) {
			/* Replay the winner with the recorder attached. */
			sim_trace_set_offset(trace, offset);
			rc = simulate(e, l, &lp->cands[best_k], lp->macro_ids,
			    trace, &best, err);
			if (rc != 0)
				goto fail;
		}
		best_chosen[i] = best_k;
		/* The weights the winning split keeps in the macros. */
		res->cim_weight_bytes += lp->cands[best_k].cim_weight_bytes;
		best.candidates = lp->n_cands;
		best.simulated = n;
		best.start_ps = offset;
		best.end_ps += offset;
		offset = best.end_ps;
		res->layers[i] = best;
	}
	for (int i = 0; i < net->n_layers; i++) {
		const sim_layer_result *r = &res->layers[i];

		res->latency_s += r->latency_s;
		res->energy_j += r->energy_j;
		res->e_npu_j += r->e_npu_j;
		res->e_cim_j += r->e_cim_j;
		res->e_noc_j += r->e_noc_j;
		res->e_static_j += r->e_static_j;
		res->noc_bytes_npu += r->noc_bytes_npu;
		res->noc_bytes_cim += r->noc_bytes_cim;
		res->noc_busy_s += r->noc_busy_s;
		res->npu_busy_s += r->npu_busy_s;
		res->cim_busy_s += r->cim_busy_s;
		res->macs += r->macs;
	}
	res->cycles = res->latency_s * p->npu.clock_mhz * 1e6;
	res->kernel_activations = h4h_kernel_activations() - act0;
	sim_partition_destroy(part);
	free(list);
	free(best_chosen);
	*out = res;
	return 0;
fail:
	sim_partition_destroy(part);
	sim_result_destroy(res);
	free(list);
	free(best_chosen);
	return rc;
}

int
sim_run(const sim_profile *p, const sim_net *net, sim_trace *trace,
    sim_result **out, h4h_err *err)
{
	sim_engine *e;
	int rc = sim_engine_create(p, &e, err);

	if (rc != 0)
		return rc;
	rc = sim_engine_run(e, net, trace, NULL, out, err);
	sim_engine_destroy(e);
	return rc;
}

int
sim_run_cached(const sim_profile *p, const sim_net *net,
    const sim_cache *cache, sim_result **out, h4h_err *err)
{
	sim_engine *e;
	int rc = sim_engine_create(p, &e, err);

	if (rc != 0)
		return rc;
	rc = sim_engine_run(e, net, NULL, cache, out, err);
	sim_engine_destroy(e);
	return rc;
}

void
sim_result_destroy(sim_result *r)
{
	if (r == NULL)
		return;
	free(r->layers);
	free(r);
}
