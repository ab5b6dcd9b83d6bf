/*
 * partition.c - candidate splits, their estimates, and the network-wide
 * choice under the macros' weight capacity (see partition.h).
 */
#include "sim/engine/partition.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/spec/canon.h"

/* The exact DP gives up (and the Lagrangian takes over) once it has combined
 * this many (state, candidate) pairs: small problems stay far below it, and
 * it bounds the time a large constrained network spends here. */
#define DP_MAX_WORK 200000
/* ... and is not tried at all beyond this many candidates in the network. */
#define DP_MAX_CANDS 4096

int
sim_cand_macro_channels(const sim_cand *c, int granularity, int j)
{
	int granules = (c->cim_channels + granularity - 1) / granularity;
	int q = granules / c->macros, r = granules % c->macros;
	int before = j * q + (j < r ? j : r);
	int mine = q + (j < r);
	int ch = mine * granularity;

	/* The last granule of the layer may be partial. */
	if (before * granularity + ch > c->cim_channels)
		ch = c->cim_channels - before * granularity;
	return ch > 0 ? ch : 0;
}

double
sim_cand_cost(const sim_cand *c, sim_objective obj, double tot_lat,
    double tot_energy)
{
	switch (obj) {
	case SIM_OBJ_ENERGY:
		return c->est_energy_j;
	case SIM_OBJ_EDP:
		/* d(E*T) = T dE + E dT around the current totals. */
		return c->est_energy_j * tot_lat + c->est_latency_s * tot_energy;
	default:
		return c->est_latency_s;
	}
}

/* Static power while a layer runs on `used` macros: with power gating the
 * idle macros draw none (sim.h). */
static double
static_power_w(const sim_profile *p, int used)
{
	int on = p->cim.power_gating ? used : p->cim.macros;

	return (p->npu.static_mw + on * p->cim.static_mw) * 1e-3;
}

static void
estimate(const sim_profile *p, const sim_layer *l, const sim_npu_work *npu,
    sim_cand *c)
{
	double t_npu = 0, t_cim = 0, noc_bytes = 0, dyn = 0;
	int g = p->part.granularity;
	sim_cim_work cw;

	if (c->npu_channels > 0) {
		double t_w = npu->weight_port_bytes /
		    (p->npu.weight_bandwidth_gbps * 1e9);

		/* Vela's per-operator Op Cycles: compute, weight DMA and
		 * each operator's own SRAM and weight-area bounds */
		t_npu = npu->est_cycles / (p->npu.clock_mhz * 1e6);
		if (t_w > t_npu)
			t_npu = t_w;
		noc_bytes += npu->noc_bytes;
		dyn += npu->dyn_energy_j;
	}
	for (int j = 0; j < c->macros; j++) {
		int ch = sim_cand_macro_channels(c, g, j);
		double t;

		/* Macros with equal shares cost the same: plan once. */
		if (j == 0 || ch != cw.channels)
			sim_cim_plan(&p->cim, l, ch, &cw);
		t = (cw.cycles + cw.wake_cycles) / (p->cim.clock_mhz * 1e6);
		if (t > t_cim)
			t_cim = t;
		noc_bytes += cw.ifm_bytes + cw.ofm_bytes;
		dyn += cw.dyn_energy_j;
	}
	c->est_latency_s = (double)sim_noc_occupancy_ps(&p->noc, noc_bytes) *
	    1e-12;
	if (t_npu > c->est_latency_s)
		c->est_latency_s = t_npu;
	if (t_cim > c->est_latency_s)
		c->est_latency_s = t_cim;
	c->est_latency_s += (double)sim_noc_latency_ps(&p->noc) * 1e-12;
	if (p->cim.power_gating)
		dyn += c->macros * p->cim.wake_energy_nj * 1e-9;
	c->est_energy_j = dyn + noc_bytes * (p->noc.e_byte_pj +
	    p->noc.e_sram_byte_pj) * 1e-12 + static_power_w(p, c->macros) *
	    c->est_latency_s;
}

