/*
 * cmd_profile.c - `h4h profile fig3|fig5`: the paper's layer-level studies
 * (section 3.2) rerun on the simulator.
 *
 * fig3: single layers of four kinds (conv 3x3, dwconv 3x3, pwconv 1x1, fc)
 * over a grid of sizes on the NPU alone (cim.macros forced to 0), each
 * normalized by the U55's best case: throughput as a fraction of
 * npu.macs MACs per cycle, energy efficiency as the fraction of the energy
 * that would go to the MACs alone (MACs x npu.e_mac_pj) -- so 1 means no
 * stalls and no energy besides arithmetic.
 *
 * fig5: fc layers and 32x32 dwconv 3x3 layers on the given system against
 * the same profile with cim.macros = 0; ratios > 1 mean the system with
 * macros is better.
 *
 * Each layer is its own one-layer network, simulated on one engine per
 * profile (the engine is reused across layers).  Results are deterministic,
 * so the tables, .dat files and images are reproducible byte for byte.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/plot.h"
#include "sim/sim.h"

#define MAX_SETS 64

/* The kinds of Figure 3, in the paper's order. */
enum { K_CONV, K_DWCONV, K_PWCONV, K_FC, N_KINDS };

static const char *const kind_names[N_KINDS] = {
	"conv", "dwconv", "pwconv", "fc",
};

static const char *const kind_titles[N_KINDS] = {
	"conv 3x3 (Cin = Cout)", "dwconv 3x3", "pwconv 1x1 (Cin = Cout)",
	"fc (1 row)",
};

/* One layer of a study: H x W x C input; fc reads [1,1,C] and writes out. */
typedef struct spec {
	int kind;
	int h, w, c, out;
	int ladder;		/* fig3: on the staircase the plot draws */
} spec;

typedef struct point {
	spec s;
	char shape[32];
	long long macs;
	double bytes;			/* IFM + weights + OFM, int8 */
	/* fig3: the NPU alone */
	double cycles, latency_s, energy_j;
	double thr, eff;		/* normalized, in (0, 1] */
	/* fig5: the system against the NPU alone */
	double sys_latency_s, sys_energy_j;
	double thr_ratio, eff_ratio;
	int cim_channels;		/* output channels the macros took */
} point;

typedef struct study {
	int fig;			/* 3 or 5 */
	sim_profile sys;		/* fig5: the system as given */
	sim_profile npu;		/* cim.macros = 0 */
	int n;
	point *pts;
} study;

/* Figure 3's grid: every spatial size with every channel count for the
 * conv kinds, a power-of-two ladder for fc.  Chosen to span the paper's
 * "practical" layers (MobileNet-sized maps and widths) and keep the whole
 * study well under a second.  Data size alone does not order the grid's
 * throughput (at equal bytes, 7x7x256 and 112x112x16 behave unalike), so
 * the figure draws its line through a staircase across the grid, each step
 * doubling either C or H = W, and the other grid points as dots. */
static const int fig3_hw[] = { 7, 14, 28, 56, 112 };
static const int fig3_c[] = { 16, 32, 64, 128, 256 };
static const int fig3_ladder[][2] = {
	{ 7, 16 }, { 7, 32 }, { 14, 32 }, { 14, 64 }, { 28, 64 },
	{ 28, 128 }, { 56, 128 }, { 56, 256 }, { 112, 256 },
};
static const int fig3_fc[] = { 64, 128, 256, 512, 1024, 2048 };

/* Figure 5: fc Cin x Cout, square ladder then non-square; dwconv widths at
 * a 32x32 input (the paper's caption). */
static const int fig5_fc[][2] = {
	{ 64, 64 }, { 128, 128 }, { 256, 256 }, { 512, 512 },
	{ 1024, 1024 }, { 2048, 2048 },
	{ 256, 1024 }, { 1024, 256 }, { 512, 2048 }, { 2048, 512 },
};
static const int fig5_dw[] = { 16, 32, 64, 128, 256, 512 };

