/*
 * cmd_train.c - `h4h train` and `h4h eval`: the C training engine on
 * Fashion-MNIST (src/nn).
 *
 * Progress (loss, accuracy, images/s, ETA) goes to stderr, one line per
 * epoch to stdout.  SIGINT (Ctrl-C) or SIGTERM finishes the current step,
 * writes the checkpoint (--out, or MODEL-interrupted.ckpt) and exits 130.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "nas/subnet.h"
#include "nn/ckpt.h"
#include "nn/train.h"

static const char *train_usage =
    "usage: h4h train [--model ref-hybrid|ref-cnn] (--epochs N | --steps N)\n"
    "                 [--batch B] [--lr LR] [--min-lr LR] [--wd WD]\n"
    "                 [--warmup STEPS] [--clip NORM] [--smooth EPS]\n"
    "                 [--randaug N,M] [--no-aug] [--val N] [--seed S]\n"
    "                 [--threads T] [--data DIR] [--out CKPT] "
    "[--resume CKPT]\n"
    "                 [--checkpoint-every STEPS]\n"
    "\n"
    "Trains a reference model on Fashion-MNIST with AdamW (decoupled weight\n"
    "decay on conv/linear weights only) and a per-step cosine schedule.\n"
    "Ctrl-C writes the checkpoint and exits 130.\n"
    "\n"
    "  --model M       ref-hybrid (default) or ref-cnn\n"
    "  --epochs N      epochs to train (1..10000); give --epochs or --steps\n"
    "  --steps N       stop after N optimizer steps (the schedule runs over\n"
    "                  N steps); overrides --epochs\n"
    "  --batch B       images per step, 1..4096 (default 128)\n"
    "  --lr LR         peak learning rate, 0..10 (default 2e-3)\n"
    "  --min-lr LR     learning rate at the end of the cosine (default 0)\n"
    "  --wd WD         weight decay on conv and linear weights (default "
    "0.05)\n"
    "  --warmup STEPS  linear warmup over the first steps (default 0)\n"
    "  --clip NORM     clip the global gradient norm (default 0: off)\n"
    "  --smooth EPS    label smoothing, 0..0.99 (default 0)\n"
    "  --randaug N,M   RandAugment: N ops (0..8) at magnitude M (0..30)\n"
    "                  (default off)\n"
    "  --no-aug        no random crop (pad 2), flip or RandAugment\n"
    "  --val N         training images held out for validation, 0..59999\n"
    "                  (default 5000)\n"
    "  --seed S        seeds the weights, split, data order and\n"
    "                  augmentation (default 1)\n"
    "  --threads T     OpenMP threads, 1..256 (default 2)\n"
    "  --data DIR      the Fashion-MNIST IDX files (default\n"
    "                  /usr/share/datasets/fashion-mnist)\n"
    "  --out CKPT      checkpoint written when the run ends or is\n"
    "                  interrupted (without it, nothing is written)\n"
    "  --resume CKPT   continue a run from its checkpoint (the other\n"
    "                  options must give the same recipe)\n"
    "  --checkpoint-every STEPS\n"
    "                  also write the checkpoint (--out, or\n"
    "                  MODEL-interrupted.ckpt) every STEPS steps (0: only\n"
    "                  at the end; default: every 5 minutes), so that\n"
    "                  --resume continues a killed run\n";

/* 1 for a subnet checkpoint, 0 for another or an unreadable one (the
 * reference path reports that). */
static int
ckpt_is_subnet(const char *path)
{
	nn_ckpt *ck;
	h4h_err err;
	int yes;

	if (nn_ckpt_read(path, &ck, &err) != 0)
		return 0;
	yes = nas_subnet_is_ckpt(nn_ckpt_meta(ck));
	nn_ckpt_destroy(ck);
	return yes;
}

static const char *eval_usage =
    "usage: h4h eval --ckpt CKPT [--data DIR] [--threads T]\n"
    "\n"
    "Prints the checkpoint's top-1 accuracy on the 10,000 Fashion-MNIST\n"
    "test images.\n"
    "\n"
    "  --ckpt CKPT     the checkpoint (required)\n"
    "  --data DIR      the Fashion-MNIST IDX files (default\n"
    "                  /usr/share/datasets/fashion-mnist)\n"
    "  --threads T     OpenMP threads, 1..256 (default 2)\n";

typedef struct view {
	int tty;
	double last;
} view;

