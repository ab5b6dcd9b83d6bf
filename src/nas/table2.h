/*
 * table2.h - the paper's Table 2 reproduced: the four recipes (cnn,
 * vanilla, tpi-freeze, tpi-unfreeze) trained under one stated budget per
 * seed, and the min and max subnets of each scored on the test set after
 * BN recalibration (doc/results.md).
 *
 * Per seed S the runs are DIR/seedS/RECIPE.ckpt with their epoch logs
 * RECIPE.csv; the two TPI recipes start phase 2 from the cnn run's
 * checkpoint (phase 1 is trained once and shared, as the paper's phase 1 is
 * the CNN-only supernet).  A finished run leaves DIR/seedS/RECIPE.json with
 * its scores, and an interrupted run its checkpoint, so a rerun of the same
 * command resumes where it stopped.
 */
#ifndef H4H_NAS_TABLE2_H
#define H4H_NAS_TABLE2_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "nas/sntrain.h"

#define NAS_TABLE2_MAX_SEEDS 16

typedef struct nas_table2_cfg {
	const char *space;
	const char *out;		/* DIR */
	int n_seeds;
	uint64_t seeds[NAS_TABLE2_MAX_SEEDS];
	const char *budget;		/* "default" or "smoke" */
	const char *results;		/* a Markdown file to splice the table
					 * into (NULL: none) */
	const char *command;		/* the command line, for the report */
	int threads;			/* per run */
	int jobs;			/* runs at once (1: one after the
					 * other; 2: cnn with vanilla, then
					 * the two TPI runs, as processes) */
	const char *data_dir;
} nas_table2_cfg;

typedef struct nas_table2_hooks {
	void *ctx;
	/* a run starts (recipe, seed) */
	void (*run)(void *ctx, const char *recipe, uint64_t seed);
	const nas_train_hooks *train;	/* passed to every run */
	int (*stop)(void *ctx);
} nas_table2_hooks;

int nas_table2_run(const nas_table2_cfg *cfg, const nas_table2_hooks *hooks,
    int *stopped, h4h_err *err);

/* The budget's settings applied to a training configuration; -1 if the
 * name is unknown.  describe gets one line for the report. */
int nas_table2_budget(const char *name, nas_train_cfg *c, int *test_images,
    char *describe, size_t n);

#endif
