/*
 * report.c - simulation results as a text table, a side-by-side comparison,
 * JSON and CSV (formats in doc/formats.md).
 *
 * JSON goes through jansson with a fixed real precision and insertion order
 * so equal results give byte-identical text.
 */
#include "sim/report/report.h"
#include "sim/sim.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/atomic.h"
#include "core/text.h"

static void
shape_str(const sim_layer *l, char *buf, size_t n)
{
	snprintf(buf, n, "%dx%dx%d>%dx%dx%d", l->in_h, l->in_w, l->in_c,
	    l->out_h, l->out_w, l->out_c);
}

static void
split_str(const sim_layer_result *r, char *buf, size_t n)
{
	if (r->cim_channels == 0)
		snprintf(buf, n, "npu");
	else if (r->npu_channels == 0)
		snprintf(buf, n, "cim %d/%dm", r->cim_channels, r->macros);
	else
		snprintf(buf, n, "npu %d + cim %d/%dm", r->npu_channels,
		    r->cim_channels, r->macros);
}

void
sim_result_print_table(const sim_result *r, FILE *f)
{
	char shape[48], split[48];

	fprintf(f, "net %s on %s (objective %s)\n", r->net_name,
	    r->system_name, sim_objective_name(r->objective));
	fprintf(f, "%-22s %-9s %-22s %-22s %11s %10s %9s %9s %9s %9s %9s\n",
	    "layer", "op", "shape", "split", "cycles", "lat_us", "npu_uJ",
	    "cim_uJ", "noc_uJ", "stat_uJ", "total_uJ");
	for (int i = 0; i < r->n_layers; i++) {
		const sim_layer_result *lr = &r->layers[i];

		shape_str(lr->layer, shape, sizeof shape);
		split_str(lr, split, sizeof split);
		fprintf(f, "%-22.22s %-9s %-22s %-22s %11.0f %10.3f %9.4f %9.4f "
		    "%9.4f %9.4f %9.4f\n", lr->layer->name,
		    sim_op_name(lr->layer->op), shape, split, lr->cycles,
		    lr->latency_s * 1e6, lr->e_npu_j * 1e6, lr->e_cim_j * 1e6,
		    lr->e_noc_j * 1e6, lr->e_static_j * 1e6, lr->energy_j * 1e6);
	}
	fprintf(f, "%-22s %-9s %-22s %-22s %11.0f %10.3f %9.4f %9.4f %9.4f "
	    "%9.4f %9.4f\n", "total", "", "", "", r->cycles, r->latency_s * 1e6,
	    r->e_npu_j * 1e6, r->e_cim_j * 1e6, r->e_noc_j * 1e6,
	    r->e_static_j * 1e6, r->energy_j * 1e6);
	fprintf(f, "latency %.3f ms, energy %.3f uJ, %.1f MMAC, noc %.2f MB "
	    "(npu %.2f, cim %.2f), noc busy %.1f%%, cim weights %.2f of %.2f "
	    "MB\n", r->latency_s * 1e3, r->energy_j * 1e6, r->macs / 1e6,
	    (r->noc_bytes_npu + r->noc_bytes_cim) / 1e6, r->noc_bytes_npu / 1e6,
	    r->noc_bytes_cim / 1e6,
	    r->latency_s > 0 ? 100 * r->noc_busy_s / r->latency_s : 0,
	    r->cim_weight_bytes / 1e6, r->cim_capacity_bytes / 1e6);
}

/* A change in percent rounded to one decimal, never "-0.0". */
static double
change_pct(double now, double base)
{
	double v = base != 0 ? 100 * (now / base - 1) : 0;

	return fabs(v) < 0.05 ? 0 : v;
}