static void
show_progress(void *ctx, const nn_train_progress *p)
{
	view *v = ctx;

	/* A terminal gets a live line; logs get one line per 10%. */
	if (v->tty) {
		if (p->elapsed_s - v->last < 0.25 && p->step != p->total_steps)
			return;
		v->last = p->elapsed_s;
		fprintf(stderr, "\rh4h: train: epoch %d/%d step %lld/%lld loss "
		    "%.4f acc %.4f %.0f img/s ETA %.0fs ", p->epoch, p->epochs,
		    (long long)p->step, (long long)p->total_steps, p->loss,
		    p->acc, p->img_per_s, p->eta_s);
		return;
	}
	if (p->step * 10 / p->total_steps != (p->step - 1) * 10 /
	    p->total_steps)
		fprintf(stderr, "h4h: train: step %lld/%lld loss %.4f acc %.4f "
		    "%.0f img/s ETA %.0fs\n", (long long)p->step,
		    (long long)p->total_steps, p->loss, p->acc, p->img_per_s,
		    p->eta_s);
}

static void
show_epoch(void *ctx, const nn_epoch_report *r)
{
	view *v = ctx;

	if (v->tty)
		fputc('\n', stderr);
	char val[16];

	if (r->val_acc < 0)
		snprintf(val, sizeof val, "-");	/* --val 0 */
	else
		snprintf(val, sizeof val, "%.4f", r->val_acc);
	printf("epoch %d train_loss %.4f train_acc %.4f val_acc %s seconds "
	    "%.1f img/s %.0f\n", r->epoch, r->train_loss, r->train_acc, val,
	    r->seconds, r->img_per_s);
	fflush(stdout);
}

static int
train_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "epochs", required_argument, NULL, 'e' },
		{ "steps", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "lr", required_argument, NULL, 'l' },
		{ "min-lr", required_argument, NULL, 'L' },
		{ "wd", required_argument, NULL, 'w' },
		{ "warmup", required_argument, NULL, 'W' },
		{ "clip", required_argument, NULL, 'c' },
		{ "smooth", required_argument, NULL, 'S' },
		{ "randaug", required_argument, NULL, 'R' },
		{ "no-aug", no_argument, NULL, 'A' },
		{ "val", required_argument, NULL, 'V' },
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "data", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "resume", required_argument, NULL, 'r' },
		{ "checkpoint-every", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	nn_train_cfg cfg;
	nn_train_hooks hooks;
	view v = { isatty(STDERR_FILENO), -1 };
	h4h_err err = { "" };
	char fallback[128];
	double d;
	long long i;
	int c, rc, stopped = 0, have_len = 0;

	nn_train_defaults(&cfg);
	cfg.epochs = 0;
	cfg.ckpt_secs = CLI_CKPT_SECS;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			cfg.model = optarg;
			break;
		case 'e':
			if ((rc = cli_parse_int("train", "--epochs", optarg, 1, 10000,
			    &i)))
				return rc;
			cfg.epochs = (int)i;
			have_len = 1;
			break;
		case 'n':
			if ((rc = cli_parse_int("train", "--steps", optarg, 1,
			    1000000000000LL, &i)))
				return rc;
			cfg.steps = (int64_t)i;
			have_len = 1;
			break;
		case 'b':
			if ((rc = cli_parse_int("train", "--batch", optarg, 1, 4096,
			    &i)))
				return rc;
			cfg.batch = (int)i;
			break;
		case 'l':
			if ((rc = cli_parse_num("train", "--lr", optarg, 0, 10, &d)))
				return rc;
			cfg.lr = (float)d;
			break;
		case 'L':
			if ((rc = cli_parse_num("train", "--min-lr", optarg, 0, 10, &d)))
				return rc;
			cfg.min_lr = (float)d;
			break;
		case 'w':
			if ((rc = cli_parse_num("train", "--wd", optarg, 0, 10, &d)))
				return rc;
			cfg.weight_decay = (float)d;
			break;
		case 'W':
			if ((rc = cli_parse_int("train", "--warmup", optarg, 0,
			    1000000000, &i)))
				return rc;
			cfg.warmup_steps = (int)i;
			break;
		case 'c':
			if ((rc = cli_parse_num("train", "--clip", optarg, 0, 1e6, &d)))
				return rc;
			cfg.clip = (float)d;
			break;
		case 'S':
			if ((rc = cli_parse_num("train", "--smooth", optarg, 0, 0.99, &d)))
				return rc;
			cfg.smooth = (float)d;
			break;
		case 'R':
			if (sscanf(optarg, "%d,%d", &cfg.ra_n, &cfg.ra_m) != 2 ||
			    cfg.ra_n < 0 || cfg.ra_n > 8 || cfg.ra_m < 0 ||
			    cfg.ra_m > 30)
				return cli_usage_error("train", "--randaug must be "
				    "N,M with N in 0..8 and M in 0..30 (got '%s')",
				    optarg);
			break;
		case 'A':
			cfg.crop_pad = cfg.hflip = cfg.ra_n = 0;
			break;
		case 'V':
			if ((rc = cli_parse_int("train", "--val", optarg, 0, 59999,
			    &i)))
				return rc;
			cfg.val = (int)i;
			break;
		case 's':
			if ((rc = cli_parse_int("train", "--seed", optarg, 0,
			    1000000000000000000LL, &i)))
				return rc;
			cfg.seed = (uint64_t)i;
			break;
		case 't':
			if ((rc = cli_parse_int("train", "--threads", optarg, 1, 256,
			    &i)))
				return rc;
			cfg.threads = (int)i;
			break;
		case 'd':
			cfg.data_dir = optarg;
			break;
		case 'o':
			cfg.out = optarg;
			break;
		case 'r':
			cfg.resume = optarg;
			break;
		case 'K':
			if ((rc = cli_parse_int("train", "--checkpoint-every",
			    optarg, 0, 1LL << 40, &i)))
				return rc;
			cfg.ckpt_every = i;
			cfg.ckpt_secs = 0;	/* steps, or (0) none */
			break;
		case 'h':
			fputs(train_usage, stdout);
			return 0;
		default:
			return cli_usage_error("train", "unknown option or missing "
			    "value: '%s' (see h4h train --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("train", "unexpected argument '%s'",
		    argv[optind]);
	if (!have_len)
		return cli_usage_error("train", "give --epochs N or --steps N");
	if (cfg.epochs == 0)
		cfg.epochs = 1;
	snprintf(fallback, sizeof fallback, "%s-interrupted.ckpt", cfg.model);
	cfg.stop_out = fallback;
	cli_sweep_stale("train", cfg.out ? cfg.out : fallback);
	cli_interrupt_catch();
	hooks = (nn_train_hooks){ &v, show_progress, show_epoch,
	    cli_should_stop };
	rc = nn_train_run(&cfg, &hooks, &stopped, &err);
	if (rc != 0)
		return cli_fail("train", rc, &err);
	if (stopped) {
		fprintf(stderr, "h4h: train: interrupted; checkpoint written to "
		    "%s (continue with --resume)\n", cfg.out ? cfg.out :
		    fallback);
		return 130;
	}
	return 0;
}

