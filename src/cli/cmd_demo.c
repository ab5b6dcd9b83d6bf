/*
 * cmd_demo.c - `h4h demo`: the README's main job.  The supernet shipped in
 * checkpoints/ (or, with --train, one trained here first on a short
 * budget) is searched under three latency budgets on the NPU alone and on
 * the NPU with 8 MRAM CIM macros; a table says what the macros buy in
 * accuracy at each budget (doc/search.md).  The budgets, 30, 60 and 120
 * ms, are where the shipped supernet's front rises: on its accuracy
 * dataset the best validation accuracy within budget climbs from the
 * smallest subnets' (below 30 ms on the NPU alone) to where it levels off
 * (about 200 ms), and each budget doubles the one before.
 *
 * Everything lands in DIR: h4h.db (costs and accuracies, so a rerun takes
 * seconds), one folder per system with its search outputs, architectures
 * and a Perfetto trace of each winner, summary.md and demo.dat/.gp/.png.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/plot.h"
#include "cli/ranks.h"
#include "cli/search_out.h"
#include "core/clock.h"
#include "nas/sntrain.h"
#include "nas/stats.h"

#define CMD "demo"
#define N_SYS 2
#define MAX_BUDGETS 8

static const char *usage =
    "usage: h4h demo [--out DIR] [--train] [--ckpt CKPT] [--budgets MS,...]\n"
    "                [--jobs N] [--data DIR]\n"
    "\n"
    "Searches the shipped supernet (checkpoints/h4h-fmnist-tpi-unfreeze.ckpt)\n"
    "under the latency budgets 30, 60 and 120 ms on\n"
    "hwprofiles/system-npu-only.ini and hwprofiles/system-npu-8cim.ini and\n"
    "prints the winners side by side.  --train first trains a supernet from\n"
    "scratch (tpi-unfreeze, 1 epoch per phase; about 7 minutes on 2 cores)\n"
    "into DIR/supernet.ckpt and searches that.  Default DIR: demo.  A rerun\n"
    "reuses DIR/h4h.db and takes seconds.  See doc/search.md.\n";

typedef struct tview {
	double t0;
} tview;

static void
train_progress(void *ctx, const nas_train_progress *p)
{
	tview *v = ctx;
	int64_t done = (p->phase - 1) * p->total_steps + p->step;

	cli_progress(CMD, (int)done, (int)(p->phases * p->total_steps),
	    h4h_now_s() - v->t0);
}

static void
train_epoch(void *ctx, const nas_epoch_report *r)
{
	(void)ctx;
	cli_progress_end();
	fprintf(stderr, "h4h: demo: trained phase %d epoch %d: max subnet "
	    "%.2f%%, min subnet %.2f%% validation accuracy\n", r->phase,
	    r->epoch, 100 * r->max_val_acc, 100 * r->min_val_acc);
}

static int
train(const char *out, const char *space, const char *data, int threads)
{
	nas_train_cfg c;
	tview v = { h4h_now_s() };
	nas_train_hooks h = { &v, train_progress, train_epoch, NULL };
	h4h_err err;
	int stopped, rc;

	if (access(out, R_OK) == 0) {
		fprintf(stderr, "h4h: demo: reusing %s (delete it to train "
		    "again)\n", out);
		return 0;
	}
	nas_train_defaults(&c);
	c.space = space;
	c.recipe = NAS_RECIPE_TPI_UNFREEZE;
	c.epochs = 1;
	c.seed = 1;
	c.threads = threads;
	c.data_dir = data;
	c.out = out;
	fprintf(stderr, "h4h: demo: training a supernet from scratch "
	    "(tpi-unfreeze, 1 epoch per phase) into %s\n", out);
	rc = nas_train_run(&c, &h, &stopped, NULL, &err);
	cli_progress_end();
	return rc ? cli_fail(CMD, rc, &err) : 0;
}

typedef struct demo {
	search_job job[N_SYS];
	int n_budgets;
	const char *ckpt;
	const nas_search_cfg *search;	/* what summary.md says it ran */
} demo;

static void
write_dat(FILE *f, const void *ctx)
{
	const demo *d = ctx;

	for (int s = 0; s < N_SYS; s++) {
		const search_job *j = &d->job[s];

		fprintf(f, "%s# %s (%d macros)\n# budget_ms val_acc_pct "
		    "test_acc_pct latency_ms energy_mj\n", s ? "\n\n" : "",
		    j->system_name, j->macros);
		for (int b = 0; b < j->n_picks; b++)
			fprintf(f, "%.6g %.2f %.2f %.6f %.6f\n",
			    j->picks[b].budget * 1e3,
			    100 * j->picks[b].val_acc,
			    100 * j->picks[b].test_acc,
			    j->picks[b].latency_s * 1e3,
			    j->picks[b].energy_j * 1e3);
	}
}