#define LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *usage_text =
    "usage: h4h profile fig3|fig5 --system FILE.ini [--set K=V]...\n"
    "                   [--out DIR] [--plot] [--format png|svg|both]\n"
    "\n"
    "Reruns the layer studies of the paper's section 3.2 on the simulator\n"
    "and prints a table.\n"
    "\n"
    "  fig3   conv 3x3, dwconv 3x3, pwconv 1x1 and fc layers of growing size\n"
    "         on the NPU alone (cim.macros forced to 0); throughput and\n"
    "         energy efficiency normalized by the U55's best case:\n"
    "           throughput = MACs / (cycles x npu.macs)\n"
    "           efficiency = MACs x npu.e_mac_pj / energy\n"
    "  fig5   fc layers and dwconv 3x3 at 32x32 on the system against the\n"
    "         same profile with cim.macros=0:\n"
    "           throughput ratio = latency(NPU only) / latency(system)\n"
    "           efficiency ratio = energy(NPU only) / energy(system)\n"
    "         (> 1: the system with CIM macros is better)\n"
    "\n"
    "  --system FILE   hardware profile (INI), e.g. "
    "hwprofiles/system-npu-8cim.ini\n"
    "  --set K=V       override a profile key, e.g. noc.bandwidth_gbps=8\n"
    "  --out DIR       write DIR/figN.dat and DIR/figN.gp (gnuplot)\n"
    "  --plot          also run gnuplot to make DIR/figN.png and .svg\n"
    "                  (DIR defaults to .); without gnuplot on PATH the\n"
    "                  .dat and .gp are still written\n"
    "  --format F      images to make: png, svg or both (default)\n";

static void
shape_name(const spec *s, char *buf, size_t n)
{
	if (s->kind == K_FC)
		snprintf(buf, n, "%dx%d", s->c, s->out);
	else
		snprintf(buf, n, "%dx%dx%d", s->h, s->w, s->c);
}

/* A one-layer network for s. */
static int
build_net(const spec *s, sim_net **out, h4h_err *err)
{
	sim_layer l;
	sim_net *net;
	char name[SIM_NAME_MAX];
	int rc;

	shape_name(s, name, sizeof name);
	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "%s", kind_names[s->kind]);
	l.act = SIM_ACT_NONE;
	l.n_inputs = 1;
	l.inputs[0] = -1;
	l.stride = 1;
	l.groups = 1;
	l.heads = 1;
	switch (s->kind) {
	case K_CONV:
	case K_PWCONV:
		l.op = SIM_OP_CONV;
		l.kh = l.kw = s->kind == K_CONV ? 3 : 1;
		l.out_c = s->c;
		break;
	case K_DWCONV:
		l.op = SIM_OP_DWCONV;
		l.kh = l.kw = 3;
		break;
	default:
		l.op = SIM_OP_FC;
		l.out_c = s->out;
		break;
	}
	net = sim_net_new(name, s->h, s->w, s->c);
	if ((rc = sim_net_append(net, &l, err)) != 0) {
		sim_net_destroy(net);
		return rc;
	}
	*out = net;
	return 0;
}

static void
point_init(point *pt, const spec *s, const sim_net *net)
{
	const sim_layer *l = &net->layers[0];

	memset(pt, 0, sizeof *pt);
	pt->s = *s;
	shape_name(s, pt->shape, sizeof pt->shape);
	pt->macs = sim_layer_macs(l);
	pt->bytes = (double)l->in_h * l->in_w * l->in_c +
	    (double)sim_layer_weight_bytes(l) +
	    (double)l->out_h * l->out_w * l->out_c;
}

static int
by_kind_then_size(const void *a, const void *b)
{
	const point *x = a, *y = b;

	if (x->s.kind != y->s.kind)
		return x->s.kind - y->s.kind;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? -1 : 1;
	return x->macs < y->macs ? -1 : x->macs > y->macs;
}

static void
add_spec(spec *specs, int *n, int kind, int h, int w, int c, int out)
{
	int ladder = kind == K_FC;

	for (int i = 0; i < LEN(fig3_ladder); i++)
		if (fig3_ladder[i][0] == h && fig3_ladder[i][1] == c)
			ladder = 1;
	specs[*n] = (spec){ .kind = kind, .h = h, .w = w, .c = c, .out = out,
	    .ladder = ladder };
	(*n)++;
}