void
sim_result_print_compare(sim_result *const *rs, int n, FILE *f)
{
	char split[48];

	fprintf(f, "net %s (objective %s)\n", rs[0]->net_name,
	    sim_objective_name(rs[0]->objective));
	fprintf(f, "%-22s %-9s", "layer", "op");
	for (int s = 0; s < n; s++)
		fprintf(f, " | %-20.20s %10s %9s", rs[s]->system_name, "lat_us",
		    "uJ");
	fputc('\n', f);
	for (int i = 0; i < rs[0]->n_layers; i++) {
		const sim_layer *l = rs[0]->layers[i].layer;

		fprintf(f, "%-22.22s %-9s", l->name, sim_op_name(l->op));
		for (int s = 0; s < n; s++) {
			const sim_layer_result *lr = &rs[s]->layers[i];

			split_str(lr, split, sizeof split);
			fprintf(f, " | %-20.20s %10.3f %9.4f", split,
			    lr->latency_s * 1e6, lr->energy_j * 1e6);
		}
		fputc('\n', f);
	}
	fprintf(f, "%-22s %-9s", "total", "");
	for (int s = 0; s < n; s++)
		fprintf(f, " | %-20s %10.3f %9.4f", "", rs[s]->latency_s * 1e6,
		    rs[s]->energy_j * 1e6);
	fputc('\n', f);
	for (int s = 1; s < n; s++)
		fprintf(f, "%s vs %s: latency %+.1f%%, energy %+.1f%%\n",
		    rs[s]->system_name, rs[0]->system_name,
		    change_pct(rs[s]->latency_s, rs[0]->latency_s),
		    change_pct(rs[s]->energy_j, rs[0]->energy_j));
}

static json_t *
layer_json(const sim_layer_result *lr)
{
	const sim_layer *l = lr->layer;
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(l->name));
	json_object_set_new(o, "op", json_string(sim_op_name(l->op)));
	json_object_set_new(o, "input", json_pack("[iii]", l->in_h, l->in_w,
	    l->in_c));
	json_object_set_new(o, "output", json_pack("[iii]", l->out_h,
	    l->out_w, l->out_c));
	json_object_set_new(o, "macs", json_integer(lr->macs));
	json_object_set_new(o, "npu_channels", json_integer(lr->npu_channels));
	json_object_set_new(o, "cim_channels", json_integer(lr->cim_channels));
	json_object_set_new(o, "macros", json_integer(lr->macros));
	json_object_set_new(o, "npu_fraction", json_real(lr->npu_fraction));
	json_object_set_new(o, "cycles", json_real(lr->cycles));
	json_object_set_new(o, "start_s", json_real(lr->start_ps * 1e-12));
	json_object_set_new(o, "latency_s", json_real(lr->latency_s));
	json_object_set_new(o, "energy_j", json_real(lr->energy_j));
	json_object_set_new(o, "energy", json_pack("{s:f,s:f,s:f,s:f}",
	    "npu_j", lr->e_npu_j, "cim_j", lr->e_cim_j, "noc_j", lr->e_noc_j,
	    "static_j", lr->e_static_j));
	json_object_set_new(o, "noc_bytes", json_pack("{s:f,s:f}", "npu",
	    lr->noc_bytes_npu, "cim", lr->noc_bytes_cim));
	json_object_set_new(o, "busy_s", json_pack("{s:f,s:f,s:f}", "npu",
	    lr->npu_busy_s, "cim_max", lr->cim_busy_s, "noc", lr->noc_busy_s));
	json_object_set_new(o, "estimate_latency_s",
	    json_real(lr->est_latency_s));
	json_object_set_new(o, "candidates", json_integer(lr->candidates));
	json_object_set_new(o, "simulated", json_integer(lr->simulated));
	return o;
}