static void
write_gp(FILE *f, const void *ctx)
{
	const demo *d = ctx;

	plot_gp_head(f, "demo.gp - the searched subnets' test accuracy "
	    "against the latency budget, NPU alone and NPU + 8 CIM macros",
	    "Data: demo.dat (index 0: NPU only, index 1: NPU + macros).\n"
	    "Made by: h4h demo", PLOT_BOTH);
	plot_gp_begin(f, "demo", 800, 480);
	fprintf(f, "    set title \"h4h demo: best subnet under a latency "
	    "budget\"\n    set grid\n    set key bottom right\n"
	    "    set logscale x 10\n"
	    "    set xlabel \"latency budget (ms, log scale)\"\n"
	    "    set ylabel \"top-1 test accuracy (%%)\"\n"
	    "    plot \"demo.dat\" index 0 using 1:3 with linespoints lw 2 "
	    "pt 7 title ");
	plot_gp_string(f, d->job[0].system_name);
	fprintf(f, ", \\\n         \"\" index 1 using 1:3 with linespoints "
	    "lw 2 pt 5 title ");
	plot_gp_string(f, d->job[1].system_name);
	fprintf(f, "\n");
	plot_gp_end(f);
}

/* The macros' gain at budget b: paired over the test images. */
static void
gain_text(const demo *d, int b, char *buf, size_t n)
{
	const search_job *a = &d->job[1], *o = &d->job[0];
	nas_paired pc;

	if (a->right == NULL || o->right == NULL || a->n_test != o->n_test) {
		snprintf(buf, n, "%+.2f pt", 100 * (a->picks[b].test_acc -
		    o->picks[b].test_acc));
		return;
	}
	nas_paired_compare(a->right[b], o->right[b], a->n_test, &pc);
	snprintf(buf, n, "%+.2f pt [%+.2f, %+.2f]%s", 100 * pc.diff,
	    100 * pc.lo, 100 * pc.hi, pc.diff == 0 && pc.a_only == 0 &&
	    pc.b_only == 0 ? " same subnet" : pc.significant ? "" :
	    " not significant");
}

static void
print_table(FILE *f, const demo *d, int md)
{
	const char *sep = md ? " | " : "  ";

	if (md)
		fprintf(f, "| budget | system | val acc %% | test acc %% "
		    "[95%% CI] | latency ms | energy mJ | ViT | MBConv | "
		    "layers on NPU / CIM / split | MACs on CIM | test acc "
		    "gained by the macros [paired 95%% CI] |\n"
		    "|---|---|---|---|---|---|---|---|---|---|---|\n");
	else
		fprintf(f, "%-8s  %-9s  %7s  %7s  %-16s  %10s  %9s  %3s  %6s  "
		    "%-13s  %7s  %s\n", "budget", "system", "val %", "test %",
		    "test 95% CI", "latency ms", "energy mJ", "ViT", "MBConv",
		    "layers N/C/S", "CIM MAC", "gain [paired 95% CI]");
	for (int b = 0; b < d->n_budgets; b++)
		for (int s = 0; s < N_SYS; s++) {
			const nas_pick *p = &d->job[s].picks[b];
			char lay[32], gain[96] = "", ci[40];

			snprintf(lay, sizeof lay, "%d / %d / %d",
			    p->layers_npu, p->layers_cim, p->layers_split);
			snprintf(ci, sizeof ci, "[%.2f, %.2f]",
			    100 * p->test_lo, 100 * p->test_hi);
			if (s == 1)
				gain_text(d, b, gain, sizeof gain);
			if (md)
				fprintf(f, "| %g ms | %s | %.2f | %.2f %s | "
				    "%.3f | %.4f | %d | %d | %s | %.1f%% | %s "
				    "|\n", p->budget * 1e3,
				    d->job[s].system_name, 100 * p->val_acc,
				    100 * p->test_acc, ci, p->latency_s * 1e3,
				    p->energy_j * 1e3, p->vit_blocks,
				    p->mbconv_blocks, lay,
				    100 * p->cim_mac_share, gain);
			else {
				char bud[32];

				snprintf(bud, sizeof bud, "%g ms",
				    p->budget * 1e3);
				fprintf(f, "%-8s%s%-9s%s%7.2f%s%7.2f%s%-16s%s"
				    "%10.3f%s%9.4f%s%3d%s%6d%s%-13s%s%6.1f%%%s"
				    "%s\n", bud, sep, d->job[s].system_name, sep,
				    100 * p->val_acc, sep, 100 * p->test_acc,
				    sep, ci, sep, p->latency_s * 1e3, sep,
				    p->energy_j * 1e3, sep, p->vit_blocks, sep,
				    p->mbconv_blocks, sep, lay, sep,
				    100 * p->cim_mac_share, sep, gain);
			}
		}
}

