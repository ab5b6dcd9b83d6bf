/*
 * reproduce_figs.c - `h4h reproduce fig7|energy|fig8|fig9|fig11`: the
 * paper's search studies (Sec. 5, 6.1, 6.3) as commands (doc/results.md,
 * doc/search.md).
 *
 * A study is a set of series (a system, or a checkpoint) searched over one
 * budget grid; each series is one search job (search_out.h) in
 * DIR/STUDY/LABEL, all on one database, so the studies share costs and
 * accuracies and a rerun is quick.  Outputs: DIR/STUDY.dat (one block per
 * series: budget, test and validation accuracy, cost, ViT and MBConv
 * blocks), STUDY.gp with its images, STUDY.md (the table beside the
 * paper's numbers).
 *
 * "Equal accuracy": each series' curve is the running maximum of its
 * winners' test accuracy over the increasing budget grid; the budget a
 * series needs for accuracy a is read off that curve by linear
 * interpolation between grid points; the reduction at a is
 * (B_new(a) - B_base(a)) / B_base(a), at 50 levels evenly spaced over the
 * accuracies both curves reach (from the larger of their first values to
 * the smaller of their last).  Reported: the mean and the most negative.
 *
 * That average ranges over noisy levels, so each comparison is also made
 * budget by budget, paired: the two winners at one budget are scored on
 * the same test images, and the gain's 95 % interval is a bootstrap over
 * those images (nas/stats.h).  Where it excludes 0 the new series is
 * resolved better there, and the reduction at equal accuracy is bounded:
 * the base series needs budget B(a) for the new winner's accuracy a on its
 * running-max curve, and B at the two ends of the paired interval
 * (base winner's accuracy + lo, + hi) brackets it.  The base curve's own
 * noise at the other budgets is not in the bracket (doc/results.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/plot.h"
#include "cli/reproduce_figs.h"
#include "cli/search_out.h"
#include "nas/stats.h"

#define MAX_SERIES 4
#define MAX_GRID 16
#define MAX_CMP 4
#define LEVELS 50

typedef struct series {
	char label[32];
	char title[96];
	const char *system;		/* profile file */
	const char *sets[2];
	int n_sets;
	int ckpt;			/* index into the study's checkpoints */
	int no_vit;
	search_job job;
} series;

/* A comparison the paper reports: new against base at equal accuracy. */
typedef struct compare {
	int base, new_;
	const char *what;
	double paper_avg, paper_max;	/* percent */
	double avg, max;
	double lo, hi;			/* the accuracy range compared */
	int ok;
	/* budget by budget, paired over the test images (have_paired) */
	int have_paired;
	nas_paired pc[MAX_GRID];
	double need[MAX_GRID][3];	/* base budget for the new winner's
					 * accuracy, and for the paired
					 * interval's lower and upper ends
					 * (NAN: beyond the grid) */
	double at[MAX_GRID];		/* the new curve's budget for it */
} compare;

typedef struct study {
	const char *name;		/* fig7 ... */
	const char *title;
	int metric;
	series s[MAX_SERIES];
	int n;
	compare cmp[MAX_CMP];
	int n_cmp;
	double grid[MAX_GRID];		/* s or J */
	int n_grid;
	const char *ckpts[3];		/* fig8: cnn, vanilla, tpi */
	int ratio;			/* fig9: the ViT/MBConv plot */
} study;

static const char *usage =
    "usage: h4h reproduce fig7|energy|fig8|fig9|fig11 --out DIR\n"
    "                 [--ckpt CKPT | (fig8) --ckpt cnn=A --ckpt vanilla=B "
    "--ckpt tpi=C, two or three]\n"
    "                 [--budgets LIST] [--db FILE] [--jobs N] [--seed N]\n"
    "                 [--population N] [--generations N] [--warmup N]\n"
    "                 [--real-per-gen N] [--val-images N] [--data DIR]\n"
    "\n"
    "fig7: test accuracy of the searched subnets against the latency\n"
    "budget with 0, 1, 4 and 8 CIM macros; energy: the same under energy\n"
    "budgets; fig8: the cnn, vanilla and tpi supernets on the NPU alone;\n"
    "fig9: the ViT/MBConv block ratio of fig7's winners; fig11: one macro\n"
    "with 1, 2 and 4 compute units under energy budgets.  Default budgets:\n"
    "latency 10,20,40,80,160,320 ms; energy 0.1,0.2,0.35,0.6,1,2 mJ.\n"
    "Search: population 50, 6 generations, 4 real evaluations per\n"
    "generation on the whole validation split, started from the\n"
    "checkpoint's accuracy dataset (100 warm-up subnets without one).\n"
    "Each comparison is made at equal accuracy over the curves and, budget\n"
    "by budget, paired on the same test images (95% bootstrap interval of\n"
    "the gain, McNemar's p, and the reduction it bounds).  --data: the\n"
    "Fashion-MNIST folder (default: Debian's).  Writes\n"
    "DIR/STUDY.dat, .gp, .png, .svg and .md; DIR/h4h.db holds every cost and\n"
    "accuracy, so studies sharing DIR share them.  See doc/results.md.\n";