size_t
sim_cands_max(const sim_profile *p, const sim_layer *l)
{
	int g = p->part.granularity, total = l->out_c, M = p->cim.macros;

	if (g <= 0 || total <= 0)
		return 1;
	if (M <= 0 || !sim_layer_cim_capable(l))
		return 1;
	return (size_t)((total + g - 1) / g) * (size_t)M + 1;
}

int
sim_cands_layout(const sim_profile *p, const sim_layer *l, sim_cand *c)
{
	int g = p->part.granularity, total = l->out_c;
	int G = (total + g - 1) / g, M = p->cim.macros, n = 0;
	double wpc = (double)sim_layer_weight_bytes(l) / total;
	double cap = p->cim.capacity_mbit * 1e6 / 8;

	memset(&c[n], 0, sizeof *c);
	c[n++].npu_channels = total;	/* all on the NPU */
	if (M <= 0 || !sim_layer_cim_capable(l))
		return n;
	/* n0 = granules on the NPU, from all but one down to none. */
	for (int n0 = G - 1; n0 >= 0; n0--) {
		int npu_ch = n0 * g, rest = G - n0;

		for (int m = 1; m <= M && m <= rest; m++) {
			sim_cand *k = &c[n];

			memset(k, 0, sizeof *k);
			k->npu_channels = npu_ch;
			k->cim_channels = total - npu_ch;
			k->macros = m;
			k->cim_weight_bytes = wpc * k->cim_channels;
			k->max_macro_bytes = wpc * sim_cand_macro_channels(k,
			    g, 0);
			if (!(k->max_macro_bytes > cap))
				n++;	/* else it does not fit one macro */
		}
	}
	return n;
}

static int
build_layer(const sim_profile *p, const sim_layer *l, sim_layer_plan *lp,
    h4h_err *err)
{
	int g = p->part.granularity, total = l->out_c;
	int G = (total + g - 1) / g, k = 0, n;
	int cim_ok = p->cim.macros > 0 && sim_layer_cim_capable(l);
	sim_npu_work npu;
	sim_cand *cands;
	int rc;

	cands = h4h_xcalloc(sim_cands_max(p, l), sizeof *cands);
	lp->cands = cands;
	lp->owned = 1;
	lp->n_cands = n = sim_cands_layout(p, l, cands);
	/* The NPU's part is planned once per share, for every share the
	 * layout walks (a share whose splits all overflow a macro too: its
	 * plan may refuse the layer), and estimates its candidates. */
	for (int n0 = G; n0 >= 0; n0--) {
		int npu_ch = n0 * g < total ? n0 * g : total;

		if (n0 < G && !cim_ok)
			break;
		rc = sim_npu_plan(p, l, npu_ch, &npu, err);
		if (rc != 0)
			return rc;
		for (; k < n && cands[k].npu_channels == npu_ch; k++)
			estimate(p, l, &npu, &cands[k]);
	}
	return 0;
}

/* Whether a candidate list a cache returned can be what build_layer makes
 * for this system and layer; if not, *why says the first thing wrong.  A
 * stored list is never trusted: one flipped bit in a database blob must
 * cost a recomputation, not an index past the macros (doc/reliability.md). */
static int
cands_valid(const sim_profile *p, const sim_layer *l, const sim_cand *c,
    int n, char *why, size_t why_n)
{
	int g = p->part.granularity, total = l->out_c, M = p->cim.macros;
	int cim_ok = M > 0 && sim_layer_cim_capable(l);
	double cap = p->cim.capacity_mbit * 1e6 / 8;
	size_t max_n = g > 0 && total > 0 ?
	    (cim_ok ? (size_t)((total + g - 1) / g) * (size_t)M : 0) + 1 : 0;

	if (n <= 0 || (size_t)n > max_n) {
		snprintf(why, why_n, "%d candidates, want 1 to %zu", n, max_n);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		const sim_cand *k = &c[i];
		const double v[4] = { k->cim_weight_bytes, k->max_macro_bytes,
		    k->est_latency_s, k->est_energy_j };
		int granules;

		if (k->npu_channels < 0 || k->npu_channels > total ||
		    k->cim_channels != total - k->npu_channels) {
			snprintf(why, why_n, "candidate %d splits %d + %d "
			    "channels of %d", i, k->npu_channels,
			    k->cim_channels, total);
			return 0;
		}
		granules = (k->cim_channels + g - 1) / g;
		if (k->macros < 0 || k->macros > M ||
		    (k->macros == 0) != (k->cim_channels == 0) ||
		    (k->macros > 0 && (!cim_ok || k->macros > granules))) {
			snprintf(why, why_n, "candidate %d uses %d macros (system "
			    "has %d, %d channels on them)", i, k->macros, M,
			    k->cim_channels);
			return 0;
		}
		for (int j = 0; j < 4; j++)
			if (!isfinite(v[j]) || v[j] < 0) {
				snprintf(why, why_n, "candidate %d has estimate "
				    "%d = %g", i, j, v[j]);
				return 0;
			}
		if (k->max_macro_bytes > cap * (1 + 1e-9)) {
			snprintf(why, why_n, "candidate %d puts %g bytes on one "
			    "macro of %g", i, k->max_macro_bytes, cap);
			return 0;
		}
	}
	return 1;
}

