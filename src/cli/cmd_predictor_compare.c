/*
 * cmd_predictor_compare.c - `h4h predictor compare`: fits every accuracy
 * predictor on an accuracy dataset and prints Spearman's rho and Kendall's
 * tau by cross-validation and on a held-out part (nas/predictor.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/search_out.h"
#include "core/clock.h"
#include "nas/accdata.h"
#include "nas/predictor.h"
#include "nas/sntrain.h"

#define CMD "predictor compare"

enum { O_CSV = 256, O_CKPT, O_SPACE, O_MODELS, O_FOLDS, O_HOLD, O_SEED,
    O_RECORD, O_HELP };

static const struct option opts[] = {
	{ "csv", 1, NULL, O_CSV }, { "ckpt", 1, NULL, O_CKPT },
	{ "space", 1, NULL, O_SPACE }, { "models", 1, NULL, O_MODELS },
	{ "folds", 1, NULL, O_FOLDS }, { "holdout", 1, NULL, O_HOLD },
	{ "seed", 1, NULL, O_SEED }, { "record", 0, NULL, O_RECORD },
	{ "help", 0, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

static const char *usage =
    "usage: h4h predictor compare --csv FILE [--ckpt CKPT | --space FILE]\n"
    "                             [--models ridge,mlp,forest] [--folds K]\n"
    "                             [--holdout F] [--seed S] [--record]\n"
    "Shuffles the dataset (--seed 1), holds out the fraction F (0.2),\n"
    "cross-validates each model K-fold (5) on the rest, fits it on all of\n"
    "the rest and scores the held-out part.  The space comes from the\n"
    "checkpoint, --space, or spaces/NAME.json for the dataset's space.\n"
    "--record writes the best model into the dataset's '# predictor:'\n"
    "line, which searches from the dataset then use without comparing.\n";

/* Model names "a,b,c" into kinds; the count, or -1 with the bad name. */
int
cli_parse_models(const char *arg, int *kinds, char *bad, size_t nbad)
{
	char buf[256], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof buf, "%s", arg);
	for (char *t = strtok_r(buf, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		int k = nas_pred_parse(t);

		if (k < 0 || n == NAS_PRED_COUNT) {
			snprintf(bad, nbad, "%s", t);
			return -1;
		}
		kinds[n++] = k;
	}
	return n;
}

int
cli_predictor_compare(int argc, char **argv)
{
	const char *csv = NULL, *ckpt = NULL, *space = NULL;
	int kinds[NAS_PRED_COUNT] = { NAS_PRED_RIDGE, NAS_PRED_MLP,
	    NAS_PRED_FOREST }, nk = NAS_PRED_COUNT, o, rc, status = 0, best;
	int record = 0;
	nas_pred_cmp_cfg cfg = { 5, 0.2, 1 };
	nas_pred_eval ev[NAS_PRED_COUNT];
	nas_space *sp = NULL;
	nas_supernet sn;
	int sn_open = 0;
	nas_accdata d;
	h4h_err err;
	long long v;
	double x, t0;
	char bad[64], buf[4096], path[600];

	memset(&d, 0, sizeof d);
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_CSV: csv = optarg; break;
		case O_CKPT: ckpt = optarg; break;
		case O_SPACE: space = optarg; break;
		case O_MODELS:
			if ((nk = cli_parse_models(optarg, kinds, bad,
			    sizeof bad)) <= 0)
				return cli_usage_error(CMD, "--models: unknown "
				    "model '%s' (ridge, mlp or forest)", bad);
			break;
		case O_FOLDS:
			if (cli_parse_int(CMD, "--folds", optarg, 2, 20, &v))
				return 2;
			cfg.folds = (int)v;
			break;
		case O_HOLD:
			if (cli_parse_num(CMD, "--holdout", optarg, 0.05, 0.5,
			    &x))
				return 2;
			cfg.holdout = x;
			break;
		case O_SEED:
			if (cli_parse_int(CMD, "--seed", optarg, 0, 1LL << 53,
			    &v))
				return 2;
			cfg.seed = (uint64_t)v;
			break;
		case O_RECORD: record = 1; break;
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
	if (csv == NULL)
		return cli_usage_error(CMD, "--csv is required (an accuracy "
		    "dataset: h4h predictor dataset writes one)");
	if (ckpt != NULL) {
		if ((rc = nas_supernet_open(ckpt, 1, 0, &sn, &err)) != 0)
			goto fail;
		sn_open = 1;
	} else {
		if (space == NULL) {
			/* the dataset names its space */
			FILE *fp = fopen(csv, "r");
			char line[512], name[64] = "";

			while (fp && fgets(line, sizeof line, fp) &&
			    line[0] == '#')
				if (sscanf(line, "# space: %63s", name) == 1)
					break;
			if (fp)
				fclose(fp);
			if (name[0] == '\0')
				return cli_usage_error(CMD, "'%s' names no "
				    "space: give --space or --ckpt", csv);
			snprintf(path, sizeof path, "spaces/%s.json", name);
			space = cli_shipped(path, buf, sizeof buf);
		}
		if ((rc = nas_space_load(space, &sp, &err)) != 0)
			goto fail;
	}
	if ((rc = nas_accdata_read(csv, sn_open ? sn.sp : sp, &d, &err)) != 0)
		goto fail;
	printf("accuracy dataset %s: %d subnets, supernet %s, %s split, %s\n",
	    csv, d.n, d.supernet, d.split, d.settings);
	printf("%d-fold cross-validation on %d, held out %d (seed %llu)\n",
	    cfg.folds, d.n - (int)(cfg.holdout * d.n + 0.5),
	    (int)(cfg.holdout * d.n + 0.5), (unsigned long long)cfg.seed);
	printf("%-8s %16s %8s %9s %9s %8s\n", "model", "cv rho (sd)",
	    "cv tau", "held rho", "held tau", "seconds");
	for (int k = 0; k < nk; k++) {
		t0 = h4h_now_s();
		if ((rc = nas_predictor_compare(sn_open ? sn.sp : sp, d.g,
		    d.acc, d.n, &cfg, &kinds[k], 1, &ev[k], &err)) != 0)
			goto fail;
		printf("%-8s %8.3f (%.3f) %8.3f %9.3f %9.3f %8.1f\n",
		    nas_pred_name(kinds[k]), ev[k].cv_rho, ev[k].cv_rho_sd,
		    ev[k].cv_tau, ev[k].rho, ev[k].tau, h4h_now_s() - t0);
	}
	best = nas_pred_best(ev, nk);
	printf("best by cross-validated rho: %s (held-out rho %.3f, tau "
	    "%.3f)\n", nas_pred_name(ev[best].kind), ev[best].rho,
	    ev[best].tau);
	if (record) {
		snprintf(d.predictor, sizeof d.predictor, "%s cv-rho=%.3f "
		    "held-rho=%.3f held-tau=%.3f folds=%d holdout=%.2f seed=%llu "
		    "models=%d", nas_pred_name(ev[best].kind), ev[best].cv_rho,
		    ev[best].rho, ev[best].tau, cfg.folds, cfg.holdout,
		    (unsigned long long)cfg.seed, nk);
		if ((rc = nas_accdata_write(csv, sn_open ? sn.sp : sp, &d,
		    &err)) != 0)
			goto fail;
		printf("recorded in %s: # predictor: %s\n", csv, d.predictor);
	}
	goto out;
fail:
	status = cli_fail(CMD, rc, &err);
out:
	nas_accdata_free(&d);
	nas_space_destroy(sp);
	if (sn_open)
		nas_supernet_close(&sn);
	return status;
}