/* From just above the smallest subnet's cost on the NPU alone (7.9 ms,
 * 0.071 mJ) to where accuracy levels off: on the shipped supernet's
 * accuracy dataset the best validation accuracy within budget rises from
 * about 30 ms (0.35 mJ) to about 200 ms (2 mJ) on the NPU alone and is
 * flat after (doc/results.md). */
static const double lat_grid[] = { 10e-3, 20e-3, 40e-3, 80e-3, 160e-3,
    320e-3 };
static const double en_grid[] = { 0.1e-3, 0.2e-3, 0.35e-3, 0.6e-3, 1.0e-3,
    2.0e-3 };

static void
add_series(study *st, const char *label, const char *title,
    const char *system, const char *set)
{
	series *s = &st->s[st->n++];

	snprintf(s->label, sizeof s->label, "%s", label);
	snprintf(s->title, sizeof s->title, "%s", title);
	s->system = system;
	if (set != NULL)
		s->sets[s->n_sets++] = set;
}

/* A comparison of series new_ against base; paper_avg NAN: the paper
 * gives no number for it. */
static void
add_cmp(study *st, int base, int new_, const char *what, double paper_avg,
    double paper_max)
{
	compare *c = &st->cmp[st->n_cmp++];

	memset(c, 0, sizeof *c);
	c->base = base;
	c->new_ = new_;
	c->what = what;
	c->paper_avg = paper_avg;
	c->paper_max = paper_max;
}

/* fig8 with some of its checkpoints: only the series given, and the
 * comparisons between them.  Returns the series left. */
static int
keep_given_ckpts(study *st)
{
	int map[MAX_SERIES], n = 0, m = 0;

	for (int i = 0; i < st->n; i++) {
		map[i] = st->ckpts[st->s[i].ckpt] != NULL ? n : -1;
		if (map[i] >= 0)
			st->s[n++] = st->s[i];
	}
	st->n = n;
	for (int c = 0; c < st->n_cmp; c++) {
		compare k = st->cmp[c];

		if (map[k.base] < 0 || map[k.new_] < 0)
			continue;
		k.base = map[k.base];
		k.new_ = map[k.new_];
		st->cmp[m++] = k;
	}
	st->n_cmp = m;
	return n;
}

static char p_only[4096], p_1[4096], p_4[4096], p_8[4096];