static int
list_specs(int fig, spec **out)
{
	spec *s = h4h_xcalloc(256, sizeof *s);
	int n = 0;

	if (fig == 3) {
		for (int k = K_CONV; k <= K_PWCONV; k++)
			for (int i = 0; i < LEN(fig3_hw); i++)
				for (int j = 0; j < LEN(fig3_c); j++)
					add_spec(s, &n, k, fig3_hw[i],
					    fig3_hw[i], fig3_c[j], fig3_c[j]);
		for (int i = 0; i < LEN(fig3_fc); i++)
			add_spec(s, &n, K_FC, 1, 1, fig3_fc[i], fig3_fc[i]);
	} else {
		for (int i = 0; i < LEN(fig5_fc); i++)
			add_spec(s, &n, K_FC, 1, 1, fig5_fc[i][0],
			    fig5_fc[i][1]);
		for (int i = 0; i < LEN(fig5_dw); i++)
			add_spec(s, &n, K_DWCONV, 32, 32, fig5_dw[i],
			    fig5_dw[i]);
	}
	*out = s;
	return n;
}

/* Simulate every layer of the study on the NPU alone and, for fig5, on
 * the system too. */
static int
study_run(study *st, h4h_err *err)
{
	sim_engine *enpu = NULL, *esys = NULL;
	spec *specs = NULL;
	int n, rc;

	n = list_specs(st->fig, &specs);
	st->pts = h4h_xcalloc((size_t)n, sizeof *st->pts);
	if ((rc = sim_engine_create(&st->npu, &enpu, err)) != 0)
		goto out;
	if (st->fig == 5 &&
	    (rc = sim_engine_create(&st->sys, &esys, err)) != 0)
		goto out;
	for (int i = 0; i < n; i++) {
		point *pt = &st->pts[i];
		sim_result *r0 = NULL, *r1 = NULL;
		sim_net *net = NULL;

		if ((rc = build_net(&specs[i], &net, err)) != 0)
			goto out;
		point_init(pt, &specs[i], net);
		rc = sim_engine_run(enpu, net, NULL, NULL, &r0, err);
		if (rc == 0 && esys != NULL)
			rc = sim_engine_run(esys, net, NULL, NULL, &r1, err);
		if (rc == 0) {
			pt->cycles = r0->cycles;
			pt->latency_s = r0->latency_s;
			pt->energy_j = r0->energy_j;
			pt->thr = (double)pt->macs /
			    (r0->cycles * st->npu.npu.macs);
			pt->eff = (double)pt->macs * st->npu.npu.e_mac_pj *
			    1e-12 / r0->energy_j;
		}
		if (rc == 0 && r1 != NULL) {
			pt->sys_latency_s = r1->latency_s;
			pt->sys_energy_j = r1->energy_j;
			pt->thr_ratio = r0->latency_s / r1->latency_s;
			pt->eff_ratio = r0->energy_j / r1->energy_j;
			pt->cim_channels = r1->layers[0].cim_channels;
		}
		st->n = i + 1;
		sim_result_destroy(r0);
		sim_result_destroy(r1);
		sim_net_destroy(net);
		if (rc != 0)
			goto out;
	}
	if (st->fig == 3)
		qsort(st->pts, (size_t)st->n, sizeof *st->pts,
		    by_kind_then_size);
out:
	sim_engine_destroy(enpu);
	sim_engine_destroy(esys);
	free(specs);
	return rc;
}

/* ---- tables ---------------------------------------------------------- */

static void
print_fig3(const study *st, FILE *f)
{
	const sim_profile *p = &st->npu;
	char b[32];

	fprintf(f, "Figure 3: U55 alone (%s, %d MAC/cycle at %g MHz, "
	    "cim.macros = 0), one layer per row\n", p->name, p->npu.macs,
	    p->npu.clock_mhz);
	fprintf(f, "  throughput = MACs / (cycles x %d);  efficiency = MACs x "
	    "%g pJ / energy\n\n", p->npu.macs, p->npu.e_mac_pj);
	fprintf(f, "%-7s %-12s %12s %10s %12s %10s %10s\n", "kind", "shape",
	    "MACs", "data", "cycles", "thr/peak", "eff/ideal");
	for (int i = 0; i < st->n; i++) {
		const point *pt = &st->pts[i];

		plot_fmt_bytes(pt->bytes, b, sizeof b);
		fprintf(f, "%-7s %-12s %12lld %10s %12.0f %10.3f %10.3f\n",
		    kind_names[pt->s.kind], pt->shape, pt->macs, b, pt->cycles,
		    pt->thr, pt->eff);
	}
	fprintf(f, "\nsummary along the staircase (smallest -> largest data "
	    "size; from where throughput\nfirst reaches 90%% of its max), "
	    "and the range over all points of the kind:\n");
	for (int k = 0; k < N_KINDS; k++) {
		const point *first = NULL, *last = NULL, *knee = NULL;
		double lmax = 0, tmin = INFINITY, tmax = 0;
		int m = 0;

		for (int i = 0; i < st->n; i++) {
			const point *pt = &st->pts[i];

			if (pt->s.kind != k)
				continue;
			tmin = fmin(tmin, pt->thr);
			tmax = fmax(tmax, pt->thr);
			m++;
			if (!pt->s.ladder)
				continue;
			if (first == NULL)
				first = pt;
			last = pt;
			lmax = fmax(lmax, pt->thr);
		}
		if (first == NULL)
			continue;
		for (const point *pt = first; pt <= last; pt++)
			if (pt->s.kind == k && pt->s.ladder &&
			    pt->thr >= 0.9 * lmax) {
				knee = pt;
				break;
			}
		plot_fmt_bytes(knee->bytes, b, sizeof b);
		fprintf(f, "  %-7s %s -> %s: throughput %.3f -> %.3f (90%% of "
		    "%.3f from %s), efficiency %.3f -> %.3f; all %d: "
		    "throughput %.3f .. %.3f\n", kind_names[k], first->shape,
		    last->shape, first->thr, last->thr, lmax, b, first->eff,
		    last->eff, m, tmin, tmax);
	}
}