static int
eval_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ckpt", required_argument, NULL, 'c' },
		{ "data", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ckpt = NULL, *data = NULL;
	int threads = 2, c, rc;
	long long i;
	double acc;
	char model[512];	/* a subnet checkpoint names its gene */
	h4h_err err = { "" };

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ckpt = optarg;
			break;
		case 'd':
			data = optarg;
			break;
		case 't':
			if ((rc = cli_parse_int("eval", "--threads", optarg, 1, 256,
			    &i)))
				return rc;
			threads = (int)i;
			break;
		case 'h':
			fputs(eval_usage, stdout);
			return 0;
		default:
			return cli_usage_error("eval", "unknown option or missing "
			    "value: '%s' (see h4h eval --help)",
			    argv[optind - 1]);
		}
	}
	if (ckpt == NULL || optind < argc)
		return cli_usage_error("eval", "usage: h4h eval --ckpt CKPT "
		    "[--data DIR] [--threads T]");
	if (ckpt_is_subnet(ckpt)) {
		/* a subnet taken out of a supernet (h4h supernet extract) */
		if ((rc = nas_subnet_eval_ckpt(ckpt, data, threads, &acc, model,
		    sizeof model, &err)) != 0)
			return cli_fail("eval", rc, &err);
		printf("model h4h-subnet %s test_acc %.4f\n", model, acc);
		return 0;
	}
	if ((rc = nn_eval_ckpt(ckpt, data, threads, &acc, model, sizeof model,
	    &err)) != 0)
		return cli_fail("eval", rc, &err);
	printf("model %s test_acc %.4f\n", model, acc);
	return 0;
}

const h4h_cmd h4h_cmd_train = {
	.name = "train",
	.summary = "train a reference model on Fashion-MNIST (C engine)",
	.exec = train_exec,
};

const h4h_cmd h4h_cmd_eval = {
	.name = "eval",
	.summary = "test accuracy of a training checkpoint",
	.exec = eval_exec,
};