static void
write_md(FILE *f, const void *ctx)
{
	const demo *d = ctx;

	fprintf(f, "# h4h demo\n\nSupernet: `%s`.  Search: OFA evolution, "
	    "population %d, %d generations, %d real evaluations per "
	    "generation chosen by the predictor, started from the accuracy "
	    "dataset when there is one; validation on every validation image "
	    "of the supernet's run after BN recalibration; winners scored on "
	    "the 10,000 test images, with Wilson 95%% intervals; the macros' "
	    "gain is paired over the same test images (bootstrap, 95%%; \"not "
	    "significant\" when the interval holds 0).  Costs: the full-size "
	    "network on each system, from the cost database (h4h.db).\n\n",
	    d->ckpt, d->search->population, d->search->generations,
	    d->search->real_per_gen);
	print_table(f, d, 1);
	fprintf(f, "\n%s.\n\n", d->job[0].note);
	for (int s = 0; s < N_SYS; s++) {
		fprintf(f, "%s: ", d->job[s].system_name);
		print_pred(f, &d->job[s]);
	}
}

static int
run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", 1, NULL, 'o' }, { "train", 0, NULL, 't' },
		{ "ckpt", 1, NULL, 'c' }, { "budgets", 1, NULL, 'b' },
		{ "jobs", 1, NULL, 'j' }, { "data", 1, NULL, 'd' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	const char *out = "demo", *ckpt = NULL, *data = NULL;
	const char *budgets = "30,60,120";
	char b1[4096], b2[4096], b3[4096], b4[4096], sysdir[N_SYS][4200];
	char trained[4096], db[4096];
	const char *systems[N_SYS];
	int do_train = 0, o, rc;
	long long jobs = 2;
	nas_study_cfg cfg;
	demo d;
	h4h_err err;
	search_ranks sr;
	double t0 = h4h_now_s();

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'o': out = optarg; break;
		case 't': do_train = 1; break;
		case 'c': ckpt = optarg; break;
		case 'b': budgets = optarg; break;
		case 'd': data = optarg; break;
		case 'j':
			if (cli_parse_int(CMD, "--jobs", optarg, 1, 256, &jobs))
				return 2;
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
		return cli_usage_error(CMD, "unexpected argument '%s'",
		    argv[optind]);
	if (do_train && ckpt != NULL)
		return cli_usage_error(CMD, "--train and --ckpt exclude each "
		    "other");
	if (do_train && cli_ranks_announced() > 1)
		return cli_usage_error(CMD, "--train runs as one process: train "
		    "with mpirun ... h4h supernet train, then h4h demo --ckpt");
	if ((rc = plot_dir_prepare(out, &err)) != 0)
		return cli_fail(CMD, rc, &err);
	systems[0] = cli_shipped("hwprofiles/system-npu-only.ini", b1, sizeof b1);
	systems[1] = cli_shipped("hwprofiles/system-npu-8cim.ini", b2, sizeof b2);
	if (do_train) {
		snprintf(trained, sizeof trained, "%s/supernet.ckpt", out);
		if ((rc = train(trained, cli_shipped("spaces/h4h-fmnist.json", b4,
		    sizeof b4), data, (int)jobs)) != 0)
			return rc;
		ckpt = trained;
	} else if (ckpt == NULL) {
		ckpt = cli_shipped("checkpoints/h4h-fmnist-tpi-unfreeze.ckpt", b3,
		    sizeof b3);
	}
	snprintf(db, sizeof db, "%s/h4h.db", out);
	/* Under mpirun: the searches' real evaluations shared among the
	 * ranks; the others work in scratch files (search_out.h). */
	if ((rc = search_ranks_start(db, &sr, &err)) != 0)
		return cli_fail(CMD, rc, &err);
	if (sr.scratch) {
		out = sr.out;
		snprintf(db, sizeof db, "%s", sr.db);
	}

	memset(&cfg, 0, sizeof cfg);
	nas_search_defaults(&cfg.search);
	/* 5 generations of 2 real evaluations a budget: each scores
	 * 12,000 images (about 2.5 s on 2 cores), and the accuracy dataset
	 * already starts the search where its measured subnets are best;
	 * 8 x 4 took 226 evaluations, 17 minutes beside other work. */
	cfg.search.population = 50;
	cfg.search.generations = 5;
	cfg.search.warmup = 60;
	cfg.search.holdout = 15;
	cfg.search.real_per_gen = 2;
	cfg.val_images = 0;		/* the whole validation split */
	cfg.dataset_auto = 1;
	cfg.pred_auto = 1;
	cfg.threads = (int)jobs;
	cfg.ckpt = ckpt;
	cfg.db = db;
	cfg.data_dir = data;

	memset(&d, 0, sizeof d);
	d.ckpt = ckpt;
	d.search = &cfg.search;
	for (int s = 0; s < N_SYS; s++) {
		search_job *j = &d.job[s];
		const char *stem = s ? "npu-8cim" : "npu-only";

		snprintf(sysdir[s], sizeof sysdir[s], "%s/%s", out, stem);
		j->cmd = CMD;
		j->out = sysdir[s];
		j->system = systems[s];
		j->metric = NAS_METRIC_LATENCY;
		j->budgets_arg = budgets;
		j->budget_opt = "--budgets";
		j->formats = PLOT_PNG;
		j->trace = 1;
		j->keep_right = 1;
		j->dist = sr.active ? &sr.dist : NULL;
		if (!sr.scratch)
			fprintf(stderr, "h4h: demo: searching on %s\n",
			    systems[s]);
		if ((rc = search_job_run(j, &cfg)) != 0)
			goto out;
	}
	d.n_budgets = d.job[0].n_picks;
	if (sr.scratch) {
		/* Rank 0 writes and prints the results. */
		rc = 0;
		goto out;
	}
	{
		const char *images[2] = { "demo.png", "demo.svg" };
		int rendered;

		if ((rc = plot_write(out, "summary.md", "summary", write_md, &d,
		    &err)) != 0 ||
		    (rc = plot_write(out, "demo.dat", "data", write_dat, &d,
		    &err)) != 0 ||
		    (rc = plot_write(out, "demo.gp", "gnuplot script", write_gp,
		    &d, &err)) != 0 ||
		    (rc = plot_render(CMD, out, "demo", images, 2, &rendered,
		    &err)) != 0) {
			rc = cli_fail(CMD, rc, &err);
			goto out;
		}
	}
	printf("h4h demo: the most accurate subnet of %s under each latency "
	    "budget\n\n", ckpt);
	print_table(stdout, &d, 0);
	printf("\nN/C/S: layers run on the NPU alone, on the macros alone, "
	    "split between them.  test 95%% CI: Wilson.  gain: test accuracy "
	    "the 8 macros add at the same budget, with its 95%% interval "
	    "paired over the same test images (bootstrap); \"not "
	    "significant\" when it holds 0.\n");
	if (d.job[0].note[0] != '\0')
		printf("%s\n", d.job[0].note);
	for (int s = 0; s < N_SYS; s++) {
		printf("%s: ", d.job[s].system_name);
		print_pred(stdout, &d.job[s]);
	}
	printf("real evaluations %lld (cached %lld); %.0f s\n",
	    d.job[0].fstats.evals[0] + d.job[0].fstats.evals[1] +
	    d.job[1].fstats.evals[0] + d.job[1].fstats.evals[1],
	    d.job[0].fstats.hits[0] + d.job[0].fstats.hits[1] +
	    d.job[1].fstats.hits[0] + d.job[1].fstats.hits[1],
	    h4h_now_s() - t0);
	printf("wrote %s/summary.md, %s/demo.png, %s/h4h.db, and per system "
	    "best-*.json (h4h sim --arch) and trace-*.json (ui.perfetto.dev) "
	    "under %s/npu-only and %s/npu-8cim\n", out, out, out, out, out);
	rc = 0;
out:
	for (int s = 0; s < N_SYS; s++)
		search_job_free(&d.job[s]);
	search_ranks_end(&sr);
	return rc;
}

const h4h_cmd h4h_cmd_demo = {
	"demo",
	"search the shipped supernet on the NPU alone and with 8 CIM macros",
	run,
};
