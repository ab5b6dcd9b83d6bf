/*
 * data.h - image classification data for training: IDX files (gzip or
 * plain, read through zlib), Fashion-MNIST as Debian installs it, a seeded
 * validation split, and a batch iterator that fills caller-owned buffers.
 *
 * Invariants: a dataset holds N uint8 images of H x W and N labels in
 * 0..nclass-1, loaded once.  A split and a batch iterator hold indices into
 * it, never copies.  The batch a given (seed, epoch, position) produces is a
 * pure function of those three numbers: the epoch's order comes from stream
 * (SHUFFLE, epoch) of the seed and each image's augmentation from stream
 * (AUGMENT, epoch, position), so a resumed iterator (nn_batcher_seek) yields
 * exactly the batches an uninterrupted one would, whatever the thread count.
 * nn_batcher_next allocates nothing.
 */
#ifndef H4H_NN_DATA_H
#define H4H_NN_DATA_H

#include <stdint.h>

#include "nn/augment.h"
#include "nn/rng.h"
#include "core/err.h"

/* Where Debian's dataset-fashion-mnist installs the four files. */
#define NN_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define NN_FMNIST_CLASSES 10
#define NN_FMNIST_VAL 5000	/* default validation images */

/* Mean and standard deviation of the 60000 Fashion-MNIST training images'
 * pixels scaled to [0, 1] (computed from the Debian files; check_nn_data
 * recomputes them when the dataset is installed). */
#define NN_FMNIST_MEAN 0.28604f
#define NN_FMNIST_STD 0.35302f

typedef struct nn_dataset {
	int n, H, W;
	int nclass;
	uint8_t *images;	/* [n, H, W] */
	uint8_t *labels;	/* [n] */
} nn_dataset;

/* An IDX file of unsigned bytes: magic 0x00000803 (images, dims n, H, W)
 * or 0x00000801 (labels, dim n), big-endian; gzip or plain.  *out is
 * malloc'd and owned by the caller. */
int nn_idx_read_images(const char *path, uint8_t **out, int *n, int *H,
    int *W, h4h_err *err);
int nn_idx_read_labels(const char *path, uint8_t **out, int *n,
    h4h_err *err);

/* Loads an image file and its label file, checks the counts agree and
 * every label is below nclass. */
int nn_dataset_load(const char *images, const char *labels, int nclass,
    nn_dataset **out, h4h_err *err);
/* Fashion-MNIST from dir (NULL: NN_FMNIST_DIR); which is "train" or
 * "t10k": loads dir/which-images-idx3-ubyte.gz and -labels-idx1-ubyte.gz,
 * falling back to the names without .gz. */
int nn_fmnist_load(const char *dir, const char *which, nn_dataset **out,
    h4h_err *err);
void nn_dataset_destroy(nn_dataset *ds);

/* A validation split: a seeded permutation of 0..n-1 (stream SPLIT of
 * seed); its first nval entries are the validation set, the rest the
 * training set, each then sorted ascending.  The two are disjoint and cover
 * 0..n-1.  nval may be 0. */
typedef struct nn_split {
	int ntrain, nval;
	int *train;		/* [ntrain] indices into the dataset */
	int *val;		/* [nval] */
} nn_split;

int nn_split_make(int n, int nval, uint64_t seed, nn_split *out,
    h4h_err *err);
void nn_split_free(nn_split *s);

typedef struct nn_batcher_cfg {
	int batch;		/* B */
	int out_h, out_w;	/* output plane: H x W, or larger to zero-pad
				 * centred (32 x 32 for 28 x 28) */
	float mean, std;	/* x = (pixel / 255 - mean) / std */
	int shuffle;		/* reshuffle every epoch; 0: index order */
	int drop_last;		/* skip a last partial batch */
	nn_augment_cfg aug;	/* all zero: no augmentation */
	uint64_t seed;
} nn_batcher_cfg;

typedef struct nn_batcher nn_batcher;

/* Iterates over ds restricted to idx[0..n) (idx NULL: all of ds; the
 * indices are copied). */
int nn_batcher_create(const nn_dataset *ds, const int *idx, int n,
    const nn_batcher_cfg *cfg, nn_batcher **out, h4h_err *err);
void nn_batcher_destroy(nn_batcher *b);

/* Fills x [B, 1, out_h, out_w] and y [B] with the next batch of the
 * current epoch and returns how many images it wrote (B, or fewer for a
 * last partial batch).  At the end of an epoch it returns 0 and moves to
 * the next epoch, so `while ((k = nn_batcher_next(...)) > 0)` is one
 * epoch.  Padding is 0 in normalised units. */
int nn_batcher_next(nn_batcher *b, float *x, int *y);

/* Batches per epoch. */
int nn_batcher_batches(const nn_batcher *b);
/* The position to save in a checkpoint: the epoch and the number of images
 * of it already returned. */
void nn_batcher_tell(const nn_batcher *b, int64_t *epoch, int64_t *pos);
/* Continues from a position nn_batcher_tell reported. */
int nn_batcher_seek(nn_batcher *b, int64_t epoch, int64_t pos,
    h4h_err *err);

#endif