static json_t *
result_json(const sim_result *r)
{
	json_t *o = json_object(), *layers = json_array();

	json_object_set_new(o, "net", json_string(r->net_name));
	json_object_set_new(o, "system", json_string(r->system_name));
	json_object_set_new(o, "objective",
	    json_string(sim_objective_name(r->objective)));
	json_object_set_new(o, "provenance", json_pack("{s:s,s:i,s:s}",
	    "h4h_version", PACKAGE_VERSION, "model_revision",
	    SIM_MODEL_REVISION, "system_hash", r->system_hash));
	json_object_set_new(o, "latency_s", json_real(r->latency_s));
	json_object_set_new(o, "energy_j", json_real(r->energy_j));
	json_object_set_new(o, "cycles", json_real(r->cycles));
	json_object_set_new(o, "macs", json_integer(r->macs));
	json_object_set_new(o, "energy", json_pack("{s:f,s:f,s:f,s:f}",
	    "npu_j", r->e_npu_j, "cim_j", r->e_cim_j, "noc_j", r->e_noc_j,
	    "static_j", r->e_static_j));
	json_object_set_new(o, "noc_bytes", json_pack("{s:f,s:f}", "npu",
	    r->noc_bytes_npu, "cim", r->noc_bytes_cim));
	json_object_set_new(o, "noc_busy_s", json_real(r->noc_busy_s));
	json_object_set_new(o, "cim_weight_bytes",
	    json_real(r->cim_weight_bytes));
	json_object_set_new(o, "cim_capacity_bytes",
	    json_real(r->cim_capacity_bytes));
	json_object_set_new(o, "partition_exact",
	    json_boolean(r->partition_exact));
	for (int i = 0; i < r->n_layers; i++)
		json_array_append_new(layers, layer_json(&r->layers[i]));
	json_object_set_new(o, "layers", layers);
	return o;
}

char *
sim_result_json(sim_result *const *rs, int n)
{
	json_t *root;
	char *s;

	if (n == 1) {
		root = result_json(rs[0]);
	} else {
		root = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(root, result_json(rs[i]));
	}
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12));
	json_decref(root);
	return s;
}

typedef struct csv_ctx {
	sim_result *const *rs;
	int n;
} csv_ctx;

static void
write_csv(FILE *f, const void *vctx)
{
	const csv_ctx *ctx = vctx;

	fputs("system,net,layer,op,in_h,in_w,in_c,out_h,out_w,out_c,macs,"
	    "npu_channels,cim_channels,macros,npu_fraction,cycles,start_s,"
	    "latency_s,energy_j,npu_j,cim_j,noc_j,static_j,noc_bytes_npu,"
	    "noc_bytes_cim,h4h_version,model_revision,system_hash\n", f);
	for (int s = 0; s < ctx->n; s++) {
		const sim_result *r = ctx->rs[s];

		for (int i = 0; i < r->n_layers; i++) {
			const sim_layer_result *lr = &r->layers[i];
			const sim_layer *l = lr->layer;

			h4h_csv_field(f, r->system_name);
			fputc(',', f);
			h4h_csv_field(f, r->net_name);
			fputc(',', f);
			h4h_csv_field(f, l->name);
			fprintf(f, ",%s,%d,%d,%d,%d,%d,%d,%lld,%d,%d,%d,"
			    "%.6g,%.0f,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.0f,"
			    "%.0f,%s,%d,%s\n", sim_op_name(l->op), l->in_h, l->in_w,
			    l->in_c,
			    l->out_h, l->out_w, l->out_c, lr->macs,
			    lr->npu_channels, lr->cim_channels, lr->macros,
			    lr->npu_fraction, lr->cycles, lr->start_ps * 1e-12,
			    lr->latency_s, lr->energy_j, lr->e_npu_j,
			    lr->e_cim_j, lr->e_noc_j, lr->e_static_j,
			    lr->noc_bytes_npu, lr->noc_bytes_cim, PACKAGE_VERSION,
			    SIM_MODEL_REVISION, r->system_hash);
		}
	}
}

int
sim_result_write_csv(sim_result *const *rs, int n, const char *path,
    h4h_err *err)
{
	csv_ctx ctx = { rs, n };

	return h4h_write_atomic(path, "csv", write_csv, &ctx, err);
}