static void
print_fig5(const study *st, FILE *f)
{
	fprintf(f, "Figure 5: %s (%d CIM macro%s x %d CU%s) against the "
	    "same profile with cim.macros = 0\n", st->sys.name,
	    st->sys.cim.macros, st->sys.cim.macros == 1 ? "" : "s",
	    st->sys.cim.cus_per_macro, st->sys.cim.cus_per_macro == 1 ? "" :
	    "s");
	fprintf(f, "  thr ratio = latency(NPU only) / latency(system);  eff "
	    "ratio = energy(NPU only) / energy(system);  > 1: CIM better\n\n");
	fprintf(f, "%-7s %-12s %10s %11s %11s %10s %10s %9s %9s %9s\n", "kind",
	    "shape", "MACs", "npu_us", "system_us", "npu_uJ", "system_uJ",
	    "cim_ch", "thr_ratio", "eff_ratio");
	for (int i = 0; i < st->n; i++) {
		const point *pt = &st->pts[i];

		fprintf(f, "%-7s %-12s %10lld %11.3f %11.3f %10.3f %10.3f "
		    "%4d/%-4d %9.3f %9.3f\n", kind_names[pt->s.kind], pt->shape,
		    pt->macs, pt->latency_s * 1e6, pt->sys_latency_s * 1e6,
		    pt->energy_j * 1e6, pt->sys_energy_j * 1e6,
		    pt->cim_channels, pt->s.kind == K_FC ? pt->s.out : pt->s.c,
		    pt->thr_ratio, pt->eff_ratio);
	}
	fprintf(f, "\nsummary (geometric mean, min .. max of the ratios):\n");
	for (int b = 0; b < 2; b++) {
		int k = b == 0 ? K_FC : K_DWCONV;
		double lt = 0, le = 0, tmin = INFINITY, tmax = 0;
		double emin = INFINITY, emax = 0;
		int m = 0;

		for (int i = 0; i < st->n; i++) {
			const point *pt = &st->pts[i];

			if (pt->s.kind != k)
				continue;
			lt += log(pt->thr_ratio);
			le += log(pt->eff_ratio);
			tmin = fmin(tmin, pt->thr_ratio);
			tmax = fmax(tmax, pt->thr_ratio);
			emin = fmin(emin, pt->eff_ratio);
			emax = fmax(emax, pt->eff_ratio);
			m++;
		}
		if (m == 0)
			continue;
		fprintf(f, "  %-7s throughput x%.2f (%.2f .. %.2f);  energy "
		    "efficiency x%.2f (%.2f .. %.2f)\n", kind_names[k],
		    exp(lt / m), tmin, tmax, exp(le / m), emin, emax);
	}
}

/* ---- gnuplot files ----------------------------------------------------- */

typedef struct gp_ctx {
	const study *st;
	int formats;
} gp_ctx;

static int
has_off_ladder(const study *st, int kind)
{
	for (int i = 0; i < st->n; i++)
		if (st->pts[i].s.kind == kind && !st->pts[i].s.ladder)
			return 1;
	return 0;
}

