/*
 * sntrain.h - training a weight-sharing supernet with one of the paper's
 * recipes (Sec. 4.1, Table 2; doc/nas.md):
 *
 *   cnn           the CNN-only supernet: every vit depth forced to 0 (a
 *                 subset of the hybrid space), one phase;
 *   vanilla       the hybrid supernet in one phase;
 *   tpi-freeze    two-phase incremental: phase 1 is `cnn`; phase 2 loads
 *                 it into the hybrid and trains only the vit blocks and
 *                 every batch norm (the CNN weights are frozen);
 *   tpi-unfreeze  as tpi-freeze, but phase 2 trains everything.
 *
 * Every step is a sandwich step (sandwich.h) and one AdamW step.  Tensors
 * that get no gradient in a phase are outside its optimizer table, so
 * weight decay never shrinks them.  Phase 2 starts a fresh optimizer and
 * schedule on the phase-1 weights: from --init (a cnn checkpoint of the
 * same space) or, without it, after running phase 1 itself on the same
 * budget.  A run is a pure function of its configuration and seed: a run
 * stopped at any step and resumed from its checkpoint takes the same
 * steps, bit for bit.
 *
 * After every epoch the max and min subnets are recalibrated (recal.h) and
 * scored on the validation images; the epoch log goes to the progress
 * hooks, to --csv (rewritten atomically) and into the SQLite database.
 */
#ifndef H4H_NAS_SNTRAIN_H
#define H4H_NAS_SNTRAIN_H

#include <stdint.h>

#include "core/err.h"
#include "nas/recal.h"
#include "nas/space.h"
#include "nn/ckpt.h"
#include "nn/ctx.h"
#include "nn/supernet.h"

typedef enum nas_recipe {
	NAS_RECIPE_CNN,
	NAS_RECIPE_VANILLA,
	NAS_RECIPE_TPI_FREEZE,
	NAS_RECIPE_TPI_UNFREEZE,
	NAS_RECIPE_COUNT
} nas_recipe;

const char *nas_recipe_name(int r);
/* -1 if unknown. */
int nas_recipe_parse(const char *name);

/* Data-parallel training over ranks (doc/scale.md).  Every rank runs the
 * same configuration and reads the same global batch; rank r takes its
 * share of the batch's rows, [k r / N, k (r + 1) / N), runs the sandwich
 * step on it with its own batch-norm statistics (per rank, as OFA with
 * Horovod), scales its gradient by its share of the rows, and `sum` adds
 * the gradient slabs over the ranks in place (one allreduce per step), so
 * each rank takes the same AdamW step on the same weights.  After every
 * step the ranks agree on stopping (`sum_d` of three doubles); every
 * check_every steps, and at the end, they also compare a hash of their
 * weights: a difference is an error naming the rank.
 * Only rank 0 validates, and the caller gives only rank 0 outputs (out,
 * csv, db).  NULL in nas_train_cfg: one process. */
typedef struct nas_train_dist {
	int rank, size;
	int check_every;
	void *ctx;
	int (*sum)(void *ctx, float *v, size_t n, h4h_err *err);
	int (*sum_d)(void *ctx, double *v, size_t n, h4h_err *err);
	double allreduce_s;	/* out: seconds in `sum` (waiting for the
				 * slowest rank included) */
	int64_t allreduces;	/* out: its calls */
	size_t slab;		/* out: floats in the gradient slab */
} nas_train_dist;

