/*
 * breakdown.c - where the time goes (breakdown.h).
 *
 * Busy times per layer, in seconds:
 *   npu_mac   the U55 operators' MAC stage: runs x blocks x MAC cycles
 *   npu_out   their output stage: runs x blocks x output cycles
 *   weight    weights over the NPU's weight port (sram_only) or from flash
 *             (shared_sram: streamed fc weights and DMA'd conv weights)
 *   noc       the simulated occupancy of the shared link
 *   cim       the busiest macro's CU steps (before its port bound)
 *   ifmp      the busiest macro's IFMP buffer -> CU read port
 * The bound is the longest; ties go to the first in that order.
 */
#include "sim/report/breakdown.h"
#include "sim/report/report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sim/hw/cim.h"
#include "sim/hw/npu.h"
#include "sim/engine/partition.h"

static const char *const bound_names[SIM_BOUND_COUNT] = {
	[SIM_BOUND_NPU_MAC] = "npu_mac",
	[SIM_BOUND_NPU_OUT] = "npu_out",
	[SIM_BOUND_WEIGHT] = "weight_port",
	[SIM_BOUND_NOC] = "noc",
	[SIM_BOUND_CIM] = "cim",
	[SIM_BOUND_IFMP] = "ifmp",
};

const char *
sim_bound_name(sim_bound b)
{
	return (int)b >= 0 && b < SIM_BOUND_COUNT ? bound_names[b] : "?";
}

/* Busy times of one layer's split. */
static int
layer_busy(const sim_profile *p, const sim_layer_result *lr, double *busy,
    h4h_err *err)
{
	const sim_layer *l = lr->layer;
	double npu_hz = p->npu.clock_mhz * 1e6, cim_hz = p->cim.clock_mhz * 1e6;
	int rc;

	memset(busy, 0, SIM_BOUND_COUNT * sizeof *busy);
	busy[SIM_BOUND_NOC] = lr->noc_busy_s;
	if (lr->npu_channels > 0) {
		sim_npu_work *w = h4h_xmalloc(sizeof *w);
		double flash = 0;

		if ((rc = sim_npu_plan(p, l, lr->npu_channels, w, err)) != 0) {
			free(w);
			return rc;
		}
		for (int i = 0; i < w->n_ops; i++) {
			const sim_npu_op *op = &w->ops[i];
			double blocks = (double)op->runs * op->n_blocks;

			busy[SIM_BOUND_NPU_MAC] += blocks * op->dpu_cycles /
			    npu_hz;
			busy[SIM_BOUND_NPU_OUT] += blocks * op->out_cycles /
			    npu_hz;
		}
		if (p->npu.weight_bandwidth_gbps > 0)
			busy[SIM_BOUND_WEIGHT] += w->weight_port_bytes /
			    (p->npu.weight_bandwidth_gbps * 1e9);
		flash = w->flash_bytes;
		if (p->npu.flash_bandwidth_gbps > 0)
			busy[SIM_BOUND_WEIGHT] += flash /
			    (p->npu.flash_bandwidth_gbps * 1e9);
		free(w);
	}
	if (lr->macros > 0 && lr->cim_channels > 0) {
		sim_cand c;

		memset(&c, 0, sizeof c);
		c.npu_channels = lr->npu_channels;
		c.cim_channels = lr->cim_channels;
		c.macros = lr->macros;
		for (int j = 0; j < lr->macros; j++) {
			sim_cim_work w;
			int ch = sim_cand_macro_channels(&c,
			    p->part.granularity, j);

			if (ch <= 0)
				continue;
			sim_cim_plan(&p->cim, l, ch, &w);
			if (w.compute_cycles / cim_hz > busy[SIM_BOUND_CIM])
				busy[SIM_BOUND_CIM] = w.compute_cycles / cim_hz;
			if (w.port_cycles / cim_hz > busy[SIM_BOUND_IFMP])
				busy[SIM_BOUND_IFMP] = w.port_cycles / cim_hz;
		}
	}
	return 0;
}

