/*
 * cmd_supernet.c - `h4h supernet train|eval|extract`: the weight-sharing
 * supernet of a search space (src/nas, doc/nas.md).
 *
 * train: progress on stderr, one line per epoch on stdout; SIGINT or
 * SIGTERM finishes the step, writes the checkpoint (--out) and exits 130.
 * eval: recalibrates and scores subnets (--json for programs).  extract:
 * the full-size architecture of a subnet for `h4h sim --arch` and a
 * standalone checkpoint that `h4h eval` scores.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ranks.h"
#include "core/atomic.h"
#include "nas/gene.h"
#include "nas/recal.h"
#include "nas/sntrain.h"
#include "nas/subnet.h"

static const char *usage =
    "usage: h4h supernet train --space FILE --recipe cnn|vanilla|tpi-freeze|"
    "tpi-unfreeze\n"
    "                          (--epochs N | --steps N) --out CKPT [--init CKPT]\n"
    "                          [--seed S] [--resume CKPT] [--db FILE] "
    "[--csv FILE]\n"
    "                          [--batch B] [--lr LR] [--wd WD] [--val N]\n"
    "                          [--recal-images N] [--recal-batch B]\n"
    "                          [--threads T] [--data DIR] "
    "[--checkpoint-every STEPS]\n"
    "       h4h supernet eval --ckpt CKPT --subnet min|max|random:N|GENE.json\n"
    "                          [--split val|test] [--no-recal] [--images N]\n"
    "                          [--seed S] [--json] [--threads T] [--data DIR]\n"
    "       h4h supernet extract --ckpt CKPT --subnet min|max|random:N|GENE.json\n"
    "                          --arch-out A.json --ckpt-out X.ckpt [--seed S]\n"
    "       h4h supernet slim --ckpt CKPT --out SLIM.ckpt\n"
    "\n"
    "train: the sandwich rule (max, min and 2 random subnets per step) with\n"
    "in-place distillation, AdamW lr 2e-3 wd 0.05, cosine; --epochs and\n"
    "--steps count per phase.  tpi-* without --init trains phase 1 (cnn)\n"
    "first.  --out is also written every 5 minutes, or every STEPS steps\n"
    "(0: only at the end), so that --resume continues a killed run.\n"
    "eval: BN recalibration on 2,000 training images, then top-1\n"
    "accuracy.  slim: a copy without the optimizer's moments (a third of\n"
    "the size) for shipping and searching; training cannot resume from it.\n"
    "See doc/nas.md.\n";

typedef struct view {
	int tty;
	double last;
} view;

static void
show_progress(void *ctx, const nas_train_progress *p)
{
	view *v = ctx;

	if (v->tty) {
		if (p->elapsed_s - v->last < 0.25 && p->step != p->total_steps)
			return;
		v->last = p->elapsed_s;
		fprintf(stderr, "\rh4h: supernet: phase %d/%d epoch %d/%d step "
		    "%lld/%lld loss %.4f kd %.4f %.0f img/s ETA %.0fs ",
		    p->phase, p->phases, p->epoch, p->epochs,
		    (long long)p->step, (long long)p->total_steps, p->loss,
		    p->kd, p->img_per_s, p->eta_s);
		return;
	}
	if (p->step * 10 / p->total_steps != (p->step - 1) * 10 /
	    p->total_steps)
		fprintf(stderr, "h4h: supernet: phase %d step %lld/%lld loss "
		    "%.4f kd %.4f %.0f img/s ETA %.0fs\n", p->phase,
		    (long long)p->step, (long long)p->total_steps, p->loss,
		    p->kd, p->img_per_s, p->eta_s);
}

static void
show_epoch(void *ctx, const nas_epoch_report *r)
{
	view *v = ctx;

	if (v->tty)
		fputc('\n', stderr);
	printf("phase %d epoch %d loss %.4f kd %.4f max_val_acc %.4f "
	    "min_val_acc %.4f seconds %.1f img/s %.0f\n", r->phase, r->epoch,
	    r->train_loss, r->kd_loss, r->max_val_acc, r->min_val_acc,
	    r->seconds, r->img_per_s);
	fflush(stdout);
}

enum { O_SPACE = 256, O_RECIPE, O_INIT, O_EPOCHS, O_STEPS, O_OUT, O_SEED,
    O_RESUME, O_DB, O_CSV, O_BATCH, O_LR, O_WD, O_VAL, O_THREADS, O_DATA,
    O_CKPT, O_SUBNET, O_SPLIT, O_NORECAL, O_JSON, O_ARCHOUT, O_CKPTOUT,
    O_IMAGES, O_RECAL_IMAGES, O_RECAL_BATCH, O_CKPT_EVERY, O_HELP };

static const struct option opts[] = {
	{ "space", 1, NULL, O_SPACE }, { "recipe", 1, NULL, O_RECIPE },
	{ "init", 1, NULL, O_INIT }, { "epochs", 1, NULL, O_EPOCHS },
	{ "steps", 1, NULL, O_STEPS }, { "out", 1, NULL, O_OUT },
	{ "seed", 1, NULL, O_SEED }, { "resume", 1, NULL, O_RESUME },
	{ "db", 1, NULL, O_DB }, { "csv", 1, NULL, O_CSV },
	{ "batch", 1, NULL, O_BATCH }, { "lr", 1, NULL, O_LR },
	{ "wd", 1, NULL, O_WD }, { "val", 1, NULL, O_VAL },
	{ "threads", 1, NULL, O_THREADS }, { "data", 1, NULL, O_DATA },
	{ "ckpt", 1, NULL, O_CKPT }, { "subnet", 1, NULL, O_SUBNET },
	{ "split", 1, NULL, O_SPLIT }, { "no-recal", 0, NULL, O_NORECAL },
	{ "json", 0, NULL, O_JSON }, { "arch-out", 1, NULL, O_ARCHOUT },
	{ "ckpt-out", 1, NULL, O_CKPTOUT }, { "images", 1, NULL, O_IMAGES },
	{ "recal-images", 1, NULL, O_RECAL_IMAGES },
	{ "recal-batch", 1, NULL, O_RECAL_BATCH },
	{ "checkpoint-every", 1, NULL, O_CKPT_EVERY },
	{ "help", 0, NULL, O_HELP }, { NULL, 0, NULL, 0 },
};

typedef struct args {
	nas_train_cfg tc;
	const char *ckpt, *subnet, *arch_out, *ckpt_out;
	int test, recal, json, images, seed_set;
} args;

static int
parse(const char *cmd, int argc, char **argv, args *a)
{
	long long v;
	double d;
	int c, rc;

	nas_train_defaults(&a->tc);
	a->tc.epochs = 0;
	a->tc.ckpt_secs = CLI_CKPT_SECS;
	a->recal = 1;
	a->test = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		rc = 0;
		switch (c) {
		case O_SPACE: a->tc.space = optarg; break;
		case O_RECIPE:
			if ((a->tc.recipe = nas_recipe_parse(optarg)) < 0)
				return cli_usage_error(cmd, "--recipe must be cnn, "
				    "vanilla, tpi-freeze or tpi-unfreeze (got "
				    "'%s')", optarg);
			break;
		case O_INIT: a->tc.init = optarg; break;
		case O_EPOCHS:
			rc = cli_parse_int(cmd, "--epochs", optarg, 1, 10000, &v);
			a->tc.epochs = (int)v;
			break;
		case O_STEPS:
			rc = cli_parse_int(cmd, "--steps", optarg, 1, 1LL << 40, &v);
			a->tc.steps = v;
			break;
		case O_OUT: a->tc.out = optarg; break;
		case O_CKPT_EVERY:
			rc = cli_parse_int(cmd, "--checkpoint-every", optarg, 0,
			    1LL << 40, &v);
			a->tc.ckpt_every = v;
			a->tc.ckpt_secs = 0;	/* steps, or (0) none */
			break;
		case O_SEED:
			rc = cli_parse_int(cmd, "--seed", optarg, 0, 1LL << 53, &v);
			a->tc.seed = (uint64_t)v;
			a->seed_set = 1;
			break;
		case O_RESUME: a->tc.resume = optarg; break;
		case O_DB: a->tc.db = optarg; break;
		case O_CSV: a->tc.csv = optarg; break;
		case O_BATCH:
			rc = cli_parse_int(cmd, "--batch", optarg, 2, 4096, &v);
			a->tc.batch = (int)v;
			break;
		case O_LR:
			rc = cli_parse_num(cmd, "--lr", optarg, 1e-8, 10, &d);
			a->tc.lr = (float)d;
			break;
		case O_WD:
			rc = cli_parse_num(cmd, "--wd", optarg, 0, 10, &d);
			a->tc.weight_decay = (float)d;
			break;
		case O_VAL:
			rc = cli_parse_int(cmd, "--val", optarg, 0, 50000, &v);
			a->tc.val = (int)v;
			break;
		case O_THREADS:
			rc = cli_parse_int(cmd, "--threads", optarg, 1, 256, &v);
			a->tc.threads = (int)v;
			break;
		case O_DATA: a->tc.data_dir = optarg; break;
		case O_CKPT: a->ckpt = optarg; break;
		case O_SUBNET: a->subnet = optarg; break;
		case O_SPLIT:
			if (strcmp(optarg, "val") != 0 && strcmp(optarg,
			    "test") != 0)
				return cli_usage_error(cmd, "--split must be val or "
				    "test (got '%s')", optarg);
			a->test = strcmp(optarg, "test") == 0;
			break;
		case O_NORECAL: a->recal = 0; break;
		case O_JSON: a->json = 1; break;
		case O_ARCHOUT: a->arch_out = optarg; break;
		case O_CKPTOUT: a->ckpt_out = optarg; break;
		case O_IMAGES:
			rc = cli_parse_int(cmd, "--images", optarg, 1, 60000, &v);
			a->images = (int)v;
			break;
		case O_RECAL_IMAGES:
			rc = cli_parse_int(cmd, "--recal-images", optarg, 1, 60000, &v);
			a->tc.recal_images = (int)v;
			break;
		case O_RECAL_BATCH:
			rc = cli_parse_int(cmd, "--recal-batch", optarg, 1, 4096, &v);
			a->tc.recal_batch = (int)v;
			break;
		case O_HELP:
			fputs(usage, stdout);
			return -1;
		default:
			return cli_usage_error(cmd, "unknown or incomplete option "
			    "'%s' (see h4h supernet --help)", argv[optind - 1]);
		}
		if (rc != 0)
			return rc;
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    argv[optind]);
	return 0;
}