static void
write_fig3_dat(FILE *f, const void *ctx)
{
	const study *st = ctx;
	int block = 0;

	fprintf(f, "# h4h profile fig3: %s, cim.macros = 0; one block per "
	    "layer kind (gnuplot index 0..3)\n"
	    "# throughput = MACs / (cycles x npu.macs = %d); efficiency = "
	    "MACs x npu.e_mac_pj (%g pJ) / energy\n", st->npu.name,
	    st->npu.npu.macs, st->npu.npu.e_mac_pj);
	fprintf(f, "# In each block the staircase (each step doubles C or H = "
	    "W) comes first; the\n# other grid points follow after one "
	    "blank line (gnuplot: every :::0::0 / :::1::1).\n");
	for (int k = 0; k < N_KINDS; k++) {
		fprintf(f, "%s# index %d: %s\n# %-12s %10s %10s %12s %12s %s\n",
		    block ? "\n\n" : "\n", block, kind_titles[k], "data_bytes",
		    "throughput", "efficiency", "macs", "cycles", "shape");
		for (int ladder = 1; ladder >= 0; ladder--) {
			int any = 0;

			for (int i = 0; i < st->n; i++) {
				const point *pt = &st->pts[i];

				if (pt->s.kind != k || pt->s.ladder != ladder)
					continue;
				if (!any && !ladder)
					fputc('\n', f);
				any = 1;
				fprintf(f, "%14.0f %10.5f %10.5f %12lld %12.0f "
				    "%s\n", pt->bytes, pt->thr, pt->eff,
				    pt->macs, pt->cycles, pt->shape);
			}
		}
		block++;
	}
}

static void
write_fig3_gp(FILE *f, const void *ctx)
{
	const gp_ctx *g = ctx;
	static const char *const panels[2][3] = {
		{ "2", "throughput / peak  (MACs per cycle / npu.macs)",
		  "Throughput" },
		{ "3", "energy efficiency  (MAC-only energy / energy)",
		  "Energy efficiency" },
	};

	plot_gp_head(f, "fig3.gp - the paper's Figure 3 from h4h's U55 model",
	    "Throughput and energy efficiency of single layers on the U55 "
	    "alone,\nnormalized by its best case, against the layer's data "
	    "size (IFM +\nweights + OFM bytes).  Data: fig3.dat, one block "
	    "per kind.\nMade by: h4h profile fig3 --out DIR [--plot]",
	    g->formats);
	plot_gp_begin(f, "fig3", 1100, 440);
	fprintf(f, "    set multiplot layout 1,2 title \"U55 alone: single "
	    "layers normalized by the theoretical best case\"\n"
	    "    set logscale x 10\n"
	    "    set format x \"%%.0s%%cB\"\n"
	    "    set xlabel \"data size (IFM + weights + OFM)\"\n"
	    "    # headroom above 1 keeps the key clear of the curves\n"
	    "    set yrange [0:1.3]\n"
	    "    set ytics 0, 0.2, 1\n"
	    "    set grid\n"
	    "    set key top left\n");
	for (int p = 0; p < 2; p++) {
		fprintf(f, "\n    set title \"%s\"\n    set ylabel \"%s\"\n",
		    panels[p][2], panels[p][1]);
		fprintf(f, "    plot ");
		for (int k = 0; k < N_KINDS; k++) {
			fprintf(f, "%s\"fig3.dat\" index %d every :::0::0 using "
			    "1:%s with linespoints lc %d lw 2 pt %d title \"%s\"",
			    k ? ", \\\n         " : "", k, panels[p][0], k + 1,
			    5 + 2 * k, kind_titles[k]);
			if (has_off_ladder(g->st, k))
				fprintf(f, ", \\\n         \"\" index %d every "
				    ":::1::1 using 1:%s with points lc %d pt %d "
				    "ps 0.6 notitle", k, panels[p][0], k + 1,
				    4 + 2 * k);
		}
		fputc('\n', f);
	}
	plot_gp_end(f);
}