static int
define(study *st, const char *name)
{
	const char *only = cli_shipped("hwprofiles/system-npu-only.ini", p_only,
	    sizeof p_only);
	const char *one = cli_shipped("hwprofiles/system-npu-1cim.ini", p_1,
	    sizeof p_1);
	const char *four = cli_shipped("hwprofiles/system-npu-4cim.ini", p_4,
	    sizeof p_4);
	const char *eight = cli_shipped("hwprofiles/system-npu-8cim.ini", p_8,
	    sizeof p_8);

	memset(st, 0, sizeof *st);
	st->name = name;
	if (strcmp(name, "fig7") == 0 || strcmp(name, "energy") == 0 ||
	    strcmp(name, "fig9") == 0) {
		int en = strcmp(name, "energy") == 0;

		st->metric = en ? NAS_METRIC_ENERGY : NAS_METRIC_LATENCY;
		st->title = en ? "Energy study: accuracy against the energy "
		    "budget, 0 to 8 CIM macros" : strcmp(name, "fig9") == 0 ?
		    "Fig. 9: ViT blocks per 10 MBConv blocks of the searched "
		    "subnets" : "Fig. 7: accuracy against the latency budget, "
		    "0 to 8 CIM macros";
		add_series(st, "npu-only", "NPU only", only, NULL);
		add_series(st, "1cim", "NPU + 1 macro", one, NULL);
		add_series(st, "4cim", "NPU + 4 macros", four, NULL);
		add_series(st, "8cim", "NPU + 8 macros", eight, NULL);
		add_cmp(st, 0, 3, en ? "energy, 8 macros vs NPU only" :
		    "latency, 8 macros vs NPU only", en ? -11.80 : -21.99,
		    en ? -33.13 : -56.08);
		add_cmp(st, 0, 2, en ? "energy, 4 macros vs NPU only" :
		    "latency, 4 macros vs NPU only", NAN, NAN);
		add_cmp(st, 0, 1, en ? "energy, 1 macro vs NPU only" :
		    "latency, 1 macro vs NPU only", NAN, NAN);
		st->ratio = strcmp(name, "fig9") == 0;
	} else if (strcmp(name, "fig11") == 0) {
		st->metric = NAS_METRIC_ENERGY;
		st->title = "Fig. 11: accuracy against the energy budget, one "
		    "macro with 1, 2 and 4 CUs";
		add_series(st, "npu-only", "NPU only", only, NULL);
		add_series(st, "1cu", "1 macro, 1 CU", one, NULL);
		add_series(st, "2cu", "1 macro, 2 CUs", one,
		    "cim.cus_per_macro=2");
		add_series(st, "4cu", "1 macro, 4 CUs", one,
		    "cim.cus_per_macro=4");
		add_cmp(st, 0, 3, "energy, 4 CUs vs NPU only", -19.11,
		    -41.72);
		add_cmp(st, 1, 3, "energy, 4 CUs vs 1 CU", -9.34, NAN);
		add_cmp(st, 1, 2, "energy, 2 CUs vs 1 CU", NAN, NAN);
	} else if (strcmp(name, "fig8") == 0) {
		st->metric = NAS_METRIC_LATENCY;
		st->title = "Fig. 8: accuracy against the latency budget on the "
		    "NPU alone, by training recipe";
		add_series(st, "cnn", "CNN-only supernet", only, NULL);
		st->s[0].no_vit = 1;
		st->s[0].ckpt = 0;
		add_series(st, "vanilla", "hybrid, vanilla", only, NULL);
		st->s[1].ckpt = 1;
		add_series(st, "tpi", "hybrid, TPI", only, NULL);
		st->s[2].ckpt = 2;
		add_cmp(st, 1, 2, "latency, TPI vs vanilla", NAN, NAN);
		add_cmp(st, 0, 2, "latency, TPI vs CNN-only", NAN, NAN);
		add_cmp(st, 0, 1, "latency, vanilla vs CNN-only", NAN, NAN);
	} else {
		return -1;
	}
	if (st->metric == NAS_METRIC_ENERGY) {
		st->n_grid = (int)(sizeof en_grid / sizeof en_grid[0]);
		memcpy(st->grid, en_grid, sizeof en_grid);
	} else {
		st->n_grid = (int)(sizeof lat_grid / sizeof lat_grid[0]);
		memcpy(st->grid, lat_grid, sizeof lat_grid);
	}
	return 0;
}

/* Budget series x needs for accuracy a on its running-max curve. */
static double
budget_for(const double *grid, const double *acc, int n, double a)
{
	double prev_a = -1, prev_b = grid[0];

	for (int i = 0; i < n; i++) {
		double ai = acc[i] > prev_a ? acc[i] : prev_a;

		if (ai >= a) {
			if (i == 0 || ai == prev_a)
				return grid[i];
			return prev_b + (a - prev_a) / (ai - prev_a) *
			    (grid[i] - prev_b);
		}
		prev_a = ai;
		prev_b = grid[i];
	}
	return NAN;
}

static void
running_max(const series *s, int n, double *out)
{
	for (int i = 0; i < n; i++) {
		double a = s->job.picks[i].test_acc;

		out[i] = i && out[i - 1] > a ? out[i - 1] : a;
	}
}