static int
sum_f(void *ctx, float *v, size_t n, h4h_err *err)
{
	(void)ctx;
	return cli_ranks_sum_f(v, n, err);
}

static int
sum_d(void *ctx, double *v, size_t n, h4h_err *err)
{
	(void)ctx;
	return cli_ranks_sum(v, n, err);
}

/* Under mpirun the ranks compare their weights every this many steps,
 * and stop (SIGINT, SIGTERM) together at such a step. */
#define CHECK_EVERY 10

static int
train(int argc, char **argv)
{
	const char *cmd = "supernet train";
	args a;
	view v = { isatty(2), 0 };
	nas_train_hooks h = { &v, show_progress, show_epoch, cli_should_stop };
	h4h_err err;
	int rc, stopped;

	memset(&a, 0, sizeof a);
	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.tc.space == NULL)
		return cli_usage_error(cmd, "--space FILE is required");
	if (a.tc.out == NULL)
		return cli_usage_error(cmd, "--out CKPT is required");
	if ((a.tc.epochs > 0) == (a.tc.steps > 0))
		return cli_usage_error(cmd, "give one of --epochs N or --steps N");
	if (!h4h_writable_place(a.tc.out))
		return cli_usage_error(cmd, "cannot write '%s': no such "
		    "directory or not writable", a.tc.out);
	if (a.tc.csv != NULL && !h4h_writable_place(a.tc.csv))
		return cli_usage_error(cmd, "cannot write '%s': no such "
		    "directory or not writable", a.tc.csv);
	if ((rc = cli_ranks_start(&err)) != 0)
		return cli_fail(cmd, rc, &err);
	nas_train_dist dist = { cli_rank(), cli_ranks(), CHECK_EVERY, NULL,
	    sum_f, sum_d, 0, 0, 0 };
	if (cli_ranks() > 1) {
		/* Data-parallel: rank 0 alone writes and reports. */
		a.tc.dist = &dist;
		if (cli_rank() > 0) {
			a.tc.out = NULL;
			a.tc.csv = NULL;
			a.tc.db = NULL;
			h.progress = NULL;
			h.epoch = NULL;
			v.tty = 0;
		}
	}
	if (cli_rank() == 0)
		cli_sweep_stale(cmd, a.tc.out);
	cli_interrupt_catch();
	rc = nas_train_run(&a.tc, &h, &stopped, NULL, &err);
	/* The other ranks wait for rank 0's checkpoint: a rank that exits
	 * non-zero (130) first makes mpirun stop rank 0 mid-write. */
	if (cli_ranks() > 1)
		cli_ranks_barrier(&(h4h_err){ "" });
	if (rc == 0 && cli_ranks() > 1 && cli_rank() == 0 && dist.allreduces)
		fprintf(stderr, "h4h: supernet: %d ranks, batch %d (%d per "
		    "rank): allreduce of the gradient %.2f ms per step (%lld "
		    "steps, %zu floats)\n", cli_ranks(), a.tc.batch,
		    a.tc.batch / cli_ranks(), 1e3 * dist.allreduce_s /
		    (double)dist.allreduces, (long long)dist.allreduces,
		    dist.slab);
	if (v.tty)
		fputc('\n', stderr);
	if (rc != 0)
		return cli_fail(cmd, rc, &err);
	if (stopped && cli_rank() > 0)
		return 130;
	if (stopped) {
		fprintf(stderr, "h4h: supernet: interrupted; checkpoint written "
		    "to %s (resume with --resume %s)\n", a.tc.out, a.tc.out);
		return 130;
	}
	return 0;
}

