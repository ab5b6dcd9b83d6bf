/*
 * train.h - training and evaluating the reference models on
 * Fashion-MNIST: the recipe (AdamW, cosine schedule with warmup, clipping,
 * crop + flip (+ RandAugment)), checkpoints with resume, and test accuracy.
 *
 * A run is a pure function of its configuration and seed: a run stopped at
 * any step and resumed from its checkpoint continues the same loss curve
 * (the checkpoint holds weights, moments, batch-norm statistics, the step,
 * the data iterator's position and the configuration).
 */
#ifndef H4H_NN_TRAIN_H
#define H4H_NN_TRAIN_H

#include <stdint.h>

#include "core/err.h"

typedef struct nn_train_cfg {
	const char *model;		/* "ref-hybrid" or "ref-cnn" */
	int epochs;			/* used when steps == 0 */
	int64_t steps;			/* stop after this many steps (0: off) */
	int batch;
	float lr, min_lr, weight_decay, clip, smooth;
	int warmup_steps;
	int crop_pad, hflip, ra_n, ra_m;
	int val;			/* validation images from train */
	uint64_t seed;
	int threads;
	const char *data_dir;		/* NULL: Debian's path */
	const char *out;		/* checkpoint to write (NULL: none) */
	const char *stop_out;		/* written instead when a run without
					 * `out` is stopped (NULL: none) */
	const char *resume;		/* checkpoint to continue (NULL: new) */
	/* Checkpoints during the run, to `out` (or `stop_out`), each one
	 * atomic, so that a SIGKILL loses at most the work since the last:
	 * every ckpt_every steps, and every ckpt_secs seconds of wall time
	 * (0: not by that rule).  Neither changes what is trained. */
	int64_t ckpt_every;
	double ckpt_secs;
} nn_train_cfg;

/* The recipe: AdamW lr 2e-3, wd 0.05, batch 128, cosine to 0,
 * crop pad 2 + flip, 5000 validation images, seed 1, 2 threads. */
void nn_train_defaults(nn_train_cfg *c);

typedef struct nn_train_progress {
	int64_t step, total_steps;
	int epoch, epochs;
	float loss, acc;		/* running, over the epoch so far */
	double img_per_s, elapsed_s, eta_s;
} nn_train_progress;

typedef struct nn_epoch_report {
	int epoch;
	float train_loss, train_acc, val_acc;	/* val_acc -1: no val set */
	double seconds, img_per_s;
} nn_epoch_report;

typedef struct nn_train_hooks {
	void *ctx;
	void (*progress)(void *ctx, const nn_train_progress *p);
	void (*epoch)(void *ctx, const nn_epoch_report *r);
	/* Polled after every step: nonzero stops the run (a checkpoint is
	 * written to cfg->out, or cfg->stop_out when out is NULL). */
	int (*stop)(void *ctx);
} nn_train_hooks;

/* Trains; *stopped tells whether stop() ended it early. */
int nn_train_run(const nn_train_cfg *cfg, const nn_train_hooks *hooks,
    int *stopped, h4h_err *err);

/* Test accuracy of a checkpoint on Fashion-MNIST's 10,000 test images. */
int nn_eval_ckpt(const char *ckpt, const char *data_dir, int threads,
    double *acc, char *model, size_t model_len, h4h_err *err);

#endif