static void
compare_at_equal_acc(const study *st, compare *c)
{
	double ab[MAX_GRID], an[MAX_GRID], lo, hi, sum = 0, mx = 0;
	int n = st->n_grid, k = 0;

	running_max(&st->s[c->base], n, ab);
	running_max(&st->s[c->new_], n, an);
	lo = ab[0] > an[0] ? ab[0] : an[0];
	hi = ab[n - 1] < an[n - 1] ? ab[n - 1] : an[n - 1];
	c->ok = 0;
	c->lo = lo;
	c->hi = hi;
	if (!(hi >= lo))
		return;
	for (int l = 0; l < LEVELS; l++) {
		double a = lo + (hi - lo) * l / (LEVELS - 1);
		double bb = budget_for(st->grid, ab, n, a);
		double bn = budget_for(st->grid, an, n, a);
		double r;

		if (!(bb > 0) || !(bn > 0))
			continue;
		r = 100 * (bn - bb) / bb;
		sum += r;
		if (k == 0 || r < mx)
			mx = r;
		k++;
	}
	if (k > 0) {
		c->avg = sum / k;
		c->max = mx;
		c->ok = 1;
	}
}

/* Budget by budget: the two winners paired over the test images. */
static void
compare_paired(const study *st, compare *c)
{
	const search_job *jb = &st->s[c->base].job;
	const search_job *jn = &st->s[c->new_].job;
	double ab[MAX_GRID], an[MAX_GRID];
	int n = st->n_grid;

	c->have_paired = 0;
	if (jb->right == NULL || jn->right == NULL || jb->n_test <= 0 ||
	    jb->n_test != jn->n_test || jb->n_picks < n || jn->n_picks < n)
		return;
	running_max(&st->s[c->base], n, ab);
	running_max(&st->s[c->new_], n, an);
	for (int b = 0; b < n; b++) {
		nas_paired *p = &c->pc[b];
		double base_acc = jb->picks[b].test_acc;
		double new_acc = jn->picks[b].test_acc;

		nas_paired_compare(jn->right[b], jb->right[b], jn->n_test, p);
		c->at[b] = budget_for(st->grid, an, n, new_acc);
		c->need[b][0] = budget_for(st->grid, ab, n, new_acc);
		c->need[b][1] = budget_for(st->grid, ab, n, base_acc + p->lo);
		c->need[b][2] = budget_for(st->grid, ab, n, base_acc + p->hi);
	}
	c->have_paired = 1;
}

/* A budget in ms or mJ, or "beyond the grid" (NAN: the curve never
 * reaches the level). */
static void
budget_text(double b, char *buf, size_t n)
{
	if (isnan(b))
		snprintf(buf, n, "beyond the grid");
	else
		snprintf(buf, n, "%.3g", b * 1e3);
}

/* The reduction from budget need to budget at, e.g. "-51 %". */
static void
reduction_text(double at, double need, char *buf, size_t n)
{
	if (isnan(need))
		snprintf(buf, n, "beyond the grid");
	else
		snprintf(buf, n, "%+.0f %%", 100 * (at - need) / need);
}

