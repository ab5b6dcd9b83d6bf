/*
 * cmd_search.c - `h4h search`: the most accurate subnet of a trained
 * supernet under latency or energy budgets on one system (src/nas/search.c,
 * doc/search.md).
 *
 * Every candidate's full-size network is costed by the SQLite cost oracle
 * and every real accuracy is cached in the same database, so a rerun makes
 * no new evaluations and a search killed at any point resumes, when run
 * again, to the same result.  Outputs go to DIR: pareto.csv/.json (the
 * winner of each budget, with its test accuracy), front.csv (the Pareto
 * front of every subnet evaluated), best-BUDGET.json (architectures for
 * `h4h sim --arch`), search.dat/.gp and the plots.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/plot.h"
#include "cli/search_out.h"
#include "core/clock.h"
#include "nas/study.h"

#define CMD "search"
#define MAX_SETS 64

static const char *usage =
    "usage: h4h search --ckpt CKPT --system FILE.ini [--set K=V]...\n"
    "                  (--latency-max MS[,MS...] | --energy-max MJ[,MJ...])\n"
    "                  --db FILE --out DIR [--seed N] [--jobs N]\n"
    "                  [--algorithm ofa|aging] [--population N] "
    "[--generations N]\n"
    "                  [--parent-ratio R] [--mutation-ratio R] "
    "[--mutate-prob P]\n"
    "                  [--mutate-res-prob P] [--no-predictor] [--warmup N]\n"
    "                  [--real-per-gen N] [--val-images N] [--cnn-only]\n"
    "                  [--max-tries N] [--dataset FILE | --no-dataset]\n"
    "                  [--predictor auto|ridge|mlp|forest]\n"
    "                  [--space FILE] [--format png|svg|both] [--data DIR]\n"
    "\n"
    "OFA-style evolution (population 100, 25% parents, 50 mutants and 50\n"
    "crossovers per generation, mutation probability 0.1 per decision and\n"
    "0.5 for the resolution, 30 generations) under each budget, enforced\n"
    "by rejection (a child over budget is redrawn, up to --max-tries 30\n"
    "times, then it is its parent): latency budgets in ms, energy budgets\n"
    "in mJ, of the full-size network on the system.  Fitness is validation accuracy after\n"
    "BN recalibration on every validation image of the checkpoint's run\n"
    "(--val-images N: the first N), cached in the database.  The\n"
    "predictor picks the --real-per-gen (10) children per generation that\n"
    "are evaluated for real.  It starts from the accuracy dataset beside\n"
    "the checkpoint (CKPT less .ckpt, plus .acc.csv; --dataset names\n"
    "another) when there is one, else from a --warmup (200) of random\n"
    "subnets; --predictor auto (the default) takes the model the dataset\n"
    "records, or the best by cross-validation on it (ridge without one).\n"
    "Each budget's winner is scored on the test images, with its 95%\n"
    "interval.  --jobs: threads for the accuracy evaluations.  See\n"
    "doc/search.md.\n";

enum { O_CKPT = 256, O_SYSTEM, O_SET, O_LAT, O_EN, O_DB, O_OUT, O_SEED,
    O_JOBS, O_ALGO, O_POP, O_GENS, O_PARENT, O_MUTR, O_MUTP, O_MUTRES,
    O_NOPRED, O_WARMUP, O_REAL, O_VALIMG, O_CNN, O_SPACE, O_FORMAT, O_DATA,
    O_TRIES, O_DATASET, O_NODATASET, O_PRED,
    O_HELP };

static const struct option opts[] = {
	{ "ckpt", 1, NULL, O_CKPT }, { "system", 1, NULL, O_SYSTEM },
	{ "set", 1, NULL, O_SET }, { "latency-max", 1, NULL, O_LAT },
	{ "energy-max", 1, NULL, O_EN }, { "db", 1, NULL, O_DB },
	{ "out", 1, NULL, O_OUT }, { "seed", 1, NULL, O_SEED },
	{ "jobs", 1, NULL, O_JOBS }, { "algorithm", 1, NULL, O_ALGO },
	{ "population", 1, NULL, O_POP }, { "generations", 1, NULL, O_GENS },
	{ "parent-ratio", 1, NULL, O_PARENT },
	{ "mutation-ratio", 1, NULL, O_MUTR },
	{ "mutate-prob", 1, NULL, O_MUTP },
	{ "mutate-res-prob", 1, NULL, O_MUTRES },
	{ "no-predictor", 0, NULL, O_NOPRED }, { "warmup", 1, NULL, O_WARMUP },
	{ "real-per-gen", 1, NULL, O_REAL },
	{ "val-images", 1, NULL, O_VALIMG }, { "cnn-only", 0, NULL, O_CNN },
	{ "space", 1, NULL, O_SPACE }, { "format", 1, NULL, O_FORMAT },
	{ "data", 1, NULL, O_DATA }, { "max-tries", 1, NULL, O_TRIES },
	{ "dataset", 1, NULL, O_DATASET },
	{ "no-dataset", 0, NULL, O_NODATASET },
	{ "predictor", 1, NULL, O_PRED },
	{ "help", 0, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

static int
run(int argc, char **argv)
{
	const char *ckpt = NULL, *system = NULL, *db = NULL, *out = NULL;
	const char *lat = NULL, *en = NULL, *space = NULL, *data = NULL;
	const char *sets[MAX_SETS];
	int n_sets = 0, formats = PLOT_BOTH, o;
	long long v;
	double d;
	nas_study_cfg cfg;
	search_job job;

	memset(&cfg, 0, sizeof cfg);
	nas_search_defaults(&cfg.search);
	cfg.threads = 1;
	cfg.dataset_auto = 1;
	cfg.pred_auto = 1;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_CKPT: ckpt = optarg; break;
		case O_SYSTEM:
			if (system != NULL)
				return cli_usage_error(CMD, "--system given "
				    "twice (one system per search)");
			system = optarg;
			break;
		case O_SET:
			if (n_sets == MAX_SETS)
				return cli_usage_error(CMD, "at most %d --set "
				    "options", MAX_SETS);
			sets[n_sets++] = optarg;
			break;
		case O_LAT: lat = optarg; break;
		case O_EN: en = optarg; break;
		case O_DB: db = optarg; break;
		case O_OUT: out = optarg; break;
		case O_SPACE: space = optarg; break;
		case O_DATA: data = optarg; break;
		case O_SEED:
			if (cli_parse_int(CMD, "--seed", optarg, 0,
			    (1LL << 53), &v))
				return 2;
			cfg.search.seed = (uint64_t)v;
			break;
		case O_JOBS:
			if (cli_parse_int(CMD, "--jobs", optarg, 1, 256, &v))
				return 2;
			cfg.threads = (int)v;
			break;
		case O_ALGO:
			if (strcmp(optarg, "ofa") == 0)
				cfg.search.algorithm = NAS_EVO_OFA;
			else if (strcmp(optarg, "aging") == 0)
				cfg.search.algorithm = NAS_EVO_AGING;
			else
				return cli_usage_error(CMD, "--algorithm must "
				    "be ofa or aging (got '%s')", optarg);
			break;
		case O_POP:
			if (cli_parse_int(CMD, "--population", optarg, 4,
			    100000, &v))
				return 2;
			cfg.search.population = (int)v;
			break;
		case O_GENS:
			if (cli_parse_int(CMD, "--generations", optarg, 0,
			    100000, &v))
				return 2;
			cfg.search.generations = (int)v;
			break;
		case O_PARENT:
			if (cli_parse_num(CMD, "--parent-ratio", optarg, 0.01,
			    1, &d))
				return 2;
			cfg.search.parent_ratio = d;
			break;
		case O_MUTR:
			if (cli_parse_num(CMD, "--mutation-ratio", optarg, 0,
			    1, &d))
				return 2;
			cfg.search.mutation_ratio = d;
			break;
		case O_MUTP:
			if (cli_parse_num(CMD, "--mutate-prob", optarg, 0, 1,
			    &d))
				return 2;
			cfg.search.p_mutate = d;
			break;
		case O_MUTRES:
			if (cli_parse_num(CMD, "--mutate-res-prob", optarg, 0,
			    1, &d))
				return 2;
			cfg.search.p_mutate_res = d;
			break;
		case O_NOPRED: cfg.search.predictor = 0; break;
		case O_WARMUP:
			if (cli_parse_int(CMD, "--warmup", optarg, 2, 100000,
			    &v))
				return 2;
			cfg.search.warmup = (int)v;
			cfg.search.holdout = (int)v / 4;
			break;
		case O_REAL:
			if (cli_parse_int(CMD, "--real-per-gen", optarg, 1,
			    100000, &v))
				return 2;
			cfg.search.real_per_gen = (int)v;
			break;
		case O_VALIMG:
			if (cli_parse_int(CMD, "--val-images", optarg, 0,
			    1000000, &v))
				return 2;
			cfg.val_images = (int)v;
			break;
		case O_CNN: cfg.search.no_vit = 1; break;
		case O_DATASET:
			cfg.dataset = optarg;
			cfg.dataset_auto = 0;
			break;
		case O_NODATASET:
			cfg.dataset = NULL;
			cfg.dataset_auto = 0;
			break;
		case O_PRED:
			if (strcmp(optarg, "auto") == 0) {
				cfg.pred_auto = 1;
			} else if (nas_pred_parse(optarg) >= 0) {
				cfg.pred_auto = 0;
				cfg.search.pred_kind = nas_pred_parse(optarg);
			} else {
				return cli_usage_error(CMD, "--predictor must "
				    "be auto, ridge, mlp or forest (got '%s')",
				    optarg);
			}
			break;
		case O_TRIES:
			if (cli_parse_int(CMD, "--max-tries", optarg, 1,
			    1000000, &v))
				return 2;
			cfg.search.max_tries = (int)v;
			break;
		case O_FORMAT:
			if ((formats = plot_format_from_name(optarg)) < 0)
				return cli_usage_error(CMD, "--format must be "
				    "png, svg or both (got '%s')", optarg);
			break;
		case O_HELP:
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
	if (ckpt == NULL || system == NULL || db == NULL || out == NULL)
		return cli_usage_error(CMD, "--ckpt, --system, --db and --out "
		    "are required (see h4h search --help)");
	if ((lat == NULL) == (en == NULL))
		return cli_usage_error(CMD, "give one of --latency-max and "
		    "--energy-max");
	cfg.ckpt = ckpt;
	cfg.db = db;
	cfg.data_dir = data;
	memset(&job, 0, sizeof job);
	job.cmd = CMD;
	job.out = out;
	job.system = system;
	job.sets = sets;
	job.n_sets = n_sets;
	job.space = space;
	job.metric = lat ? NAS_METRIC_LATENCY : NAS_METRIC_ENERGY;
	job.budgets_arg = lat ? lat : en;
	job.budget_opt = lat ? "--latency-max" : "--energy-max";
	job.formats = formats;
	job.verbose = 1;
	{
		search_ranks sr;
		h4h_err err = { "" };

		if ((o = search_ranks_prepare(&job, &cfg, &sr, &err)) != 0)
			return cli_fail(CMD, o, &err);
		o = search_job_run(&job, &cfg);
		search_ranks_end(&sr);
	}
	search_job_free(&job);
	return o;
}

const h4h_cmd h4h_cmd_search = {
	"search",
	"evolutionary search for the best subnet under latency or energy "
	"budgets",
	run,
};
