/*
 * cmd_predictor_dataset.c - `h4h predictor dataset`: scores a stratified
 * sample of subnets (nas/accdata.h) on the supernet's validation split and
 * writes the accuracy dataset CSV.
 *
 * Scores go through the accuracy cache (nas/fitness.h): each batch of
 * --batch subnets is stored in one transaction, so a run killed at any
 * point (SIGKILL included) loses at most one batch, and the same command
 * run again scores only what is missing.  The CSV is written atomically
 * at the end.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/atomic.h"
#include "core/clock.h"
#include "nas/accdata.h"
#include "nas/fitness.h"
#include "nas/sntrain.h"

#define CMD "predictor dataset"

enum { O_CKPT = 256, O_DB, O_N, O_SEED, O_CSV, O_VALIMG, O_BATCH, O_CNN,
    O_THREADS, O_DATA, O_HELP };

static const struct option opts[] = {
	{ "ckpt", 1, NULL, O_CKPT }, { "db", 1, NULL, O_DB },
	{ "subnets", 1, NULL, O_N }, { "seed", 1, NULL, O_SEED },
	{ "csv", 1, NULL, O_CSV }, { "val-images", 1, NULL, O_VALIMG },
	{ "batch", 1, NULL, O_BATCH }, { "cnn-only", 0, NULL, O_CNN },
	{ "threads", 1, NULL, O_THREADS }, { "data", 1, NULL, O_DATA },
	{ "help", 0, NULL, O_HELP }, { NULL, 0, NULL, 0 }
};

static const char *usage =
    "usage: h4h predictor dataset --ckpt CKPT --db FILE [--subnets N]\n"
    "                             [--seed S] [--csv OUT] [--val-images N]\n"
    "                             [--batch N] [--cnn-only] [--threads T]\n"
    "                             [--data DIR]\n"
    "Scores N (1000) stratified subnets on the validation split of the\n"
    "checkpoint's own run (all of it unless --val-images), --batch (25) per\n"
    "database transaction, and writes OUT (default: CKPT less .ckpt, plus\n"
    ".acc.csv).  See doc/search.md.\n";

int
cli_predictor_dataset(int argc, char **argv)
{
	const char *ckpt = NULL, *dbp = NULL, *csv = NULL, *data = NULL;
	int n = 1000, batch = 25, val_images = 0, no_vit = 0, threads = 1;
	int o, rc = 0, status = 0, fresh = 0, nimg = 0;
	uint64_t seed = 1;
	long long v;
	char csvbuf[4096];
	nas_supernet sn;
	int sn_open = 0;
	h4h_db *db = NULL;
	nas_fitness *fit = NULL;
	nas_accdata d;
	nas_fitness_stats st;
	h4h_err err;
	double t0;

	memset(&d, 0, sizeof d);
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_CKPT: ckpt = optarg; break;
		case O_DB: dbp = optarg; break;
		case O_CSV: csv = optarg; break;
		case O_DATA: data = optarg; break;
		case O_CNN: no_vit = 1; break;
		case O_N:
			if (cli_parse_int(CMD, "--subnets", optarg, 1, 1000000,
			    &v))
				return 2;
			n = (int)v;
			break;
		case O_SEED:
			if (cli_parse_int(CMD, "--seed", optarg, 0, 1LL << 53,
			    &v))
				return 2;
			seed = (uint64_t)v;
			break;
		case O_VALIMG:
			if (cli_parse_int(CMD, "--val-images", optarg, 0,
			    1000000, &v))
				return 2;
			val_images = (int)v;
			break;
		case O_BATCH:
			if (cli_parse_int(CMD, "--batch", optarg, 1, 100000, &v))
				return 2;
			batch = (int)v;
			break;
		case O_THREADS:
			if (cli_parse_int(CMD, "--threads", optarg, 1, 256, &v))
				return 2;
			threads = (int)v;
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
	if (ckpt == NULL || dbp == NULL)
		return cli_usage_error(CMD, "--ckpt and --db are required (see "
		    "h4h predictor dataset --help)");
	if (csv == NULL) {
		size_t k = strlen(ckpt);

		if (k > 5 && strcmp(ckpt + k - 5, ".ckpt") == 0)
			k -= 5;
		snprintf(csvbuf, sizeof csvbuf, "%.*s.acc.csv", (int)k, ckpt);
		csv = csvbuf;
	}
	if (!h4h_writable_place(csv))
		return cli_usage_error(CMD, "cannot write '%s'", csv);
	if ((rc = nas_supernet_open(ckpt, threads, 0, &sn, &err)) != 0)
		goto fail;
	sn_open = 1;
	if ((rc = h4h_db_open(dbp, H4H_DB_CREATE, &db, &err)) != 0 ||
	    (rc = nas_fitness_open(&sn, ckpt, data, db, val_images, &fit,
	    &err)) != 0)
		goto fail;
	d.n = n;
	d.g = h4h_xcalloc((size_t)n, sizeof *d.g);
	d.acc = h4h_xcalloc((size_t)n, sizeof *d.acc);
	d.res = h4h_xcalloc((size_t)n, sizeof *d.res);
	d.macs = h4h_xcalloc((size_t)n, sizeof *d.macs);
	nas_accdata_sample(sn.sp, n, seed, no_vit, d.g);
	for (int i = 0; i < n; i++) {
		char text[1024];
		double a;

		nas_gene_text(sn.sp, &d.g[i], text, sizeof text);
		fresh += !nas_fitness_lookup(fit, NAS_SPLIT_VAL, text, &a);
	}
	if (fresh > 0 && (rc = nas_fitness_images(fit, NAS_SPLIT_VAL, &nimg,
	    &err)) != 0)
		goto fail;
	fprintf(stderr, "h4h: %s: %d subnets, %d stored, %d to score on %d "
	    "validation images (recalibration %d/%d)\n", CMD, n, n - fresh,
	    fresh, nimg, sn.recal_images, sn.recal_batch);
	t0 = h4h_now_s();
	for (int i = 0; i < n; i += batch) {
		int k = n - i < batch ? n - i : batch;

		if ((rc = nas_fitness_eval(fit, NAS_SPLIT_VAL, d.g + i, k,
		    d.acc + i, &err)) != 0)
			goto fail;
		cli_progress(CMD, i + k, n, h4h_now_s() - t0);
	}
	cli_progress_end();
	for (int i = 0; i < n; i++) {
		nn_sn_active a;

		nas_gene_active(sn.sp, &d.g[i], &a);
		if ((rc = nn_sn_set_active(sn.sn, &a, &err)) != 0)
			goto fail;
		d.macs[i] = nn_sn_macs(sn.sn);
		d.res[i] = nas_gene_resolution(sn.sp, &d.g[i]);
	}
	{
		const char *base = strrchr(ckpt, '/');

		snprintf(d.checkpoint, sizeof d.checkpoint, "%s", base ? base +
		    1 : ckpt);
	}
	snprintf(d.supernet, sizeof d.supernet, "%s",
	    nas_fitness_supernet_id(fit));
	snprintf(d.split, sizeof d.split, "val");
	snprintf(d.settings, sizeof d.settings, "%s",
	    nas_fitness_settings(fit, NAS_SPLIT_VAL));
	snprintf(d.sampling, sizeof d.sampling, "stratified seed=%llu%s",
	    (unsigned long long)seed, no_vit ? " cnn-only" : "");
	if ((rc = nas_accdata_write(csv, sn.sp, &d, &err)) != 0)
		goto fail;
	nas_fitness_get_stats(fit, &st);
	{
		double lo = 1, hi = 0;

		for (int i = 0; i < n; i++) {
			lo = d.acc[i] < lo ? d.acc[i] : lo;
			hi = d.acc[i] > hi ? d.acc[i] : hi;
		}
		printf("accuracy dataset: %d subnets (%lld scored now in %.1f "
		    "s), validation accuracy %.2f..%.2f %%, supernet %s, %s\n"
		    "wrote %s\n", n, st.evals[NAS_SPLIT_VAL],
		    st.seconds[NAS_SPLIT_VAL], 100 * lo, 100 * hi, d.supernet,
		    d.settings, csv);
	}
	goto out;
fail:
	status = cli_fail(CMD, rc, &err);
out:
	nas_accdata_free(&d);
	nas_fitness_close(fit);
	h4h_db_close(db);
	if (sn_open)
		nas_supernet_close(&sn);
	return status;
}