static void
write_paired(FILE *f, const study *st, const compare *k)
{
	const series *sb = &st->s[k->base], *sn = &st->s[k->new_];
	const char *unit = st->metric == NAS_METRIC_ENERGY ? "mJ" : "ms";
	int better = 0, worse = 0, least_b = -1;
	double least = 0;

	fprintf(f, "\n%s, budget by budget: the two winners paired on the "
	    "same %d test images (gain: 95 %% bootstrap interval over the "
	    "images; p: McNemar's exact test).  Where the gain is resolved, "
	    "the budget %s needs for the new winner's accuracy (and for the "
	    "paired interval's ends) bounds the reduction at equal "
	    "accuracy.\n\n"
	    "| budget (%s) | %s [95%% CI] | %s [95%% CI] | gain (points) "
	    "[paired 95%% CI] | p | %s needs (%s) [interval's ends] | "
	    "reduction at equal accuracy [bounds] |\n"
	    "|---|---|---|---|---|---|---|\n", k->what, sb->job.n_test,
	    sb->title, unit, sb->title, sn->title, sb->title, unit);
	for (int b = 0; b < st->n_grid; b++) {
		const nas_pick *pb = &sb->job.picks[b], *pn = &sn->job.picks[b];
		const nas_paired *p = &k->pc[b];
		char gain[96], need[128] = "-", red[128] = "not resolved";

		snprintf(gain, sizeof gain, "%+.2f [%+.2f, %+.2f]%s",
		    100 * p->diff, 100 * p->lo, 100 * p->hi,
		    p->a_only == 0 && p->b_only == 0 ? " same predictions" :
		    p->significant ? "" : " not significant");
		if (p->significant && p->diff > 0) {
			char n0[32], n1[32], n2[32], r0[32], r1[32], r2[32];
			double at = k->at[b];

			better++;
			budget_text(k->need[b][0], n0, sizeof n0);
			budget_text(k->need[b][1], n1, sizeof n1);
			budget_text(k->need[b][2], n2, sizeof n2);
			snprintf(need, sizeof need, "%s [%s, %s]", n0, n1, n2);
			reduction_text(at, k->need[b][0], r0, sizeof r0);
			reduction_text(at, k->need[b][1], r1, sizeof r1);
			reduction_text(at, k->need[b][2], r2, sizeof r2);
			snprintf(red, sizeof red, "%s [%s, %s]", r0, r1, r2);
			/* the interval's lower end: the reduction it surely
			 * reaches (the least negative) */
			if (!isnan(k->need[b][1])) {
				double r = 100 * (at - k->need[b][1]) /
				    k->need[b][1];

				if (least_b < 0 || r > least) {
					least = r;
					least_b = b;
				}
			}
		} else if (p->significant) {
			worse++;
			snprintf(red, sizeof red, "%s is worse here",
			    sn->title);
		}
		fprintf(f, "| %g | %.2f [%.2f, %.2f] | %.2f [%.2f, %.2f] | %s | "
		    "%.2g | %s | %s |\n", st->grid[b] * 1e3,
		    100 * pb->test_acc, 100 * pb->test_lo, 100 * pb->test_hi,
		    100 * pn->test_acc, 100 * pn->test_lo, 100 * pn->test_hi,
		    gain, p->p_mcnemar, need, red);
	}
	fprintf(f, "\n%s: %s resolved better than %s at %d of %d budgets, "
	    "worse at %d", k->what, sn->title, sb->title, better, st->n_grid,
	    worse);
	if (least_b >= 0 && least < 0)
		fprintf(f, "; where better, the reduction at equal accuracy is "
		    "at least %.0f %% (the paired interval's lower end, least "
		    "at %g %s)", -least, st->grid[least_b] * 1e3, unit);
	else if (least_b >= 0)
		fprintf(f, "; at the paired interval's lower end %s needs no "
		    "more budget (%+.0f %% at %g %s)", sb->title, least,
		    st->grid[least_b] * 1e3, unit);
	fprintf(f, ".\n");
}

static void
write_dat(FILE *f, const void *ctx)
{
	const study *st = ctx;
	const char *unit = st->metric == NAS_METRIC_ENERGY ? "mJ" : "ms";

	for (int s = 0; s < st->n; s++) {
		const search_job *j = &st->s[s].job;

		fprintf(f, "%s# %s (%s)\n# budget_%s test_acc_pct val_acc_pct "
		    "latency_ms energy_mj vit_blocks mbconv_blocks "
		    "vit_per_10_mbconv cim_mac_share\n", s ? "\n\n" : "",
		    st->s[s].title, j->system_name, unit);
		for (int b = 0; b < j->n_picks; b++) {
			const nas_pick *p = &j->picks[b];

			fprintf(f, "%.6g %.2f %.2f %.6f %.6f %d %d %.3f %.4f\n",
			    p->budget * 1e3, 100 * p->test_acc,
			    100 * p->val_acc, p->latency_s * 1e3,
			    p->energy_j * 1e3, p->vit_blocks,
			    p->mbconv_blocks, p->mbconv_blocks ? 10.0 *
			    p->vit_blocks / p->mbconv_blocks : 0,
			    p->cim_mac_share);
		}
	}
}

