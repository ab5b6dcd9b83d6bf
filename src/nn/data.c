/*
 * data.c - IDX reading, the validation split and the batch iterator (see
 * data.h).
 *
 * Files are read through zlib's gz* functions, which read plain files
 * transparently, so one path handles both.  The iterator's scratch (two
 * H x W planes per batch slot) is allocated at create; images of a batch
 * are independent (each has its own scratch and generator), so the loop
 * could run in parallel; it does not, because serially it already fills
 * about 400,000 plain or 75,000 RandAugment images a second on one core,
 * two orders of magnitude ahead of the training step, and an OpenMP region
 * per batch measured slower on the 2-core machine.
 */
#define _POSIX_C_SOURCE 200809L
#include "nn/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define IDX_MAX_BYTES ((size_t)1 << 31)	/* refuse absurd headers */

struct nn_batcher {
	const nn_dataset *ds;
	nn_batcher_cfg cfg;
	int n;
	int *idx;		/* [n] the subset, in the order given */
	int *perm;		/* [n] this epoch's order */
	int64_t perm_epoch;	/* epoch perm was built for, -1: none */
	int64_t epoch, pos;
	float *scratch;		/* [B, 2, H, W] */
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Reads up to len bytes; returns how many, or -1 on a gzip data error. */
static long long
read_full(gzFile f, unsigned char *buf, size_t len)
{
	size_t got = 0;
	unsigned chunk;
	int r;

	while (got < len) {
		chunk = len - got > (1u << 30) ? (1u << 30) : (unsigned)(len - got);
		r = gzread(f, buf + got, chunk);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (long long)got;
}

/* A short read: truncated if the stream just ended (a cut plain file or a
 * cut gzip member), else corrupt compressed data. */
static int
short_read(gzFile f, const char *path, const char *what, size_t want,
    long long got, h4h_err *err)
{
	int code = Z_OK;
	const char *msg = gzerror(f, &code);

	if (got < 0 && code != Z_BUF_ERROR)
		return h4h_errf(err, H4H_EINPUT, "'%s': corrupt gzip data (%s)",
		    path, msg);
	return h4h_errf(err, H4H_EINPUT,
	    "'%s': truncated: expected %zu bytes of %s, got %lld", path, want,
	    what, got < 0 ? 0LL : got);
}

/* Opens path, checks the magic and reads ndim big-endian dimensions. */
static int
idx_open(const char *path, uint32_t magic, const char *kind, int ndim,
    uint32_t *dims, gzFile *out, h4h_err *err)
{
	unsigned char hdr[16];
	size_t want = 4 + 4 * (size_t)ndim;
	long long got;
	uint32_t m;
	gzFile f;
	int i, rc;

	errno = 0;
	f = gzopen(path, "rb");
	if (f == NULL)
		return h4h_errf(err, H4H_EINPUT, "'%s': cannot open: %s", path,
		    errno ? strerror(errno) : "out of memory");
	got = read_full(f, hdr, want);
	if (got != (long long)want) {
		rc = short_read(f, path, "header", want, got, err);
		gzclose(f);
		return rc;
	}
	m = be32(hdr);
	if (m != magic) {
		gzclose(f);
		return h4h_errf(err, H4H_EINPUT,
		    "'%s': not an IDX %s file (magic 0x%08x, expected 0x%08x)",
		    path, kind, m, magic);
	}
	for (i = 0; i < ndim; i++) {
		dims[i] = be32(hdr + 4 + 4 * i);
		if (dims[i] == 0 || dims[i] > INT_MAX / 2) {
			gzclose(f);
			return h4h_errf(err, H4H_EINPUT,
			    "'%s': bad dimension %d: %u", path, i, dims[i]);
		}
	}
	*out = f;
	return 0;
}

static int
idx_payload(gzFile f, const char *path, const char *what, size_t want,
    uint8_t **out, h4h_err *err)
{
	uint8_t *buf;
	long long got;
	int rc;

	if (want > IDX_MAX_BYTES)
		return h4h_errf(err, H4H_EINPUT,
		    "'%s': %zu bytes of %s is more than this reader accepts",
		    path, want, what);
	buf = h4h_xmalloc(want);
	got = read_full(f, buf, want);
	if (got != (long long)want) {
		rc = short_read(f, path, what, want, got, err);
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

int
nn_idx_read_images(const char *path, uint8_t **out, int *n, int *H, int *W,
    h4h_err *err)
{
	uint32_t d[3] = { 0, 0, 0 };
	gzFile f = NULL;
	int rc;

	rc = idx_open(path, IDX_IMAGES, "image", 3, d, &f, err);
	if (rc != 0)
		return rc;
	rc = idx_payload(f, path, "images", (size_t)d[0] * d[1] * d[2], out,
	    err);
	gzclose(f);
	if (rc != 0)
		return rc;
	*n = (int)d[0];
	*H = (int)d[1];
	*W = (int)d[2];
	return 0;
}

int
nn_idx_read_labels(const char *path, uint8_t **out, int *n, h4h_err *err)
{
	uint32_t d[1] = { 0 };
	gzFile f = NULL;
	int rc;

	rc = idx_open(path, IDX_LABELS, "label", 1, d, &f, err);
	if (rc != 0)
		return rc;
	rc = idx_payload(f, path, "labels", d[0], out, err);
	gzclose(f);
	if (rc != 0)
		return rc;
	*n = (int)d[0];
	return 0;
}

int
nn_dataset_load(const char *images, const char *labels, int nclass,
    nn_dataset **out, h4h_err *err)
{
	nn_dataset *ds = h4h_xcalloc(1, sizeof *ds);
	int nl = 0, i, rc;

	*out = NULL;
	rc = nn_idx_read_images(images, &ds->images, &ds->n, &ds->H, &ds->W,
	    err);
	if (rc != 0)
		goto out;
	rc = nn_idx_read_labels(labels, &ds->labels, &nl, err);
	if (rc != 0)
		goto out;
	if (nl != ds->n) {
		rc = h4h_errf(err, H4H_EINPUT,
		    "'%s' has %d images but '%s' has %d labels", images, ds->n,
		    labels, nl);
		goto out;
	}
	for (i = 0; i < nl; i++) {
		if (ds->labels[i] >= nclass) {
			rc = h4h_errf(err, H4H_EINPUT,
			    "'%s': label %d at index %d is out of range 0..%d",
			    labels, ds->labels[i], i, nclass - 1);
			goto out;
		}
	}
	ds->nclass = nclass;
	*out = ds;
	ds = NULL;
out:
	nn_dataset_destroy(ds);
	return rc;
}

/* Sets path to dir/which-kind-ubyte.gz, or to the plain name if only that
 * exists (messages then name the .gz the package installs). */
typedef struct fpath {
	char s[4096];
} fpath;

static void
fmnist_path(fpath *p, const char *dir, const char *which, const char *kind)
{
	char plain[sizeof p->s - 8];

	snprintf(plain, sizeof plain, "%s/%s-%s-ubyte", dir, which, kind);
	snprintf(p->s, sizeof p->s, "%s.gz", plain);
	if (access(p->s, F_OK) != 0 && access(plain, F_OK) == 0)
		snprintf(p->s, sizeof p->s, "%s", plain);
}

int
nn_fmnist_load(const char *dir, const char *which, nn_dataset **out,
    h4h_err *err)
{
	fpath img, lbl;

	*out = NULL;
	if (dir == NULL)
		dir = NN_FMNIST_DIR;
	if (strcmp(which, "train") != 0 && strcmp(which, "t10k") != 0)
		return h4h_errf(err, H4H_EINPUT,
		    "fashion-mnist: unknown part '%s' (expected train or t10k)",
		    which);
	fmnist_path(&img, dir, which, "images-idx3");
	fmnist_path(&lbl, dir, which, "labels-idx1");
	return nn_dataset_load(img.s, lbl.s, NN_FMNIST_CLASSES, out, err);
}

void
nn_dataset_destroy(nn_dataset *ds)
{
	if (ds == NULL)
		return;
	free(ds->images);
	free(ds->labels);
	free(ds);
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int
nn_split_make(int n, int nval, uint64_t seed, nn_split *out, h4h_err *err)
{
	nn_rng r;
	int *perm, i;

	memset(out, 0, sizeof *out);
	if (n < 0 || nval < 0 || nval > n)
		return h4h_errf(err, H4H_EINPUT,
		    "validation split: %d validation images out of %d", nval,
		    n);
	perm = h4h_xmalloc(sizeof *perm * (n ? (size_t)n : 1));
	for (i = 0; i < n; i++)
		perm[i] = i;
	nn_rng_seed(&r, seed, nn_rng_stream(NN_RNG_TAG_SPLIT, 0, 0));
	nn_rng_shuffle(&r, perm, (size_t)n);
	out->nval = nval;
	out->ntrain = n - nval;
	out->val = h4h_xmalloc(sizeof *out->val * (nval ? (size_t)nval : 1));
	out->train = h4h_xmalloc(sizeof *out->train *
	    (n - nval ? (size_t)(n - nval) : 1));
	memcpy(out->val, perm, sizeof *perm * (size_t)nval);
	memcpy(out->train, perm + nval, sizeof *perm * (size_t)(n - nval));
	qsort(out->val, (size_t)nval, sizeof *perm, cmp_int);
	qsort(out->train, (size_t)(n - nval), sizeof *perm, cmp_int);
	free(perm);
	return 0;
}

void
nn_split_free(nn_split *s)
{
	if (s == NULL)
		return;
	free(s->train);
	free(s->val);
	s->train = s->val = NULL;
	s->ntrain = s->nval = 0;
}

int
nn_batcher_create(const nn_dataset *ds, const int *idx, int n,
    const nn_batcher_cfg *cfg, nn_batcher **out, h4h_err *err)
{
	nn_batcher *b;
	int i, rc;

	*out = NULL;
	if (idx == NULL)
		n = ds->n;
	if (cfg->batch < 1)
		return h4h_errf(err, H4H_EINPUT,
		    "batch size must be >= 1 (got %d)", cfg->batch);
	if (cfg->out_h < ds->H || cfg->out_w < ds->W)
		return h4h_errf(err, H4H_EINPUT,
		    "batch plane %dx%d is smaller than the %dx%d images",
		    cfg->out_h, cfg->out_w, ds->H, ds->W);
	if (!(cfg->std > 0.0f))
		return h4h_errf(err, H4H_EINPUT,
		    "normalisation std must be > 0 (got %g)", (double)cfg->std);
	if (n < 0 || (cfg->drop_last && n < cfg->batch))
		return h4h_errf(err, H4H_EINPUT,
		    "%d images make no full batch of %d", n, cfg->batch);
	rc = nn_augment_check(&cfg->aug, ds->H, ds->W, err);
	if (rc != 0)
		return rc;
	for (i = 0; idx != NULL && i < n; i++)
		if (idx[i] < 0 || idx[i] >= ds->n)
			return h4h_errf(err, H4H_EINPUT,
			    "subset index %d is outside the %d images", idx[i],
			    ds->n);
	b = h4h_xcalloc(1, sizeof *b);
	b->ds = ds;
	b->cfg = *cfg;
	b->n = n;
	b->idx = h4h_xmalloc(sizeof *b->idx * (n ? (size_t)n : 1));
	b->perm = h4h_xmalloc(sizeof *b->perm * (n ? (size_t)n : 1));
	for (i = 0; i < n; i++)
		b->idx[i] = idx != NULL ? idx[i] : i;
	b->perm_epoch = -1;
	b->scratch = h4h_xmalloc(sizeof *b->scratch * 2 * (size_t)cfg->batch *
	    (size_t)ds->H * (size_t)ds->W);
	*out = b;
	return 0;
}

void
nn_batcher_destroy(nn_batcher *b)
{
	if (b == NULL)
		return;
	free(b->idx);
	free(b->perm);
	free(b->scratch);
	free(b);
}

static void
build_perm(nn_batcher *b)
{
	nn_rng r;

	memcpy(b->perm, b->idx, sizeof *b->perm * (size_t)b->n);
	if (b->cfg.shuffle) {
		nn_rng_seed(&r, b->cfg.seed,
		    nn_rng_stream(NN_RNG_TAG_SHUFFLE, (uint64_t)b->epoch, 0));
		nn_rng_shuffle(&r, b->perm, (size_t)b->n);
	}
	b->perm_epoch = b->epoch;
}

static int
aug_on(const nn_augment_cfg *a)
{
	return a->crop_pad > 0 || a->hflip || a->ra_n > 0;
}

/* Image `pos` of the epoch into plane dst (out_h x out_w). */
static void
fill_one(const nn_batcher *b, int64_t pos, float *work, float *dst)
{
	const nn_dataset *ds = b->ds;
	const nn_batcher_cfg *c = &b->cfg;
	int H = ds->H, W = ds->W, OH = c->out_h, OW = c->out_w;
	int oy = (OH - H) / 2, ox = (OW - W) / 2, y, x;
	const uint8_t *src = ds->images + (size_t)b->perm[pos] * H * W;
	float inv = 1.0f / c->std, *tmp = work + (size_t)H * W;
	nn_rng r;

	for (x = 0; x < H * W; x++)
		work[x] = (float)src[x] * (1.0f / 255.0f);
	if (aug_on(&c->aug)) {
		nn_rng_seed(&r, c->seed, nn_rng_stream(NN_RNG_TAG_AUGMENT,
		    (uint64_t)b->epoch, (uint64_t)pos));
		nn_augment_apply(&c->aug, work, tmp, H, W, &r);
	}
	if (OH != H || OW != W)
		memset(dst, 0, sizeof *dst * (size_t)OH * OW);
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++)
			dst[(size_t)(y + oy) * OW + x + ox] =
			    (work[y * W + x] - c->mean) * inv;
}

int
nn_batcher_next(nn_batcher *b, float *x, int *y)
{
	int64_t left = b->n - b->pos;
	size_t plane = (size_t)b->cfg.out_h * b->cfg.out_w;
	size_t hw = (size_t)b->ds->H * b->ds->W;
	int k, i;

	if (left <= 0 || (b->cfg.drop_last && left < b->cfg.batch)) {
		b->epoch++;
		b->pos = 0;
		return 0;
	}
	if (b->perm_epoch != b->epoch)
		build_perm(b);
	k = left < b->cfg.batch ? (int)left : b->cfg.batch;
	for (i = 0; i < k; i++) {
		fill_one(b, b->pos + i, b->scratch + 2 * hw * (size_t)i,
		    x + plane * (size_t)i);
		y[i] = b->ds->labels[b->perm[b->pos + i]];
	}
	b->pos += k;
	return k;
}

int
nn_batcher_batches(const nn_batcher *b)
{
	int B = b->cfg.batch;

	return b->cfg.drop_last ? b->n / B : (b->n + B - 1) / B;
}

void
nn_batcher_tell(const nn_batcher *b, int64_t *epoch, int64_t *pos)
{
	*epoch = b->epoch;
	*pos = b->pos;
}

int
nn_batcher_seek(nn_batcher *b, int64_t epoch, int64_t pos, h4h_err *err)
{
	if (epoch < 0 || pos < 0 || pos > b->n)
		return h4h_errf(err, H4H_EINPUT,
		    "batch iterator position epoch %lld image %lld is outside "
		    "0..%d", (long long)epoch, (long long)pos, b->n);
	b->epoch = epoch;
	b->pos = pos;
	return 0;
}