typedef struct nas_train_cfg {
	const char *space;		/* space file */
	int recipe;			/* nas_recipe */
	const char *init;		/* phase-1 checkpoint (tpi-*); NULL */
	int epochs;			/* per phase, when steps == 0 */
	int64_t steps;			/* per phase (0: use epochs) */
	int batch;			/* 128 */
	float lr, min_lr, weight_decay, clip;	/* 2e-3, 0, 0.05, 1.0 */
	int warmup_steps;
	float smooth, dropout, dropconnect;	/* 0.1, 0.2, 0.2 */
	int n_random;			/* 2 */
	int crop_pad, hflip;		/* 2, 1 */
	int val;			/* validation images (5000) */
	int recal_images, recal_batch;	/* 2000, 200 */
	int eval_images;		/* per-epoch validation images scored
					 * (0: all of val) */
	uint64_t seed;
	int threads;
	const char *data_dir;		/* NULL: Debian's */
	const char *out;		/* checkpoint */
	const char *stop_out;		/* written when stopped without out */
	const char *resume;
	const char *csv;		/* epoch log (NULL: none) */
	const char *db;			/* SQLite database (NULL: none) */
	/* Periodic atomic checkpoints to `out` during the run, as
	 * nn_train_cfg's: every ckpt_every steps of a phase, every
	 * ckpt_secs seconds (0: not by that rule). */
	int64_t ckpt_every;
	double ckpt_secs;
	nas_train_dist *dist;		/* NULL: one process */
} nas_train_cfg;

void nas_train_defaults(nas_train_cfg *c);

typedef struct nas_train_progress {
	int phase, phases;
	int64_t step, total_steps;	/* within the phase */
	int epoch, epochs;
	float loss, acc, kd;
	double img_per_s, elapsed_s, eta_s;
} nas_train_progress;

typedef struct nas_epoch_report {
	int phase, epoch;
	int64_t step;
	float train_loss, train_acc, kd_loss;
	double max_val_acc, min_val_acc;	/* after recalibration */
	double seconds, img_per_s;
	double step_ms;			/* mean wall time per sandwich step */
} nas_epoch_report;

typedef struct nas_train_hooks {
	void *ctx;
	void (*progress)(void *ctx, const nas_train_progress *p);
	void (*epoch)(void *ctx, const nas_epoch_report *r);
	int (*stop)(void *ctx);		/* polled after every step */
} nas_train_hooks;

/* Totals of a finished run, for reports (Table 2's compute column). */
typedef struct nas_train_summary {
	double seconds[2];		/* wall time per phase */
	double step_ms[2];		/* mean step time per phase */
	int64_t steps[2];
	double max_val_acc, min_val_acc;	/* the last epoch's */
} nas_train_summary;

int nas_train_run(const nas_train_cfg *cfg, const nas_train_hooks *hooks,
    int *stopped, nas_train_summary *sum, h4h_err *err);

/* A trained supernet read back from its checkpoint, which carries its
 * search space (so no space file is needed) and the seeds of its
 * validation split and calibration set. */
typedef struct nas_supernet {
	nn_ctx *ctx;
	nas_space *sp;
	nn_sn *sn;
	int B;			/* its batch */
	int recipe;
	uint64_t seed;
	int val, recal_images, recal_batch;
} nas_supernet;

int nas_supernet_open(const char *ckpt, int threads, int B,
    nas_supernet *out, h4h_err *err);
void nas_supernet_close(nas_supernet *s);
/* The calibration set the run used, and its validation images (test 0)
 * or the test images (test 1); n > 0 keeps the first n.  set NULL: the
 * calibration set only. */
int nas_supernet_sets(const nas_supernet *s, const char *data_dir, int test,
    int n, nas_imageset *cal, nas_imageset *set, h4h_err *err);
/* A copy of a supernet checkpoint without the optimizer's moments
 * (adam_m.*, adam_v.*), marked slim=1: it opens with nas_supernet_open
 * like the original, and --resume refuses it. */
int nas_supernet_slim(const char *in, const char *out, h4h_err *err);
/* The space's JSON texts into a checkpoint, and back. */
int nas_ckpt_add_space(nn_ckpt *ck, const nas_space *sp, h4h_err *err);
int nas_ckpt_space(const nn_ckpt *ck, const char *path, nas_space **sp,
    h4h_err *err);

#endif