static void
write_gp(FILE *f, const void *ctx)
{
	const study *st = ctx;
	char how[512];

	snprintf(how, sizeof how, "Data: %s.dat, one block per series.\n"
	    "Made by: h4h reproduce %s --out DIR", st->name, st->name);
	plot_gp_head(f, st->title, how, PLOT_BOTH);
	plot_gp_begin(f, st->name, 900, 520);
	fprintf(f, "    set title ");
	plot_gp_string(f, st->title);
	fprintf(f, "\n    set grid\n    set key bottom right\n"
	    "    set logscale x 10\n    set xlabel \"%s budget (%s, log "
	    "scale)\"\n", st->metric == NAS_METRIC_ENERGY ? "energy" :
	    "latency", st->metric == NAS_METRIC_ENERGY ? "mJ" : "ms");
	if (st->ratio)
		fprintf(f, "    set ylabel \"ViT blocks per 10 MBConv blocks\"\n"
		    "    set yrange [0:*]\n"
		    "    # the paper's band: 2 to 5 ViT per 10 IRB\n"
		    "    set object 1 rect from graph 0, first 2 to graph 1, "
		    "first 5 fc rgb \"#dddddd\" fs solid 0.5 behind\n");
	else
		fprintf(f, "    set ylabel \"top-1 test accuracy (%%)\"\n");
	fprintf(f, "    plot ");
	for (int s = 0; s < st->n; s++) {
		fprintf(f, "%s\"%s.dat\" index %d using 1:%d with linespoints "
		    "lw 2 pt %d title ", s ? ", \\\n         " : "", st->name,
		    s, st->ratio ? 8 : 2, 5 + 2 * s);
		plot_gp_string(f, st->s[s].title);
	}
	fprintf(f, "\n");
	plot_gp_end(f);
}

static void
write_md(FILE *f, const void *ctx)
{
	const study *st = ctx;
	const char *unit = st->metric == NAS_METRIC_ENERGY ? "mJ" : "ms";

	fprintf(f, "%s\n\n| budget (%s) |", st->title, unit);
	for (int s = 0; s < st->n; s++)
		fprintf(f, " %s |", st->s[s].title);
	fprintf(f, "\n|---|");
	for (int s = 0; s < st->n; s++)
		fprintf(f, "---|");
	fprintf(f, "\n");
	for (int b = 0; b < st->n_grid; b++) {
		fprintf(f, "| %g |", st->grid[b] * 1e3);
		for (int s = 0; s < st->n; s++) {
			const nas_pick *p = &st->s[s].job.picks[b];

			if (st->ratio)
				fprintf(f, " %d ViT / %d MBConv (%.1f per 10) |",
				    p->vit_blocks, p->mbconv_blocks,
				    p->mbconv_blocks ? 10.0 * p->vit_blocks /
				    p->mbconv_blocks : 0);
			else
				fprintf(f, " %.2f (%.3g %s%s) |",
				    100 * p->test_acc, (st->metric ==
				    NAS_METRIC_ENERGY ? p->energy_j :
				    p->latency_s) * 1e3, unit, p->vit_blocks ?
				    ", ViT" : "");
		}
		fprintf(f, "\n");
	}
	if (!st->ratio)
		fprintf(f, "\nCells: test accuracy (%%) of the winner, its cost, "
		    "and \", ViT\" when it has ViT blocks.\n");
	for (int c = 0; c < st->n_cmp; c++) {
		const compare *k = &st->cmp[c];
		char paper[96] = "";

		if (!isnan(k->paper_avg) && !isnan(k->paper_max))
			snprintf(paper, sizeof paper, " (paper: %.2f%% average, "
			    "%.2f%% at most)", k->paper_avg, k->paper_max);
		else if (!isnan(k->paper_avg))
			snprintf(paper, sizeof paper, " (paper: %.2f%% "
			    "average)", k->paper_avg);
		if (!k->ok) {
			fprintf(f, "\n%s at equal accuracy: the curves share no "
			    "accuracy range%s.\n", k->what, paper);
			continue;
		}
		fprintf(f, "\n%s at equal accuracy (test accuracy %.2f to %.2f "
		    "%%%s): %+.2f%% on average, %+.2f%% at most%s.\n", k->what,
		    100 * k->lo, 100 * k->hi, k->hi == k->lo ? ", a single "
		    "level: the curves barely overlap" : "", k->avg, k->max,
		    paper);
	}
	for (int c = 0; c < st->n_cmp; c++)
		if (st->cmp[c].have_paired)
			write_paired(f, st, &st->cmp[c]);
	if (st->ratio) {
		int in = 0, tot = 0;

		for (int s = 0; s < st->n; s++)
			for (int b = 0; b < st->n_grid; b++) {
				const nas_pick *p = &st->s[s].job.picks[b];
				double r = p->mbconv_blocks ? 10.0 *
				    p->vit_blocks / p->mbconv_blocks : 0;

				in += r >= 2 && r <= 5;
				tot++;
			}
		fprintf(f, "\n%d of %d winners lie in the paper's band of 2 to 5 "
		    "ViT blocks per 10 MBConv (IRB) blocks.\n", in, tot);
	}
}

