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
	long long recal_reused;		/* recalibrations kept from an
					 * earlier score of the same gene */
} nas_fitness_stats;

/* sn stays the caller's; db may be NULL (no persistent cache); val_images
 * > 0 scores the first that many validation images (0: all). */
int nas_fitness_open(nas_supernet *sn, const char *ckpt_path,
    const char *data_dir, h4h_db *db, int val_images, nas_fitness **out,
    h4h_err *err);
void nas_fitness_close(nas_fitness *f);
/* Sharing the real evaluations among ranks that run the same search in
 * step (mpirun -np N h4h search, doc/scale.md): the misses of each
 * nas_fitness_eval are dealt round-robin (miss j to rank j % size), each
 * rank scores its own, and sum_d adds the ranks' vectors (each rank fills
 * its own entries) so that every rank gets every score, caches it and
 * stores it in its database, and the searches stay in step.  The caller
 * keeps d alive. */
typedef struct nas_fitness_dist {
	int rank, size;
	void *ctx;
	int (*sum_d)(void *ctx, double *v, size_t n, h4h_err *err);
} nas_fitness_dist;
void nas_fitness_set_dist(nas_fitness *f, const nas_fitness_dist *d);

/* Accuracies in [0, 1] of n subnets on a split; misses are evaluated and
 * stored as one batch. */
int nas_fitness_eval(nas_fitness *f, int split, const nas_gene *g, int n,
    double *acc, h4h_err *err);
void nas_fitness_get_stats(const nas_fitness *f, nas_fitness_stats *s);
/* Images in a split's set (loads it). */
int nas_fitness_images(nas_fitness *f, int split, int *n, h4h_err *err);
/* A real evaluation that keeps the per-image results: right[i] = 1 when
 * image i of the split is classified right (right: nas_fitness_images
 * bytes), for paired intervals (stats.h).  Kept in memory for the
 * process; the accuracy goes into the cache too. */
int nas_fitness_eval_right(nas_fitness *f, int split, const nas_gene *g,
    unsigned char *right, double *acc, h4h_err *err);
/* The per-image results kept so far into a file, and back (a file of
 * another supernet, or unreadable, adds nothing); load returns how many
 * subnets it added.  The search's outputs keep their winners' this way,
 * so a rerun compares them without scoring them again. */
int nas_fitness_right_save(const nas_fitness *f, const char *path,
    h4h_err *err);
int nas_fitness_right_load(nas_fitness *f, const char *path);
/* The batch images are scored in (0: the supernet's batch; scores do not
 * depend on it: scoring uses the running statistics). */
void nas_fitness_set_score_batch(nas_fitness *f, int bs);
/* Keep (1, the default) or drop the recalibrated statistics of recent
 * genes (bench_search times both). */
void nas_fitness_set_reuse(nas_fitness *f, int on);
/* The settings text of a split's scores (the cache key's third part). */
const char *nas_fitness_settings(const nas_fitness *f, int split);
/* Scores from elsewhere (a shipped accuracy dataset, accdata.h) into the
 * in-memory cache: 1 when new, 0 when the gene had a score. */
int nas_fitness_memo_put(nas_fitness *f, int split, const char *gene,
    double acc);
/* 1 and *acc when the gene has a score in the cache, else 0. */
int nas_fitness_lookup(const nas_fitness *f, int split, const char *gene,
    double *acc);
/* "0123456789abcdef": the checkpoint's content hash. */
const char *nas_fitness_supernet_id(const nas_fitness *f);

#endif