/* The subnets --subnet names: min, max, random:N or a GENE.json. */
static int
subnets(const char *cmd, const nas_supernet *s, const char *spec,
    uint64_t seed, nas_gene **out, int *n, h4h_err *err)
{
	int no_vit = s->recipe == NAS_RECIPE_CNN, rc;

	*out = NULL;
	*n = 0;
	if (strcmp(spec, "min") == 0 || strcmp(spec, "max") == 0) {
		*out = h4h_xcalloc(1, sizeof **out);
		*n = 1;
		if (spec[1] == 'i')
			nas_gene_min(s->sp, no_vit, *out);
		else
			nas_gene_max(s->sp, no_vit, *out);
		return 0;
	}
	if (strncmp(spec, "random:", 7) == 0) {
		long long k;
		nn_rng r;

		if ((rc = cli_parse_int(cmd, "--subnet random:N", spec + 7, 1,
		    100000, &k)) != 0)
			return rc;
		*out = h4h_xcalloc((size_t)k, sizeof **out);
		*n = (int)k;
		nn_rng_seed(&r, seed, NN_RNG_TAG_USER + 9);
		for (int i = 0; i < *n; i++)
			nas_gene_sample(s->sp, no_vit, &r, &(*out)[i]);
		return 0;
	}
	*out = h4h_xcalloc(1, sizeof **out);
	*n = 1;
	if ((rc = nas_gene_read_file(s->sp, spec, *out, err)) != 0) {
		free(*out);
		*out = NULL;
		return cli_fail(cmd, rc, err);
	}
	return 0;
}