static void
choose_unconstrained(sim_partition *part, sim_objective obj, double tl,
    double te)
{
	for (int i = 0; i < part->n_layers; i++) {
		sim_layer_plan *lp = &part->layers[i];
		double best = DBL_MAX;

		/* A repeat of an earlier layer has its candidates: and its
		 * choice. */
		if (lp->same_as >= 0) {
			lp->chosen = part->layers[lp->same_as].chosen;
			continue;
		}
		for (int k = 0; k < lp->n_cands; k++) {
			double c = sim_cand_cost(&lp->cands[k], obj, tl, te);

			if (c < best) {
				best = c;
				lp->chosen = k;
			}
		}
	}
}

static double
used_bytes(const sim_partition *part)
{
	double b = 0;

	for (int i = 0; i < part->n_layers; i++)
		b += part->layers[i].cands[part->layers[i].chosen]
		    .cim_weight_bytes;
	return b;
}

typedef struct state {
	double bytes, cost;
	int parent, cand;
} state;

/* The order the next front is built in: bytes, then cost, then the order
 * the states were generated in (parent state, then candidate), so that of
 * two states equal in bytes and cost the earlier one is kept. */
static int
state_before(const state *x, const state *y)
{
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes;
	if (x->cost != y->cost)
		return x->cost < y->cost;
	if (x->parent != y->parent)
		return x->parent < y->parent;
	return x->cand < y->cand;
}