static int
parse_list(const char *cmd, const char *arg, double *grid, int *n)
{
	char *s = h4h_xstrdup(arg), *save = NULL, *tok;
	int rc = 0;

	*n = 0;
	for (tok = strtok_r(s, ",", &save); tok && rc == 0;
	    tok = strtok_r(NULL, ",", &save)) {
		double v;

		if (*n == MAX_GRID)
			rc = cli_usage_error(cmd, "at most %d budgets",
			    MAX_GRID);
		else if (cli_parse_num(cmd, "--budgets", tok, 1e-9, 1e9, &v))
			rc = 2;
		else
			grid[(*n)++] = v * 1e-3;
	}
	free(s);
	for (int i = 1; rc == 0 && i < *n; i++)
		if (grid[i] <= grid[i - 1])
			rc = cli_usage_error(cmd, "--budgets must increase "
			    "(got '%s')", arg);
	if (rc == 0 && *n < 2)
		rc = cli_usage_error(cmd, "--budgets needs at least 2 values");
	return rc;
}

int
reproduce_fig_exec(const char *name, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", 1, NULL, 'o' }, { "ckpt", 1, NULL, 'c' },
		{ "budgets", 1, NULL, 'b' }, { "db", 1, NULL, 'D' },
		{ "jobs", 1, NULL, 'j' }, { "seed", 1, NULL, 's' },
		{ "population", 1, NULL, 'p' }, { "generations", 1, NULL, 'g' },
		{ "warmup", 1, NULL, 'w' }, { "real-per-gen", 1, NULL, 'r' },
		{ "val-images", 1, NULL, 'v' }, { "data", 1, NULL, 'd' },
		{ "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char cmd[64], dbp[4096], dir[MAX_SERIES][4200], shipped_ck[4096];
	const char *out = NULL, *db = NULL, *ckpt = NULL;
	study st;
	nas_study_cfg cfg;
	search_ranks sr;
	h4h_err err;
	long long v;
	int o, rc = 0;

	snprintf(cmd, sizeof cmd, "reproduce %s", name);
	if (define(&st, name) != 0)
		return cli_usage_error("reproduce", "unknown experiment '%s' "
		    "(table2, fig7, energy, fig8, fig9, fig11)", name);
	memset(&cfg, 0, sizeof cfg);
	nas_search_defaults(&cfg.search);
	cfg.search.population = 50;
	cfg.search.generations = 6;
	cfg.search.warmup = 100;
	cfg.search.holdout = 25;
	cfg.search.real_per_gen = 4;
	cfg.val_images = 0;		/* the whole validation split */
	cfg.dataset_auto = 1;
	cfg.pred_auto = 1;
	cfg.threads = 2;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'o': out = optarg; break;
		case 'D': db = optarg; break;
		case 'd': cfg.data_dir = optarg; break;
		case 'c':
			if (strcmp(name, "fig8") == 0) {
				static const char *const keys[3] = { "cnn=",
				    "vanilla=", "tpi=" };
				int k;

				for (k = 0; k < 3; k++)
					if (strncmp(optarg, keys[k],
					    strlen(keys[k])) == 0)
						break;
				if (k == 3)
					return cli_usage_error(cmd, "--ckpt must "
					    "be cnn=FILE, vanilla=FILE or "
					    "tpi=FILE (got '%s')", optarg);
				st.ckpts[k] = optarg + strlen(keys[k]);
			} else {
				ckpt = optarg;
			}
			break;
		case 'b':
			if ((rc = parse_list(cmd, optarg, st.grid,
			    &st.n_grid)) != 0)
				return rc;
			break;
		case 'j':
			if (cli_parse_int(cmd, "--jobs", optarg, 1, 256, &v))
				return 2;
			cfg.threads = (int)v;
			break;
		case 's':
			if (cli_parse_int(cmd, "--seed", optarg, 0, 1LL << 53,
			    &v))
				return 2;
			cfg.search.seed = (uint64_t)v;
			break;
		case 'p':
			if (cli_parse_int(cmd, "--population", optarg, 4,
			    100000, &v))
				return 2;
			cfg.search.population = (int)v;
			break;
		case 'g':
			if (cli_parse_int(cmd, "--generations", optarg, 0,
			    100000, &v))
				return 2;
			cfg.search.generations = (int)v;
			break;
		case 'w':
			if (cli_parse_int(cmd, "--warmup", optarg, 2, 100000,
			    &v))
				return 2;
			cfg.search.warmup = (int)v;
			cfg.search.holdout = (int)v / 4;
			break;
		case 'r':
			if (cli_parse_int(cmd, "--real-per-gen", optarg, 1,
			    100000, &v))
				return 2;
			cfg.search.real_per_gen = (int)v;
			break;
		case 'v':
			if (cli_parse_int(cmd, "--val-images", optarg, 0,
			    1000000, &v))
				return 2;
			cfg.val_images = (int)v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (out == NULL)
		return cli_usage_error(cmd, "--out DIR is required");
	if (strcmp(name, "fig8") == 0) {
		if (keep_given_ckpts(&st) < 2)
			return cli_usage_error(cmd, "fig8 needs at least two of "
			    "--ckpt cnn=FILE, --ckpt vanilla=FILE and --ckpt "
			    "tpi=FILE");
	} else {
		st.ckpts[0] = ckpt ? ckpt : cli_shipped("checkpoints/"
		    "h4h-fmnist-tpi-unfreeze.ckpt", shipped_ck,
		    sizeof shipped_ck);
	}
	if ((rc = plot_dir_prepare(out, &err)) != 0)
		return cli_fail(cmd, rc, &err);
	if (db == NULL) {
		snprintf(dbp, sizeof dbp, "%s/h4h.db", out);
		db = dbp;
	}
	cfg.db = db;
	/* Under mpirun: the searches' real evaluations shared among the
	 * ranks; the others work in scratch files (search_out.h). */
	if ((rc = search_ranks_start(db, &sr, &err)) != 0)
		return cli_fail(cmd, rc, &err);
	if (sr.scratch) {
		out = sr.out;
		cfg.db = sr.db;
	}
	for (int s = 0; s < st.n && rc == 0; s++) {
		search_job *j = &st.s[s].job;
		nas_study_cfg c = cfg;

		/* fig9 reads fig7's searches: the same folders and settings */
		snprintf(dir[s], sizeof dir[s], "%s/%s-%s", out,
		    st.ratio ? "fig7" : name, st.s[s].label);
		c.ckpt = st.ckpts[st.s[s].ckpt];
		c.search.no_vit = st.s[s].no_vit;
		j->cmd = cmd;
		j->out = dir[s];
		j->system = st.s[s].system;
		j->sets = st.s[s].sets;
		j->n_sets = st.s[s].n_sets;
		j->metric = st.metric;
		j->budgets = st.grid;
		j->n_budgets = st.n_grid;
		j->budget_opt = "--budgets";
		j->formats = PLOT_PNG;
		j->keep_right = !st.ratio;	/* the paired comparisons */
		j->dist = sr.active ? &sr.dist : NULL;
		if (!sr.scratch)
			fprintf(stderr, "h4h: %s: %s\n", cmd, st.s[s].title);
		rc = search_job_run(j, &c);
	}
	if (rc == 0 && !sr.scratch) {
		char md[80], dat[80], gp[80], png[80], svg[80];
		const char *images[2] = { png, svg };
		int rendered;

		for (int c = 0; c < st.n_cmp; c++) {
			compare_at_equal_acc(&st, &st.cmp[c]);
			compare_paired(&st, &st.cmp[c]);
		}
		snprintf(md, sizeof md, "%s.md", name);
		snprintf(dat, sizeof dat, "%s.dat", name);
		snprintf(gp, sizeof gp, "%s.gp", name);
		snprintf(png, sizeof png, "%s.png", name);
		snprintf(svg, sizeof svg, "%s.svg", name);
		if ((rc = plot_write(out, md, "table", write_md, &st,
		    &err)) != 0 ||
		    (rc = plot_write(out, dat, "data", write_dat, &st,
		    &err)) != 0 ||
		    (rc = plot_write(out, gp, "gnuplot script", write_gp, &st,
		    &err)) != 0 ||
		    (rc = plot_render(cmd, out, name, images, 2, &rendered,
		    &err)) != 0)
			rc = cli_fail(cmd, rc, &err);
		else
			write_md(stdout, &st);
	}
	for (int s = 0; s < st.n; s++)
		search_job_free(&st.s[s].job);
	search_ranks_end(&sr);
	return rc;
}
