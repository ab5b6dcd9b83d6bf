/*
 * cmd_reproduce.c - `h4h reproduce table2`: the paper's Table 2 under one
 * stated budget (src/nas/table2.c, doc/results.md).
 *
 * Progress of each run goes to stderr; the table is written to DIR (and
 * spliced into --results FILE); SIGINT writes the running checkpoint and
 * exits 130, and a rerun reuses every finished run.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/reproduce_figs.h"
#include "nas/table2.h"

static const char *usage =
    "usage: h4h reproduce fig7|energy|fig8|fig9|fig11 --out DIR ... (see\n"
    "       h4h reproduce fig7 --help)\n"
    "       h4h reproduce table2 --out DIR [--seeds 1,2,3]\n"
    "                            [--budget default|long|smoke] [--results FILE]\n"
    "                            [--space FILE] [--threads T] [--jobs 1|2]\n"
    "                            [--data DIR]\n"
    "\n"
    "Trains the recipes cnn, vanilla, tpi-freeze and tpi-unfreeze on the\n"
    "proxy space (default spaces/h4h-fmnist.json) for every seed, scores\n"
    "each supernet's min and max subnets on the test set after BN\n"
    "recalibration, and writes DIR/table2.md and DIR/table2.csv beside the\n"
    "paper's rows (--results FILE: also into that Markdown file's Table 2\n"
    "section).  Budgets: default 3 epochs per phase, long 6, smoke a few\n"
    "steps (checks the pipeline in about a minute).  --jobs 2 runs cnn with\n"
    "vanilla, then the two TPI runs, as two processes of --threads each.\n"
    "A rerun of the same command reuses finished runs and resumes an\n"
    "interrupted one.\n";

static void
on_run(void *ctx, const char *recipe, uint64_t seed)
{
	(void)ctx;
	fprintf(stderr, "h4h: reproduce: training %s (seed %llu)\n", recipe,
	    (unsigned long long)seed);
}

static void
on_epoch(void *ctx, const nas_epoch_report *r)
{
	(void)ctx;
	fprintf(stderr, "h4h: reproduce: phase %d epoch %d loss %.4f "
	    "max_val_acc %.4f min_val_acc %.4f %.0f img/s\n", r->phase,
	    r->epoch, r->train_loss, r->max_val_acc, r->min_val_acc,
	    r->img_per_s);
}

static int
parse_seeds(const char *s, nas_table2_cfg *c)
{
	char *end;

	c->n_seeds = 0;
	for (;;) {
		unsigned long long v;

		errno = 0;
		v = strtoull(s, &end, 10);
		if (end == s || errno != 0 || c->n_seeds == NAS_TABLE2_MAX_SEEDS)
			return -1;
		c->seeds[c->n_seeds++] = v;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

static int
exec_reproduce(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", 1, NULL, 'o' }, { "seeds", 1, NULL, 's' },
		{ "budget", 1, NULL, 'b' }, { "results", 1, NULL, 'r' },
		{ "space", 1, NULL, 'S' }, { "threads", 1, NULL, 't' },
		{ "data", 1, NULL, 'd' }, { "jobs", 1, NULL, 'j' },
		{ "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "reproduce";
	nas_table2_cfg c;
	nas_train_hooks th = { NULL, NULL, on_epoch, cli_should_stop };
	nas_table2_hooks h = { NULL, on_run, &th, cli_should_stop };
	char line[2048];
	size_t k = 0;
	h4h_err err;
	int o, rc, stopped;

	if (argc >= 2 && strcmp(argv[1], "table2") != 0 &&
	    strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "help") != 0)
		return reproduce_fig_exec(argv[1], argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "table2") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "help") == 0)) {
			fputs(usage, stdout);
			return 0;
		}
		fputs(usage, stderr);
		return argc < 2 ? 2 : cli_usage_error(cmd, "unknown experiment "
		    "'%s' (table2)", argv[1]);
	}
	memset(&c, 0, sizeof c);
	c.space = "spaces/h4h-fmnist.json";
	c.budget = "default";
	c.threads = 2;
	c.jobs = 1;
	c.n_seeds = 1;
	c.seeds[0] = 1;
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'o': c.out = optarg; break;
		case 's':
			if (parse_seeds(optarg, &c) != 0)
				return cli_usage_error(cmd, "--seeds must be a "
				    "comma-separated list of at most %d whole "
				    "numbers (got '%s')", NAS_TABLE2_MAX_SEEDS,
				    optarg);
			break;
		case 'b': c.budget = optarg; break;
		case 'r': c.results = optarg; break;
		case 'S': c.space = optarg; break;
		case 't':
			c.threads = atoi(optarg);
			if (c.threads < 1 || c.threads > 256)
				return cli_usage_error(cmd, "--threads must be "
				    "1..256 (got '%s')", optarg);
			break;
		case 'd': c.data_dir = optarg; break;
		case 'j':
			c.jobs = atoi(optarg);
			if (c.jobs < 1 || c.jobs > 2)
				return cli_usage_error(cmd, "--jobs must be 1 or 2 "
				    "(got '%s')", optarg);
			break;
		case 'h': fputs(usage, stdout); return 0;
		default:
			return cli_usage_error(cmd, "unknown or incomplete option "
			    "'%s' (see h4h reproduce --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	if (c.out == NULL)
		return cli_usage_error(cmd, "--out DIR is required");
	k = (size_t)snprintf(line, sizeof line, "h4h reproduce table2");
	for (int i = 1; i < argc && k < sizeof line; i++)
		k += (size_t)snprintf(line + k, sizeof line - k, " %s", argv[i]);
	c.command = line;
	cli_interrupt_catch();
	if ((rc = nas_table2_run(&c, &h, &stopped, &err)) != 0)
		return cli_fail(cmd, rc, &err);
	if (stopped) {
		fprintf(stderr, "h4h: reproduce: interrupted; rerun the same "
		    "command to continue\n");
		return 130;
	}
	fprintf(stderr, "h4h: reproduce: wrote %s/table2.md and %s/table2.csv%s%s"
	    "\n", c.out, c.out, c.results ? " and " : "",
	    c.results ? c.results : "");
	return 0;
}

const h4h_cmd h4h_cmd_reproduce = {
	"reproduce", "rerun one of the paper's experiments: table2, fig7, "
	    "energy, fig8, fig9, fig11",
	exec_reproduce,
};