/* A min-heap of the head states of the candidates' shifted fronts. */
static void
heap_down(state *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		state t;

		if (l < n && state_before(&h[l], &h[m]))
			m = l;
		if (r < n && state_before(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* The next Pareto front: the current front (bytes ascending, cost
 * descending) shifted by each candidate's bytes and cost is a sorted list
 * per candidate, so a k-way merge of the lists gives the states in order
 * without sorting them (O(n log k), not O(n log n)); a state is kept when
 * it costs strictly less than every state before it.  Returns the size. */
static int
next_front(const state *front, int size, const sim_layer_plan *lp,
    sim_objective obj, double tl, double te, double budget, state *heap,
    state *out)
{
	int h = 0, n = 0;
	double best = DBL_MAX;

	for (int k = 0; k < lp->n_cands; k++) {
		const sim_cand *c = &lp->cands[k];
		double b = front[0].bytes + c->cim_weight_bytes;

		if (b <= budget)
			heap[h++] = (state){ b, front[0].cost +
			    sim_cand_cost(c, obj, tl, te), 0, k };
	}
	for (int i = h / 2 - 1; i >= 0; i--)
		heap_down(heap, h, i);
	while (h > 0) {
		state top = heap[0];
		const sim_cand *c = &lp->cands[top.cand];
		int s = top.parent + 1;

		double ck = sim_cand_cost(c, obj, tl, te);

		if (top.cost < best) {
			best = top.cost;
			out[n++] = top;
		}
		/* Skip the candidate's states that cost no less than the best
		 * so far: they come later in the order, so they would not be
		 * kept.  Costs fall along a front, and a rounded sum is
		 * monotone in its terms, so the first state that is kept lies
		 * by bisection. */
		if (s < size && !(front[s].cost + ck < best)) {
			int lo = s + 1, hi = size;

			while (lo < hi) {
				int mid = lo + (hi - lo) / 2;

				if (front[mid].cost + ck < best)
					hi = mid;
				else
					lo = mid + 1;
			}
			s = lo;
		}
		/* The candidate's next state, if it is within the budget
		 * (bytes only grow along a front). */
		if (s < size && front[s].bytes + c->cim_weight_bytes <=
		    budget) {
			heap[0] = (state){ front[s].bytes +
			    c->cim_weight_bytes, front[s].cost + ck, s,
			    top.cand };
		} else {
			heap[0] = heap[--h];
		}
		heap_down(heap, h, 0);
	}
	return n;
}

/* Exact: Pareto fronts of (bytes, cost) layer by layer.  Returns 0 if the
 * fronts grew too large (the caller falls back to the relaxation). */
static int
choose_dp(sim_partition *part, sim_objective obj, double tl, double te,
    double budget)
{
	int L = part->n_layers, ok = 0;
	state **fronts = h4h_xcalloc((size_t)L + 1, sizeof *fronts);
	int *sizes = h4h_xcalloc((size_t)L + 1, sizeof *sizes);
	state *tmp = NULL, *heap = NULL;
	size_t tmp_cap = 0, heap_cap = 0, work = 0;

	fronts[0] = h4h_xcalloc(1, sizeof(state));
	fronts[0][0] = (state){ 0, 0, -1, -1 };
	sizes[0] = 1;
	for (int i = 0; i < L; i++) {
		sim_layer_plan *lp = &part->layers[i];
		size_t need = (size_t)sizes[i] * lp->n_cands;

		/* The work bound counts every state a layer could generate,
		 * as the sort this merge replaced did: when the exact DP gives
		 * way to the relaxation does not change with the method. */
		work += need;
		if (work > DP_MAX_WORK)
			goto out;
		if (need > tmp_cap) {
			tmp_cap = need;
			tmp = h4h_xrealloc(tmp, tmp_cap * sizeof *tmp);
		}
		if ((size_t)lp->n_cands > heap_cap) {
			heap_cap = (size_t)lp->n_cands;
			heap = h4h_xrealloc(heap, heap_cap * sizeof *heap);
		}
		sizes[i + 1] = next_front(fronts[i], sizes[i], lp, obj, tl, te,
		    budget, heap, tmp);
		if (sizes[i + 1] == 0)
			goto out;
		fronts[i + 1] = h4h_xmalloc((size_t)sizes[i + 1] *
		    sizeof(state));
		memcpy(fronts[i + 1], tmp, (size_t)sizes[i + 1] *
		    sizeof(state));
	}
	{
		/* The last state on the front has the lowest cost. */
		int s = sizes[L] - 1;

		for (int i = L; i > 0; i--) {
			part->layers[i - 1].chosen = fronts[i][s].cand;
			s = fronts[i][s].parent;
		}
		ok = 1;
	}
out:
	for (int i = 0; i <= L; i++)
		free(fronts[i]);
	free(fronts);
	free(sizes);
	free(tmp);
	free(heap);
	return ok;
}

/* Per layer argmin cost + lambda * bytes at one lambda over each layer's
 * hull (hull[] holds candidate indices, layer i's from off[i] to
 * off[i + 1]); returns the total bytes. */
static double
relaxed_choice(sim_partition *part, const double *cost, const double *bytes,
    const int *base, const int *hull, const int *off, double lambda)
{
	double used = 0;

	for (int i = 0; i < part->n_layers; i++) {
		sim_layer_plan *lp = &part->layers[i];
		double best = DBL_MAX;
		int pick = 0;

		for (int h = off[i]; h < off[i + 1]; h++) {
			int k = hull[h];
			double c = cost[base[i] + k] + lambda * bytes[base[i] + k];

			if (c < best) {
				best = c;
				pick = k;
			}
		}
		lp->chosen = pick;
		used += bytes[base[i] + pick];
	}
	return used;
}

static const double *sort_bytes, *sort_cost;

static int
cmp_point(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (sort_bytes[x] != sort_bytes[y])
		return sort_bytes[x] < sort_bytes[y] ? -1 : 1;
	if (sort_cost[x] != sort_cost[y])
		return sort_cost[x] < sort_cost[y] ? -1 : 1;
	return x - y;
}

/* The candidates that minimise cost + lambda * bytes for some lambda >= 0:
 * the lower convex hull of (bytes, cost) from the fewest bytes to the
 * cheapest point.  Writes candidate indices into out; returns the count. */
static int
lower_hull(const double *cost, const double *bytes, int n, int *tmp,
    int *out)
{
	int m = 0, sorted = 1;

	for (int k = 0; k < n; k++) {
		tmp[k] = k;
		sorted &= k == 0 || bytes[k - 1] <= bytes[k];
	}
	/* Candidates come in order of growing CIM share, so usually sorted
	 * already. */
	if (!sorted) {
		sort_bytes = bytes;
		sort_cost = cost;
		qsort(tmp, (size_t)n, sizeof *tmp, cmp_point);
	}
	for (int t = 0; t < n;) {
		int k = tmp[t];

		/* The cheapest of a run of equal bytes stands for the run. */
		for (t++; t < n && bytes[tmp[t]] == bytes[k]; t++)
			if (cost[tmp[t]] < cost[k])
				k = tmp[t];
		/* Only points cheaper than every point to their left can be
		 * chosen. */
		if (m > 0 && cost[k] >= cost[out[m - 1]])
			continue;
		while (m >= 2) {
			int a = out[m - 2], b = out[m - 1];
			double cross = (bytes[b] - bytes[a]) * (cost[k] - cost[a]) -
			    (cost[b] - cost[a]) * (bytes[k] - bytes[a]);

			if (cross > 0)
				break;
			m--;	/* b lies on or above the segment a-k */
		}
		out[m++] = k;
	}
	return m;
}

/* The relaxation's per-candidate costs, bytes and per-layer hulls, flat
 * over all candidates: built once per objective linearisation. */
typedef struct relax {
	int L, n;
	double *cost, *bytes;
	int *base, *hull, *off;
} relax;

static void
relax_free(relax *r)
{
	free(r->cost);
	free(r->bytes);
	free(r->base);
	free(r->hull);
	free(r->off);
	memset(r, 0, sizeof *r);
}

static void
relax_build(relax *r, const sim_partition *part, sim_objective obj,
    double tl, double te)
{
	int L = part->n_layers, n = 0, max_n = 1, *tmp;

	relax_free(r);
	r->L = L;
	r->base = h4h_xmalloc(((size_t)L + 1) * sizeof *r->base);
	r->off = h4h_xmalloc(((size_t)L + 1) * sizeof *r->off);
	for (int i = 0; i < L; i++) {
		r->base[i] = n;
		n += part->layers[i].n_cands;
		if (part->layers[i].n_cands > max_n)
			max_n = part->layers[i].n_cands;
	}
	r->base[L] = r->n = n;
	r->cost = h4h_xmalloc((size_t)n * sizeof *r->cost);
	r->bytes = h4h_xmalloc((size_t)n * sizeof *r->bytes);
	r->hull = h4h_xmalloc((size_t)n * sizeof *r->hull);
	tmp = h4h_xmalloc((size_t)max_n * sizeof *tmp);
	r->off[0] = 0;
	for (int i = 0; i < L; i++) {
		const sim_layer_plan *lp = &part->layers[i];

		for (int k = 0; k < lp->n_cands; k++) {
			r->cost[r->base[i] + k] = sim_cand_cost(&lp->cands[k],
			    obj, tl, te);
			r->bytes[r->base[i] + k] = lp->cands[k].cim_weight_bytes;
		}
		r->off[i + 1] = r->off[i] + lower_hull(r->cost + r->base[i],
		    r->bytes + r->base[i], lp->n_cands, tmp, r->hull + r->off[i]);
	}
	free(tmp);
}

/* Lagrangian relaxation: lambda bisected to the smallest that fits, then
 * leftover capacity spent greedily on the best improvements that fit. */
static void
choose_lagrangian(sim_partition *part, const relax *r, double budget)
{
	double lo = 0, hi = 1e-15, used;
	const double *cost = r->cost, *bytes = r->bytes;
	const int *base = r->base, *hull = r->hull, *off = r->off;
	int L = part->n_layers;

	/* cands[0] (NPU only, 0 bytes) is on every hull: some lambda fits. */
	for (int it = 0; relaxed_choice(part, cost, bytes, base, hull, off,
	    hi) > budget && it < 200; it++) {
		lo = hi;
		hi *= 8;
	}
	for (int it = 0; it < 40; it++) {
		double mid = (lo + hi) / 2;

		if (relaxed_choice(part, cost, bytes, base, hull, off, mid) <=
		    budget)
			hi = mid;
		else
			lo = mid;
	}
	used = relaxed_choice(part, cost, bytes, base, hull, off, hi);
	for (int improved = 1; improved;) {
		improved = 0;
		for (int i = 0; i < L; i++) {
			sim_layer_plan *lp = &part->layers[i];

			for (int k = 0; k < lp->n_cands; k++) {
				int cur = base[i] + lp->chosen;

				if (cost[base[i] + k] < cost[cur] && used -
				    bytes[cur] + bytes[base[i] + k] <= budget) {
					used += bytes[base[i] + k] - bytes[cur];
					lp->chosen = k;
					improved = 1;
				}
			}
		}
	}
}

static void
totals(const sim_partition *part, double *tl, double *te)
{
	*tl = *te = 0;
	for (int i = 0; i < part->n_layers; i++) {
		const sim_cand *c =
		    &part->layers[i].cands[part->layers[i].chosen];

		*tl += c->est_latency_s;
		*te += c->est_energy_j;
	}
}

/* rx caches the relaxation for (obj, tl, te) across calls that only
 * change the budget; it is rebuilt when obj is EDP (its costs move). */
static void
choose_once(sim_partition *part, sim_objective obj, double tl, double te,
    double budget, relax *rx)
{
	choose_unconstrained(part, obj, tl, te);
	part->exact = 1;
	if (used_bytes(part) > budget) {
		long long n = 0;

		for (int i = 0; i < part->n_layers; i++)
			n += part->layers[i].n_cands;
		part->exact = n <= DP_MAX_CANDS &&
		    choose_dp(part, obj, tl, te, budget);
		if (!part->exact) {
			if (rx->cost == NULL || obj == SIM_OBJ_EDP)
				relax_build(rx, part, obj, tl, te);
			choose_lagrangian(part, rx, budget);
		}
	}
}

static void
choose(sim_partition *part, sim_objective obj, double budget, relax *rx)
{
	double tl, te, best;
	int *keep;
	relax lat = { 0 };

	if (obj != SIM_OBJ_EDP) {
		choose_once(part, obj, 0, 0, budget, rx);
		return;
	}
	/* EDP is a product of sums: iterate the linearisation from the
	 * latency-optimal point and keep the best product seen.  Each step is
	 * solved exactly (or relaxed), but the product is not: never exact. */
	keep = h4h_xcalloc((size_t)part->n_layers + 1, sizeof *keep);
	choose_once(part, SIM_OBJ_LATENCY, 0, 0, budget, &lat);
	relax_free(&lat);
	totals(part, &tl, &te);
	best = tl * te;
	for (int i = 0; i < part->n_layers; i++)
		keep[i] = part->layers[i].chosen;
	for (int r = 0; r < 4; r++) {
		choose_once(part, obj, tl, te, budget, rx);
		totals(part, &tl, &te);
		if (tl * te < best) {
			best = tl * te;
			for (int i = 0; i < part->n_layers; i++)
				keep[i] = part->layers[i].chosen;
		}
	}
	for (int i = 0; i < part->n_layers; i++)
		part->layers[i].chosen = keep[i];
	part->exact = 0;
	free(keep);
}

/* The macros a candidate would use: the m least filled, stable by index
 * (M is small).  Returns 1 if its shares fit there. */
static int
fits(const sim_cand *c, const double *fill, int M, int g, double cap,
    int *order)
{
	double wpc = c->cim_channels > 0 ?
	    c->cim_weight_bytes / c->cim_channels : 0;

	for (int j = 0; j < M; j++)
		order[j] = j;
	for (int a = 1; a < M; a++)
		for (int b = a; b > 0 && fill[order[b]] < fill[order[b - 1]];
		    b--) {
			int t = order[b];

			order[b] = order[b - 1];
			order[b - 1] = t;
		}
	for (int j = 0; j < c->macros; j++)
		if (fill[order[j]] + wpc * sim_cand_macro_channels(c, g, j) >
		    cap * (1 + 1e-12))
			return 0;
	return 1;
}

static const sim_partition *sort_part;

static int
cmp_share(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	double sx = sort_part->layers[x].cands[sort_part->layers[x].chosen]
	    .max_macro_bytes;
	double sy = sort_part->layers[y].cands[sort_part->layers[y].chosen]
	    .max_macro_bytes;

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return x - y;
}

/* Put each layer's shares on the least-filled macros.  A chosen split
 * whose shares do not fit there (the choice only bounds the total) is
 * replaced by the layer's cheapest split that does; the NPU-only one always
 * fits.  Returns the number of layers so repaired. */
static int
place(sim_partition *part, const sim_profile *p, sim_objective obj)
{
	int M = p->cim.macros, g = p->part.granularity, repaired = 0;
	double cap = p->cim.capacity_mbit * 1e6 / 8, tl, te;
	double *fill = h4h_xcalloc(M > 0 ? (size_t)M : 1, sizeof *fill);
	int *order = h4h_xcalloc(M > 0 ? (size_t)M : 1, sizeof *order);
	int *seq = h4h_xcalloc((size_t)part->n_layers + 1, sizeof *seq);

	totals(part, &tl, &te);
	/* Largest shares first (first-fit decreasing packs tighter). */
	for (int i = 0; i < part->n_layers; i++)
		seq[i] = i;
	sort_part = part;
	qsort(seq, (size_t)part->n_layers, sizeof *seq, cmp_share);
	for (int t = 0; t < part->n_layers; t++) {
		int i = seq[t];
		sim_layer_plan *lp = &part->layers[i];
		const sim_cand *c = &lp->cands[lp->chosen];
		double wpc;

		free(lp->macro_ids);
		lp->macro_ids = NULL;
		if (c->macros == 0)
			continue;
		if (!fits(c, fill, M, g, cap, order)) {
			double best = DBL_MAX;
			int best_k = 0;

			for (int k = 0; k < lp->n_cands; k++) {
				double cost = sim_cand_cost(&lp->cands[k], obj,
				    tl, te);

				if (cost < best && fits(&lp->cands[k], fill, M,
				    g, cap, order)) {
					best = cost;
					best_k = k;
				}
			}
			lp->chosen = best_k;
			c = &lp->cands[best_k];
			repaired++;
			if (c->macros == 0)
				continue;
			fits(c, fill, M, g, cap, order);
		}
		wpc = c->cim_weight_bytes / c->cim_channels;
		lp->macro_ids = h4h_xcalloc((size_t)c->macros, sizeof(int));
		for (int j = 0; j < c->macros; j++) {
			lp->macro_ids[j] = order[j];
			fill[order[j]] += wpc * sim_cand_macro_channels(c, g, j);
		}
	}
	part->used_bytes = 0;
	for (int j = 0; j < M; j++)
		part->used_bytes += fill[j];
	free(fill);
	free(order);
	free(seq);
	return repaired;
}

static double
objective_value(const sim_partition *part, sim_objective obj)
{
	double tl, te;

	totals(part, &tl, &te);
	return obj == SIM_OBJ_LATENCY ? tl : obj == SIM_OBJ_ENERGY ? te :
	    tl * te;
}

/* The choice bounds only the total capacity; when shares then do not pack
 * onto the macros, placement repairs layers one by one.  A tighter total
 * often packs without repairs and costs less: try a few budgets and keep
 * the best valid result. */
static void
choose_and_place(sim_partition *part, const sim_profile *p)
{
	sim_objective obj = p->part.objective;
	int L = part->n_layers, *best = h4h_xcalloc((size_t)L + 1, sizeof *best);
	double budget = part->capacity_bytes, best_val = DBL_MAX;
	int best_exact = 0, same;
	relax rx = { 0 };

	for (int round = 0; round < 6; round++) {
		int repaired;
		double val;

		choose(part, obj, budget, &rx);
		repaired = place(part, p, obj);
		val = objective_value(part, obj);
		if (val < best_val) {
			best_val = val;
			best_exact = round == 0 && part->exact && repaired == 0;
			for (int i = 0; i < L; i++)
				best[i] = part->layers[i].chosen;
		}
		if (repaired == 0)
			break;
		budget *= 0.9;
	}
	/* Replay the best round's placement unless it was the last round. */
	same = 1;
	for (int i = 0; i < L; i++) {
		same &= part->layers[i].chosen == best[i];
		part->layers[i].chosen = best[i];
	}
	if (!same)
		place(part, p, obj);
	part->exact = best_exact;
	relax_free(&rx);
	free(best);
}

/* For every layer, the first earlier layer of the same shape, or -1: an
 * open-addressing table on the layer hash (canon.h). */
static void
find_repeats(const sim_net *net, sim_partition *part)
{
	size_t cap = 16;
	int *slot;

	while (cap < 2 * (size_t)net->n_layers)
		cap *= 2;
	slot = h4h_xmalloc(cap * sizeof *slot);
	for (size_t k = 0; k < cap; k++)
		slot[k] = -1;
	for (int i = 0; i < net->n_layers; i++) {
		const sim_layer *l = &net->layers[i];
		size_t k = (size_t)sim_layer_hash(l) & (cap - 1);

		part->layers[i].same_as = -1;
		for (; slot[k] >= 0; k = (k + 1) & (cap - 1))
			if (sim_layer_same_key(&net->layers[slot[k]], l)) {
				part->layers[i].same_as = slot[k];
				break;
			}
		if (slot[k] < 0)
			slot[k] = i;
	}
	free(slot);
}

int
sim_partition_build(const sim_profile *p, const sim_net *net,
    const sim_cache *cache, sim_partition **out, h4h_err *err)
{
	const sim_cand *known;
	int n_known, got;
	sim_partition *part = h4h_xcalloc(1, sizeof *part);
	int rc = 0;

	part->n_layers = net->n_layers;
	part->layers = h4h_xcalloc((size_t)net->n_layers,
	    sizeof *part->layers);
	part->capacity_bytes = p->cim.macros * p->cim.capacity_mbit * 1e6 / 8;
	find_repeats(net, part);
	for (int i = 0; i < net->n_layers; i++) {
		int same = part->layers[i].same_as;

		if (same >= 0) {
			/* Candidates depend on the shape alone: repeated blocks
			 * (most of a network) share them. */
			part->layers[i].n_cands = part->layers[same].n_cands;
			part->layers[i].cands = part->layers[same].cands;
			continue;
		}
		if (cache != NULL && (got = cache->get_cands(cache->ctx,
		    &net->layers[i], &known, &n_known)) != 0) {
			char why[160];

			if (got == 2 || cands_valid(p, &net->layers[i], known,
			    n_known, why, sizeof why)) {
				if (got != 2 && cache->good_cands != NULL)
					cache->good_cands(cache->ctx,
					    &net->layers[i]);
				/* Borrowed: the cache keeps them while it
				 * lives. */
				part->layers[i].n_cands = n_known;
				part->layers[i].cands = known;
				continue;
			}
			/* A miss: built below, and the cache is told. */
			if (cache->bad_cands != NULL)
				cache->bad_cands(cache->ctx, &net->layers[i],
				    why);
		}
		rc = build_layer(p, &net->layers[i], &part->layers[i], err);
		if (rc != 0) {
			sim_partition_destroy(part);
			return rc;
		}
		if (cache != NULL)
			cache->put_cands(cache->ctx, &net->layers[i],
			    part->layers[i].cands, part->layers[i].n_cands);
	}
	choose_and_place(part, p);

	*out = part;
	return 0;
}

void
sim_partition_destroy(sim_partition *part)
{
	if (part == NULL)
		return;
	for (int i = 0; i < part->n_layers; i++) {
		if (part->layers[i].owned)
			free((sim_cand *)part->layers[i].cands);
		free(part->layers[i].macro_ids);
	}
	free(part->layers);
	free(part);
}