int
sim_breakdown_make(const sim_profile *p, const sim_result *r,
    sim_breakdown **out, h4h_err *err)
{
	sim_breakdown *b = h4h_xcalloc(1, sizeof *b);
	int rc = 0;

	*out = NULL;
	b->n_layers = r->n_layers;
	b->bound = h4h_xcalloc((size_t)(r->n_layers + 1), sizeof *b->bound);
	b->busy_s = h4h_xcalloc((size_t)(r->n_layers + 1), sizeof *b->busy_s);
	for (int i = 0; i < r->n_layers; i++) {
		const sim_layer_result *lr = &r->layers[i];
		sim_bound best = SIM_BOUND_NPU_MAC;

		if ((rc = layer_busy(p, lr, b->busy_s[i], err)) != 0)
			goto out;
		for (int k = 1; k < SIM_BOUND_COUNT; k++)
			if (b->busy_s[i][k] > b->busy_s[i][best])
				best = (sim_bound)k;
		b->bound[i] = best;
		b->by_bound[best].layers++;
		b->by_bound[best].latency_s += lr->latency_s;
		b->by_op[lr->layer->op].layers++;
		b->by_op[lr->layer->op].latency_s += lr->latency_s;
		b->by_op[lr->layer->op].energy_j += lr->energy_j;
		if (lr->cim_channels == 0)
			b->lat_npu_s += lr->latency_s;
		else if (lr->npu_channels == 0)
			b->lat_cim_s += lr->latency_s;
		else
			b->lat_split_s += lr->latency_s;
		/* Insert into the top list (slowest first, stable). */
		{
			int k = b->n_top < SIM_BREAKDOWN_TOP ? b->n_top++ :
			    SIM_BREAKDOWN_TOP;

			while (k > 0 && r->layers[b->top[k - 1]].latency_s <
			    lr->latency_s) {
				if (k < SIM_BREAKDOWN_TOP)
					b->top[k] = b->top[k - 1];
				k--;
			}
			if (k < SIM_BREAKDOWN_TOP)
				b->top[k] = i;
		}
	}
	*out = b;
	b = NULL;
out:
	sim_breakdown_destroy(b);
	return rc;
}

void
sim_breakdown_destroy(sim_breakdown *b)
{
	if (b == NULL)
		return;
	free(b->bound);
	free(b->busy_s);
	free(b);
}

/* Shares in percent, never "-0.0". */
static double
pct(double part, double whole)
{
	double v = whole > 0 ? 100 * part / whole : 0;

	return v == 0 ? 0 : v;
}

/* Op kinds by latency, slowest first. */
static void
op_order(const sim_breakdown *b, int *ord, int *n)
{
	*n = 0;
	for (int op = 0; op < SIM_OP_COUNT; op++)
		if (b->by_op[op].layers > 0)
			ord[(*n)++] = op;
	for (int i = 1; i < *n; i++)
		for (int j = i; j > 0 && b->by_op[ord[j]].latency_s >
		    b->by_op[ord[j - 1]].latency_s; j--) {
			int t = ord[j];

			ord[j] = ord[j - 1];
			ord[j - 1] = t;
		}
}

void
sim_breakdown_print(const sim_breakdown *b, const sim_result *r, FILE *f)
{
	double lat = r->latency_s, en = r->energy_j;
	int ord[SIM_OP_COUNT], n;
	char split[48];

	fprintf(f, "\nwhere the time goes: %s on %s (%.3f ms, %.3f uJ)\n",
	    r->net_name, r->system_name, lat * 1e3, en * 1e6);
	fprintf(f, "%-12s %6s %11s %7s %12s %8s\n", "by op", "layers",
	    "lat_ms", "lat%", "energy_uJ", "energy%");
	op_order(b, ord, &n);
	for (int i = 0; i < n; i++)
		fprintf(f, "%-12s %6d %11.3f %6.1f%% %12.3f %7.1f%%\n",
		    sim_op_name((sim_op)ord[i]), b->by_op[ord[i]].layers,
		    b->by_op[ord[i]].latency_s * 1e3,
		    pct(b->by_op[ord[i]].latency_s, lat),
		    b->by_op[ord[i]].energy_j * 1e6,
		    pct(b->by_op[ord[i]].energy_j, en));
	fprintf(f, "%-12s %18s %7s %12s %8s\n", "by device", "busy_ms",
	    "busy%", "energy_uJ", "energy%");
	fprintf(f, "%-12s %18.3f %6.1f%% %12.3f %7.1f%%\n", "npu",
	    r->npu_busy_s * 1e3, pct(r->npu_busy_s, lat), r->e_npu_j * 1e6,
	    pct(r->e_npu_j, en));
	fprintf(f, "%-12s %18.3f %6.1f%% %12.3f %7.1f%%\n", "cim",
	    r->cim_busy_s * 1e3, pct(r->cim_busy_s, lat), r->e_cim_j * 1e6,
	    pct(r->e_cim_j, en));
	fprintf(f, "%-12s %18.3f %6.1f%% %12.3f %7.1f%%\n", "noc",
	    r->noc_busy_s * 1e3, pct(r->noc_busy_s, lat), r->e_noc_j * 1e6,
	    pct(r->e_noc_j, en));
	fprintf(f, "%-12s %18s %7s %12.3f %7.1f%%\n", "static", "-", "-",
	    r->e_static_j * 1e6, pct(r->e_static_j, en));
	fprintf(f, "layers on the npu alone %.3f ms (%.1f%%), on macros alone "
	    "%.3f ms (%.1f%%), split %.3f ms (%.1f%%)\n", b->lat_npu_s * 1e3,
	    pct(b->lat_npu_s, lat), b->lat_cim_s * 1e3, pct(b->lat_cim_s, lat),
	    b->lat_split_s * 1e3, pct(b->lat_split_s, lat));
	fprintf(f, "%-12s %6s %11s %7s\n", "by bound", "layers", "lat_ms",
	    "lat%");
	for (int k = 0; k < SIM_BOUND_COUNT; k++)
		if (b->by_bound[k].layers > 0)
			fprintf(f, "%-12s %6d %11.3f %6.1f%%\n",
			    sim_bound_name((sim_bound)k),
			    b->by_bound[k].layers,
			    b->by_bound[k].latency_s * 1e3,
			    pct(b->by_bound[k].latency_s, lat));
	fprintf(f, "top %d layers%*s %-9s %11s %7s  %-11s %s\n", b->n_top, 26,
	    "", "op", "lat_us", "lat%", "bound", "split");
	for (int t = 0; t < b->n_top; t++) {
		const sim_layer_result *lr = &r->layers[b->top[t]];

		if (lr->cim_channels == 0)
			snprintf(split, sizeof split, "npu");
		else if (lr->npu_channels == 0)
			snprintf(split, sizeof split, "cim %d/%dm",
			    lr->cim_channels, lr->macros);
		else
			snprintf(split, sizeof split, "npu %d + cim %d/%dm",
			    lr->npu_channels, lr->cim_channels, lr->macros);
		fprintf(f, "%-38.38s %-9s %11.3f %6.1f%%  %-11s %s\n",
		    lr->layer->name, sim_op_name(lr->layer->op),
		    lr->latency_s * 1e6, pct(lr->latency_s, lat),
		    sim_bound_name(b->bound[b->top[t]]), split);
	}
}

