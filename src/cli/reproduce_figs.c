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

#define MAX_SERIES 4
#define MAX_GRID 16
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
} compare;

typedef struct study {
	const char *name;		/* fig7 ... */
	const char *title;
	int metric;
	series s[MAX_SERIES];
	int n;
	compare cmp[2];
	int n_cmp;
	double grid[MAX_GRID];		/* s or J */
	int n_grid;
	const char *ckpts[3];		/* fig8: cnn, vanilla, tpi */
	int ratio;			/* fig9: the ViT/MBConv plot */
} study;

static const char *usage =
    "usage: h4h reproduce fig7|energy|fig8|fig9|fig11 --out DIR\n"
    "                 [--ckpt CKPT | (fig8) --ckpt cnn=A --ckpt vanilla=B "
    "--ckpt tpi=C]\n"
    "                 [--budgets LIST] [--db FILE] [--jobs N] [--seed N]\n"
    "                 [--population N] [--generations N] [--warmup N]\n"
    "                 [--real-per-gen N] [--val-images N]\n"
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
    "Writes\n"
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
		st->cmp[st->n_cmp++] = (compare){ 0, 3, en ? "energy, 8 "
		    "macros vs NPU only" : "latency, 8 macros vs NPU only",
		    en ? -11.80 : -21.99, en ? -33.13 : -56.08, 0, 0, 0, 0, 0 };
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
		st->cmp[st->n_cmp++] = (compare){ 0, 3, "energy, 4 CUs vs NPU "
		    "only", -19.11, -41.72, 0, 0, 0, 0, 0 };
		st->cmp[st->n_cmp++] = (compare){ 1, 3, "energy, 4 CUs vs 1 "
		    "CU", -9.34, NAN, 0, 0, 0, 0, 0 };
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

		if (!k->ok) {
			fprintf(f, "\n%s at equal accuracy: the curves share no "
			    "accuracy range (paper: %.2f%% average).\n", k->what,
			    k->paper_avg);
			continue;
		}
		fprintf(f, "\n%s at equal accuracy (test accuracy %.2f to %.2f "
		    "%%%s): %+.2f%% on average, %+.2f%% at most (paper: %.2f%% "
		    "average", k->what, 100 * k->lo, 100 * k->hi, k->hi == k->lo ?
		    ", a single level: the curves barely overlap" : "", k->avg,
		    k->max, k->paper_avg);
		if (!isnan(k->paper_max))
			fprintf(f, ", %.2f%% at most", k->paper_max);
		fprintf(f, ").\n");
	}
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
		{ "val-images", 1, NULL, 'v' }, { "help", 0, NULL, 'h' },
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
		for (int k = 0; k < 3; k++)
			if (st.ckpts[k] == NULL)
				return cli_usage_error(cmd, "fig8 needs --ckpt "
				    "cnn=FILE --ckpt vanilla=FILE --ckpt "
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
		j->dist = sr.active ? &sr.dist : NULL;
		if (!sr.scratch)
			fprintf(stderr, "h4h: %s: %s\n", cmd, st.s[s].title);
		rc = search_job_run(j, &c);
	}
	if (rc == 0 && !sr.scratch) {
		char md[80], dat[80], gp[80], png[80], svg[80];
		const char *images[2] = { png, svg };
		int rendered;

		for (int c = 0; c < st.n_cmp; c++)
			compare_at_equal_acc(&st, &st.cmp[c]);
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