static int
eval(int argc, char **argv)
{
	const char *cmd = "supernet eval";
	args a;
	nas_supernet s;
	nas_imageset cal, set;
	nas_gene *g = NULL;
	h4h_err err;
	json_t *arr = NULL;
	int rc, n = 0, status = 0;

	memset(&a, 0, sizeof a);
	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.ckpt == NULL || a.subnet == NULL)
		return cli_usage_error(cmd, "--ckpt CKPT and --subnet "
		    "min|max|random:N|GENE.json are required");
	if ((rc = nas_supernet_open(a.ckpt, a.tc.threads, 250, &s, &err)) != 0)
		return cli_fail(cmd, rc, &err);
	if ((rc = subnets(cmd, &s, a.subnet, a.seed_set ? a.tc.seed : s.seed,
	    &g, &n, &err)) != 0) {
		nas_supernet_close(&s);
		return rc;
	}
	if ((rc = nas_supernet_sets(&s, a.tc.data_dir, a.test, a.images, &cal,
	    &set, &err)) != 0) {
		status = cli_fail(cmd, rc, &err);
		goto out;
	}
	if (a.json)
		arr = json_array();
	for (int i = 0; i < n; i++) {
		double acc;
		long long macs;
		char text[512];

		if ((rc = nas_eval_gene(s.sn, s.sp, &g[i], a.recal ? &cal : NULL,
		    &set, s.B, &acc, &macs, &err)) != 0) {
			status = cli_fail(cmd, rc, &err);
			goto out;
		}
		nas_gene_text(s.sp, &g[i], text, sizeof text);
		if (a.json) {
			char *gj = nas_gene_json(s.sp, &g[i]);
			json_t *o = json_object();
			json_error_t je;

			json_object_set_new(o, "accuracy", json_real(acc));
			json_object_set_new(o, "macs", json_integer(macs));
			json_object_set_new(o, "split", json_string(a.test ?
			    "test" : "val"));
			json_object_set_new(o, "images", json_integer(set.n));
			json_object_set_new(o, "recalibrated",
			    json_boolean(a.recal));
			json_object_set_new(o, "canon", json_string(text));
			json_object_set_new(o, "gene", json_loads(gj, 0, &je));
			json_array_append_new(arr, o);
			free(gj);
		} else {
			printf("subnet %s %s_acc %.4f macs %lld\n", text,
			    a.test ? "test" : "val", acc, macs);
		}
	}
	if (a.json) {
		json_t *top = n == 1 ? json_incref(json_array_get(arr, 0)) :
		    json_incref(arr);

		json_dumpf(top, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
		    JSON_REAL_PRECISION(8));
		putchar('\n');
		json_decref(top);
	}
