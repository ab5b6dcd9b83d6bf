/*
 * ckpt.h - training checkpoints: a versioned binary file of named, typed,
 * shaped tensors plus epoch, step and a text metadata blob, protected by a
 * CRC32 and written atomically.
 *
 * A checkpoint in memory (nn_ckpt) is a list of tensors it owns (nn_ckpt_add
 * copies).  What h4h train stores (nn/train.c):
 *   param.<name>    the weights, one tensor per nn_param (nn_ckpt_add_slab
 *                   with prefix "param")
 *   state.<name>    batch-norm running statistics
 *   adam_m.<name>   first moments, adam_v.<name> second moments
 *   step, data_epoch, data_pos   the optimizer step and the batch
 *                   iterator's position (nn_batcher_tell)
 * and epoch/step in the header (rng.<what> is there for runs whose
 * generators are not a function of the position, nn_ckpt_add_rng).  Reading validates everything before
 * returning: magic, version, length, CRC, then the table's bounds; the
 * nn_ckpt_get* calls then check names, dtypes and shapes against what the
 * model expects and copy nothing unless all of them match.  The byte layout
 * is in doc/nn-data.md.
 */
#ifndef H4H_NN_CKPT_H
#define H4H_NN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "nn/optim.h"
#include "nn/rng.h"
#include "core/err.h"

#define NN_CKPT_MAGIC "H4HC"
#define NN_CKPT_VERSION 1
#define NN_CKPT_MAXDIM 8
#define NN_CKPT_NAME_MAX 255
#define NN_CKPT_HEADER_BYTES 40
/* The header's epoch and step are refused outside [0, these]. */
#define NN_CKPT_EPOCH_MAX 1000000000LL
#define NN_CKPT_STEP_MAX (1LL << 53)

enum {
	NN_DTYPE_F32 = 1,
	NN_DTYPE_I32 = 2,
	NN_DTYPE_I64 = 3,
	NN_DTYPE_U8 = 4,
};

typedef struct nn_ckpt_tensor {
	char *name;
	int dtype;
	int ndim;		/* 0 for a scalar */
	int64_t dims[NN_CKPT_MAXDIM];
	size_t nbytes;
	void *data;		/* host byte order; owned by the nn_ckpt */
} nn_ckpt_tensor;

typedef struct nn_ckpt nn_ckpt;

/* Bytes per element of dtype; 0 for an unknown one. */
size_t nn_dtype_size(int dtype);

/* An empty checkpoint to fill and write. */
nn_ckpt *nn_ckpt_create(void);
void nn_ckpt_destroy(nn_ckpt *c);

/* Adds a copy of data (dims[0..ndim) elements of dtype).  Refuses a
 * duplicate or over-long name, an unknown dtype, a bad shape. */
int nn_ckpt_add(nn_ckpt *c, const char *name, int dtype, int ndim,
    const int64_t *dims, const void *data, h4h_err *err);
/* One f32 tensor per table entry, named prefix + entry name. */
int nn_ckpt_add_slab(nn_ckpt *c, const char *prefix, const float *slab,
    const nn_param *tab, int ntab, h4h_err *err);
/* A scalar i64. */
int nn_ckpt_add_i64(nn_ckpt *c, const char *name, int64_t v, h4h_err *err);
/* A generator's state as NN_RNG_STATE_BYTES u8. */
int nn_ckpt_add_rng(nn_ckpt *c, const char *name, const nn_rng *r,
    h4h_err *err);
/* Metadata text (model name, configuration; JSON by convention). */
void nn_ckpt_set_meta(nn_ckpt *c, const char *text);
void nn_ckpt_set_progress(nn_ckpt *c, int64_t epoch, int64_t step);

/* Writes atomically: a temporary file in path's directory, fsync, rename;
 * on failure no file but the old one (if any) is left at path. */
int nn_ckpt_write(const nn_ckpt *c, const char *path, h4h_err *err);

/* Whether a periodic checkpoint is due after `step`: every `every` steps
 * (0: never by count) or when `secs` seconds (0: never by time) have passed
 * since *last_s, which it updates when it says yes: the trainers'
 * --checkpoint-every. */
int nn_ckpt_due(int64_t every, double secs, int64_t step, double *last_s);

/* Reads and validates a whole checkpoint file. */
int nn_ckpt_read(const char *path, nn_ckpt **out, h4h_err *err);

/* The metadata ("" if none), NUL-terminated. */
const char *nn_ckpt_meta(const nn_ckpt *c);
void nn_ckpt_progress(const nn_ckpt *c, int64_t *epoch, int64_t *step);
int nn_ckpt_count(const nn_ckpt *c);
const nn_ckpt_tensor *nn_ckpt_at(const nn_ckpt *c, int i);
/* NULL if absent. */
const nn_ckpt_tensor *nn_ckpt_find(const nn_ckpt *c, const char *name);

/* Copies tensor `name` into dst after checking it exists with this dtype
 * and shape: "'PATH': tensor 'stem.w' has shape 16x1x3x3, the model
 * expects 24x1x3x3". */
int nn_ckpt_get(const nn_ckpt *c, const char *name, int dtype, int ndim,
    const int64_t *dims, void *dst, h4h_err *err);
/* Every table entry (prefix + name) into the slab; checks all of them
 * before copying any. */
int nn_ckpt_get_slab(const nn_ckpt *c, const char *prefix, float *slab,
    const nn_param *tab, int ntab, h4h_err *err);
int nn_ckpt_get_i64(const nn_ckpt *c, const char *name, int64_t *v,
    h4h_err *err);
int nn_ckpt_get_rng(const nn_ckpt *c, const char *name, nn_rng *r,
    h4h_err *err);

#endif
