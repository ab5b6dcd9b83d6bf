/*
 * fitness.h - the search's real accuracy evaluations: a subnet of a trained
 * supernet scored on the validation (or test) images after BN
 * recalibration (recal.h), with every score cached in the SQLite database
 * (table subnet_accuracy, doc/database.md).
 *
 * The cache key is (supernet, split, settings, gene): the supernet is the
 * FNV-1a hash of the checkpoint file's bytes, so retraining gives a new
 * key and a copied checkpoint keeps its scores; settings names what else
 * decides a score (calibration images and batch, images scored); the gene
 * is its canonical text.  Scores are pure functions of the weights, so a
 * cached score equals a recomputed one.  Each batch of new scores is
 * stored in one transaction, so a killed search loses at most the batch
 * it was computing.
 */
#ifndef H4H_NAS_FITNESS_H
#define H4H_NAS_FITNESS_H

#include "core/err.h"
#include "nas/gene.h"
#include "nas/recal.h"
#include "nas/sntrain.h"
#include "cost/db.h"

enum { NAS_SPLIT_VAL, NAS_SPLIT_TEST };

typedef struct nas_fitness nas_fitness;

typedef struct nas_fitness_stats {
	long long evals[2];		/* real evaluations per split */
	long long hits[2];		/* answered from the cache */
	double seconds[2];		/* spent evaluating */
} nas_fitness_stats;

/* sn stays the caller's; db may be NULL (no persistent cache); val_images
 * > 0 scores the first that many validation images (0: all). */
int nas_fitness_open(nas_supernet *sn, const char *ckpt_path,
    const char *data_dir, h4h_db *db, int val_images, nas_fitness **out,
    h4h_err *err);
void nas_fitness_close(nas_fitness *f);
/* Accuracies in [0, 1] of n subnets on a split; misses are evaluated and
 * stored as one batch. */
int nas_fitness_eval(nas_fitness *f, int split, const nas_gene *g, int n,
    double *acc, h4h_err *err);
void nas_fitness_get_stats(const nas_fitness *f, nas_fitness_stats *s);
/* "0123456789abcdef": the checkpoint's content hash. */
const char *nas_fitness_supernet_id(const nas_fitness *f);

#endif