out:
	json_decref(arr);
	nas_imageset_free(&cal);
	nas_imageset_free(&set);
	free(g);
	nas_supernet_close(&s);
	return status;
}

static int
extract(int argc, char **argv)
{
	const char *cmd = "supernet extract";
	args a;
	nas_supernet s;
	nas_gene *g = NULL;
	h4h_err err;
	int rc, n = 0, status = 0;

	memset(&a, 0, sizeof a);
	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.ckpt == NULL || a.subnet == NULL || a.arch_out == NULL ||
	    a.ckpt_out == NULL)
		return cli_usage_error(cmd, "--ckpt, --subnet, --arch-out and "
		    "--ckpt-out are required");
	if (!h4h_writable_place(a.arch_out) || !h4h_writable_place(a.ckpt_out))
		return cli_usage_error(cmd, "cannot write '%s' or '%s': no such "
		    "directory or not writable", a.arch_out, a.ckpt_out);
	if ((rc = nas_supernet_open(a.ckpt, a.tc.threads, 250, &s, &err)) != 0)
		return cli_fail(cmd, rc, &err);
	if ((rc = subnets(cmd, &s, a.subnet, a.seed_set ? a.tc.seed : s.seed,
	    &g, &n, &err)) != 0) {
		nas_supernet_close(&s);
		return rc;
	}
	if (n != 1) {
		status = cli_usage_error(cmd, "extract takes one subnet (got "
		    "random:%d)", n);
		goto out;
	}
	if ((rc = nas_subnet_extract(&s, &g[0], a.tc.data_dir, a.arch_out,
	    a.ckpt_out, &err)) != 0) {
		status = cli_fail(cmd, rc, &err);
		goto out;
	}
	fprintf(stderr, "h4h: supernet: wrote %s (the full-size architecture; "
	    "h4h sim --arch) and %s (h4h eval)\n", a.arch_out, a.ckpt_out);
out:
	free(g);
	nas_supernet_close(&s);
	return status;
}

static int
slim(int argc, char **argv)
{
	const char *cmd = "supernet slim";
	args a;
	h4h_err err;
	int rc;

	memset(&a, 0, sizeof a);
	if ((rc = parse(cmd, argc, argv, &a)) != 0)
		return rc < 0 ? 0 : rc;
	if (a.ckpt == NULL || a.tc.out == NULL)
		return cli_usage_error(cmd, "--ckpt and --out are required");
	if ((rc = nas_supernet_slim(a.ckpt, a.tc.out, &err)) != 0)
		return cli_fail(cmd, rc, &err);
	fprintf(stderr, "h4h: supernet: wrote %s (weights and batch-norm "
	    "statistics; it searches and scores like %s but cannot resume "
	    "training)\n", a.tc.out, a.ckpt);
	return 0;
}

static int
exec_supernet(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "train") == 0)
		return train(argc - 1, argv + 1);
	if (strcmp(argv[1], "eval") == 0)
		return eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "extract") == 0)
		return extract(argc - 1, argv + 1);
	if (strcmp(argv[1], "slim") == 0)
		return slim(argc - 1, argv + 1);
	return cli_usage_error("supernet", "unknown subcommand '%s' (train, "
	    "eval, extract or slim)", argv[1]);
}

const h4h_cmd h4h_cmd_supernet = {
	"supernet", "train, score and extract weight-sharing supernets",
	exec_supernet,
};