static void
write_fig5_dat(FILE *f, const void *ctx)
{
	const study *st = ctx;
	static const int kinds[2] = { K_FC, K_DWCONV };

	fprintf(f, "# h4h profile fig5: %s (%d macros) against cim.macros = "
	    "0\n# thr_ratio = latency(NPU only) / latency(system); "
	    "eff_ratio = energy(NPU only) / energy(system)\n", st->sys.name,
	    st->sys.cim.macros);
	for (int b = 0; b < 2; b++) {
		fprintf(f, "%s# index %d: %s\n# %-10s %10s %10s %12s %12s "
		    "%12s %12s %12s\n", b ? "\n\n" : "\n", b,
		    b ? "dwconv 3x3, 32x32 input (shape HxWxC)" :
		    "fc, 1 row (shape CinxCout)", "shape", "thr_ratio",
		    "eff_ratio", "macs", "npu_us", "system_us", "npu_uJ",
		    "system_uJ");
		for (int i = 0; i < st->n; i++) {
			const point *pt = &st->pts[i];

			if (pt->s.kind == kinds[b])
				fprintf(f, "%-12s %10.4f %10.4f %12lld %12.4f "
				    "%12.4f %12.4f %12.4f\n", pt->shape,
				    pt->thr_ratio, pt->eff_ratio, pt->macs,
				    pt->latency_s * 1e6,
				    pt->sys_latency_s * 1e6,
				    pt->energy_j * 1e6,
				    pt->sys_energy_j * 1e6);
		}
	}
}


static void
write_fig5_gp(FILE *f, const void *ctx)
{
	const gp_ctx *g = ctx;
	static const char *const titles[2] = {
		"fully connected, 1 row (Cin x Cout)",
		"dwconv 3x3, 32x32 input (H x W x C)",
	};
	char title[128];

	plot_gp_head(f, "fig5.gp - the paper's Figure 5 from h4h's models",
	    "Ratios of a system with CIM macros to the same system with "
	    "cim.macros = 0:\nthroughput = latency(NPU only) / "
	    "latency(system), energy efficiency =\nenergy(NPU only) / "
	    "energy(system); above the dashed line at 1 the CIM\nsystem "
	    "is better.  Data: fig5.dat (index 0: fc, index 1: dwconv).\n"
	    "Made by: h4h profile fig5 --system FILE.ini --out DIR [--plot]",
	    g->formats);
	plot_gp_begin(f, "fig5", 1100, 440);
	snprintf(title, sizeof title, "%s (%d CIM macros) vs NPU only",
	    g->st->sys.name, g->st->sys.cim.macros);
	fprintf(f, "    set multiplot layout 1,2 title ");
	plot_gp_string(f, title);
	/* Bars start at the break-even ratio 1, not at the axis, so a
	 * ratio below 1 hangs down from the dashed line: boxxyerror with
	 * x, y, xlow, xhigh, ylow, yhigh. */
	fprintf(f, "\n"
	    "    set logscale y 2\n"
	    "    set grid ytics\n"
	    "    set xtics rotate by -35 nomirror\n"
	    "    set ylabel \"ratio, system / NPU only (log scale)\"\n"
	    "    set key top left opaque\n"
	    "    set offsets 0.3, 0.3, graph 0.25, 0\n"
	    "    set style fill solid 0.85 border -1\n"
	    "    lo(r) = r < 1 ? r : 1\n"
	    "    hi(r) = r < 1 ? 1 : r\n"
	    "    # the break-even line: above it the CIM system wins\n"
	    "    set arrow 1 from graph 0, first 1 to graph 1, first 1 "
	    "nohead dt 2 lw 1.5 front\n");
	for (int b = 0; b < 2; b++)
		fprintf(f, "\n    set title \"%s\"\n"
		    "    plot \"fig5.dat\" index %d using ($0-0.2):2:($0-0.38):"
		    "($0-0.02):(lo($2)):(hi($2)):xtic(1) \\\n"
		    "             with boxxyerror lc 1 title \"throughput "
		    "ratio\", \\\n"
		    "         \"\" index %d using ($0+0.2):3:($0+0.02):"
		    "($0+0.38):(lo($3)):(hi($3)) \\\n"
		    "             with boxxyerror lc 2 title \"energy-efficiency "
		    "ratio\"\n", titles[b], b, b);
	plot_gp_end(f);
}

/* ---- the command --------------------------------------------------------- */

/* Shared by `h4h profile` and `h4h plot fig3|fig5` (cmd_plot.c): argv[0]
 * is the study.  `force_plot` acts as --plot. */