static json_t *
breakdown_obj(const sim_breakdown *b, const sim_result *r)
{
	json_t *o = json_object(), *a;
	int ord[SIM_OP_COUNT], n;

	op_order(b, ord, &n);
	a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:i,s:f,s:f}", "op",
		    sim_op_name((sim_op)ord[i]), "layers",
		    b->by_op[ord[i]].layers, "latency_s",
		    b->by_op[ord[i]].latency_s, "energy_j",
		    b->by_op[ord[i]].energy_j));
	json_object_set_new(o, "by_op", a);
	json_object_set_new(o, "by_device", json_pack(
	    "{s:{s:f,s:f},s:{s:f,s:f},s:{s:f,s:f},s:{s:f}}",
	    "npu", "busy_s", r->npu_busy_s, "energy_j", r->e_npu_j,
	    "cim", "busy_s", r->cim_busy_s, "energy_j", r->e_cim_j,
	    "noc", "busy_s", r->noc_busy_s, "energy_j", r->e_noc_j,
	    "static", "energy_j", r->e_static_j));
	json_object_set_new(o, "latency_by_placement", json_pack(
	    "{s:f,s:f,s:f}", "npu_s", b->lat_npu_s, "cim_s", b->lat_cim_s,
	    "split_s", b->lat_split_s));
	a = json_array();
	for (int k = 0; k < SIM_BOUND_COUNT; k++)
		if (b->by_bound[k].layers > 0)
			json_array_append_new(a, json_pack("{s:s,s:i,s:f}",
			    "bound", sim_bound_name((sim_bound)k), "layers",
			    b->by_bound[k].layers, "latency_s",
			    b->by_bound[k].latency_s));
	json_object_set_new(o, "by_bound", a);
	a = json_array();
	for (int i = 0; i < b->n_layers; i++) {
		const double *t = b->busy_s[i];

		json_array_append_new(a, json_pack("{s:s,s:s,s:{s:f,s:f,s:f,"
		    "s:f,s:f,s:f}}", "name", r->layers[i].layer->name, "bound",
		    sim_bound_name(b->bound[i]), "busy_s",
		    "npu_mac", t[SIM_BOUND_NPU_MAC],
		    "npu_out", t[SIM_BOUND_NPU_OUT],
		    "weight_port", t[SIM_BOUND_WEIGHT],
		    "noc", t[SIM_BOUND_NOC], "cim", t[SIM_BOUND_CIM],
		    "ifmp", t[SIM_BOUND_IFMP]));
	}
	json_object_set_new(o, "layers", a);
	a = json_array();
	for (int t = 0; t < b->n_top; t++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:f,s:s}", "name",
		    r->layers[b->top[t]].layer->name, "op",
		    sim_op_name(r->layers[b->top[t]].layer->op), "latency_s",
		    r->layers[b->top[t]].latency_s, "bound",
		    sim_bound_name(b->bound[b->top[t]])));
	json_object_set_new(o, "top", a);
	return o;
}

char *
sim_breakdown_json(sim_result *const *rs, sim_breakdown *const *bd, int n)
{
	char *text = sim_result_json(rs, n), *s;
	json_t *root = json_loads(text, 0, NULL);

	free(text);
	if (root == NULL)
		return NULL;
	for (int i = 0; i < n; i++) {
		json_t *o = n == 1 ? root : json_array_get(root, (size_t)i);

		json_object_set_new(o, "breakdown", breakdown_obj(bd[i],
		    rs[i]));
	}
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12));
	json_decref(root);
	return s;
}