int
profile_study_exec(const char *cmd, int argc, char **argv, int force_plot)
{
	static const struct option opts[] = {
		{ "system", required_argument, NULL, 's' },
		{ "set", required_argument, NULL, 'S' },
		{ "out", required_argument, NULL, 'o' },
		{ "plot", no_argument, NULL, 'p' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sets[MAX_SETS], *out_dir = NULL, *system = NULL;
	int n_sets = 0, plot = force_plot, formats = PLOT_BOTH, c, rc;
	int status = 0;
	study st;
	h4h_err err = { "" };

	memset(&st, 0, sizeof st);
	if (strcmp(argv[0], "fig3") == 0)
		st.fig = 3;
	else if (strcmp(argv[0], "fig5") == 0)
		st.fig = 5;
	else
		return cli_usage_error(cmd, "unknown study '%s' (give fig3 or "
		    "fig5)", argv[0]);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			system = optarg;
			break;
		case 'S':
			if (n_sets == MAX_SETS)
				return cli_usage_error(cmd, "at most %d --set "
				    "options", MAX_SETS);
			sets[n_sets++] = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'p':
			plot = 1;
			break;
		case 'f':
			if ((formats = plot_format_from_name(optarg)) < 0)
				return cli_usage_error(cmd, "--format must be "
				    "png, svg or both (got '%s')", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			if (optopt != 0)
				return cli_usage_error(cmd, "option '-%c' "
				    "needs a value or is unknown (see h4h %s "
				    "--help)", optopt, cmd);
			return cli_usage_error(cmd, "unknown option '%s' "
			    "(see h4h %s --help)", argv[optind - 1], cmd);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (system == NULL)
		return cli_usage_error(cmd, "--system FILE.ini is required "
		    "(e.g. hwprofiles/system-npu-8cim.ini)");
	if (plot && out_dir == NULL)
		out_dir = ".";

	rc = sim_profile_open(system, sets, n_sets, NULL, &st.sys, &err);
	if (rc != 0)
		return cli_fail(cmd, rc, &err);
	st.npu = st.sys;
	st.npu.cim.macros = 0;
	if (st.fig == 5 && st.sys.cim.macros == 0)
		return cli_usage_error(cmd, "fig5 compares CIM macros with "
		    "none, but '%s' has cim.macros = 0 (try "
		    "hwprofiles/system-npu-8cim.ini or --set cim.macros=8)",
		    system);
	/* The output place is checked before minutes of simulation. */
	if (out_dir != NULL && (rc = plot_dir_prepare(out_dir, &err)) != 0)
		return cli_fail(cmd, rc, &err);

	if ((rc = study_run(&st, &err)) != 0) {
		status = cli_fail(cmd, rc, &err);
		goto out;
	}
	if (st.fig == 3)
		print_fig3(&st, stdout);
	else
		print_fig5(&st, stdout);
	if (fflush(stdout) != 0) {
		perror("h4h: profile: stdout");
		status = 1;
		goto out;
	}
	if (out_dir != NULL) {
		const char *stem = st.fig == 3 ? "fig3" : "fig5";
		char dat[16], gp[16], png[16], svg[16];
		const char *images[2];
		gp_ctx g = { &st, formats };
		int n_images = 0, rendered;

		snprintf(dat, sizeof dat, "%s.dat", stem);
		snprintf(gp, sizeof gp, "%s.gp", stem);
		snprintf(png, sizeof png, "%s.png", stem);
		snprintf(svg, sizeof svg, "%s.svg", stem);
		if (formats & PLOT_PNG)
			images[n_images++] = png;
		if (formats & PLOT_SVG)
			images[n_images++] = svg;
		rc = plot_write(out_dir, dat, "data", st.fig == 3 ?
		    write_fig3_dat : write_fig5_dat, &st, &err);
		if (rc == 0)
			rc = plot_write(out_dir, gp, "gnuplot script",
			    st.fig == 3 ? write_fig3_gp : write_fig5_gp, &g,
			    &err);
		if (rc == 0 && plot)
			rc = plot_render(cmd, out_dir, stem, images, n_images,
			    &rendered, &err);
		if (rc != 0) {
			status = cli_fail(cmd, rc, &err);
			goto out;
		}
	}
out:
	free(st.pts);
	return status;
}

static int
profile_exec(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("profile", "give a study: fig3 or fig5 "
		    "(see h4h profile --help)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	return profile_study_exec("profile", argc - 1, argv + 1, 0);
}

const h4h_cmd h4h_cmd_profile = {
	.name = "profile",
	.summary = "rerun the paper's layer studies (Figures 3 and 5)",
	.exec = profile_exec,
};
