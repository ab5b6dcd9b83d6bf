/*
 * check_nn_data.c - the data pipeline: IDX parsing (gzip and plain) and
 * every refusal, the validation split, the batch iterator (determinism from
 * the seed, per-epoch reshuffle, padding, resume by seek), the RNG, and the
 * augmentations.
 *
 * All data is synthetic, written into a mkdtemp directory per test: image i
 * carries its own index in its first two pixels (i % 256, i / 256) so a
 * batch can be traced back to the images it holds.  One optional test reads
 * the real Fashion-MNIST when Debian's dataset-fashion-mnist is installed
 * and says it skipped otherwise.
 */
#define _GNU_SOURCE
#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nn/augment.h"
#include "nn/data.h"
#include "nn/rng.h"

static void
be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Writes buf as a plain file, or gzip-compressed when gz. */
static void
write_file(const char *path, const void *buf, size_t len, int gz)
{
	if (gz) {
		gzFile f = gzopen(path, "wb");

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(gzwrite(f, buf, (unsigned)len), (int)len);
		ck_assert_int_eq(gzclose(f), Z_OK);
	} else {
		FILE *f = fopen(path, "wb");

		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
		ck_assert_int_eq(fclose(f), 0);
	}
}

/* Image i: pixel 0 = i % 256, pixel 1 = i / 256, the rest (i * 7 + k) % 256.
 * Returns the bytes of an IDX image file; `cut` bytes dropped from the end. */
static unsigned char *
make_images(int n, int H, int W, size_t *len)
{
	size_t hw = (size_t)H * W, i, k;
	unsigned char *b = malloc(16 + n * hw);

	be32(b, 0x803);
	be32(b + 4, (uint32_t)n);
	be32(b + 8, (uint32_t)H);
	be32(b + 12, (uint32_t)W);
	for (i = 0; i < (size_t)n; i++) {
		for (k = 0; k < hw; k++)
			b[16 + i * hw + k] = (unsigned char)((i * 7 + k) % 256);
		b[16 + i * hw] = (unsigned char)(i % 256);
		b[16 + i * hw + 1] = (unsigned char)(i / 256);
	}
	*len = 16 + n * hw;
	return b;
}

static unsigned char *
make_labels(int n, size_t *len)
{
	unsigned char *b = malloc(8 + (size_t)n);
	int i;

	be32(b, 0x801);
	be32(b + 4, (uint32_t)n);
	for (i = 0; i < n; i++)
		b[8 + i] = (unsigned char)(i % 10);
	*len = 8 + (size_t)n;
	return b;
}

/* Writes an image/label pair into slots 0 and 1 and returns the dataset. */
static nn_dataset *
make_dataset(tu_tmpdir *t, int n, int H, int W, int gz)
{
	size_t li, ll;
	unsigned char *im = make_images(n, H, W, &li);
	unsigned char *lb = make_labels(n, &ll);
	nn_dataset *ds = NULL;
	h4h_err e;

	write_file(tu_tmpdir_path(t, 0, "img"), im, li, gz);
	write_file(tu_tmpdir_path(t, 1, "lbl"), lb, ll, gz);
	free(im);
	free(lb);
	ck_assert_msg(nn_dataset_load(t->path[0], t->path[1], 10, &ds, &e) ==
	    0, "%s", e.msg);
	return ds;
}

/* The dataset index a normalised (mean 0, std 1) batch image came from. */
static int
image_id(const float *x)
{
	return (int)lrintf(x[0] * 255.0f) + 256 * (int)lrintf(x[1] * 255.0f);
}

START_TEST(test_idx_gzip_and_plain)
{
	int gz;

	for (gz = 0; gz < 2; gz++) {
		tu_tmpdir t;
		size_t len, i;
		unsigned char *ref = make_images(37, 5, 3, &len);
		nn_dataset *ds;

		tu_tmpdir_make(&t, "check_nn_data");
		ds = make_dataset(&t, 37, 5, 3, gz);
		ck_assert_int_eq(ds->n, 37);
		ck_assert_int_eq(ds->H, 5);
		ck_assert_int_eq(ds->W, 3);
		ck_assert_int_eq(ds->nclass, 10);
		for (i = 0; i < 37 * 15; i++)
			ck_assert_uint_eq(ds->images[i], ref[16 + i]);
		for (i = 0; i < 37; i++)
			ck_assert_uint_eq(ds->labels[i], i % 10);
		nn_dataset_destroy(ds);
		free(ref);
		tu_tmpdir_remove(&t);
	}
}
END_TEST

START_TEST(test_fmnist_dir)
{
	tu_tmpdir t;
	size_t li, ll;
	unsigned char *im = make_images(20, 28, 28, &li);
	unsigned char *lb = make_labels(20, &ll);
	nn_dataset *ds = NULL;
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_data");
	/* train as .gz, t10k plain: both names are accepted. */
	write_file(tu_tmpdir_path(&t, 0, "train-images-idx3-ubyte.gz"), im, li, 1);
	write_file(tu_tmpdir_path(&t, 1, "train-labels-idx1-ubyte.gz"), lb, ll, 1);
	be32(im + 4, 19);
	write_file(tu_tmpdir_path(&t, 2, "t10k-images-idx3-ubyte"), im, li - 784, 0);
	be32(lb + 4, 19);
	write_file(tu_tmpdir_path(&t, 3, "t10k-labels-idx1-ubyte"), lb, ll - 1, 0);
	ck_assert_msg(nn_fmnist_load(t.dir, "train", &ds, &e) == 0, "%s",
	    e.msg);
	ck_assert_int_eq(ds->n, 20);
	nn_dataset_destroy(ds);
	ck_assert_msg(nn_fmnist_load(t.dir, "t10k", &ds, &e) == 0, "%s",
	    e.msg);
	ck_assert_int_eq(ds->n, 19);
	nn_dataset_destroy(ds);
	ck_assert_int_eq(nn_fmnist_load(t.dir, "valid", &ds, &e), H4H_EINPUT);
	ck_assert_ptr_null(ds);
	ck_assert_str_eq(e.msg,
	    "fashion-mnist: unknown part 'valid' (expected train or t10k)");
	free(im);
	free(lb);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_split)
{
	nn_split a, b, c;
	char *seen = calloc(1000, 1);
	int i, same = 1;
	h4h_err e;

	ck_assert_int_eq(nn_split_make(1000, 100, 42, &a, &e), 0);
	ck_assert_int_eq(a.nval, 100);
	ck_assert_int_eq(a.ntrain, 900);
	for (i = 0; i < a.nval; i++) {
		ck_assert(i == 0 || a.val[i] > a.val[i - 1]);
		seen[a.val[i]]++;
	}
	for (i = 0; i < a.ntrain; i++) {
		ck_assert(i == 0 || a.train[i] > a.train[i - 1]);
		seen[a.train[i]]++;
	}
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(seen[i], 1);	/* disjoint and covering */
	ck_assert_int_eq(nn_split_make(1000, 100, 42, &b, &e), 0);
	ck_assert_mem_eq(a.val, b.val, 100 * sizeof(int));
	ck_assert_int_eq(nn_split_make(1000, 100, 43, &c, &e), 0);
	for (i = 0; i < 100; i++)
		same &= a.val[i] == c.val[i];
	ck_assert_int_eq(same, 0);
	/* Not simply the last or first 100: a seeded sample. */
	ck_assert_int_lt(a.val[0], 900);
	ck_assert_int_gt(a.val[99], 100);
	nn_split_free(&a);
	nn_split_free(&b);
	nn_split_free(&c);
	ck_assert_int_eq(nn_split_make(10, 0, 1, &a, &e), 0);
	ck_assert_int_eq(a.ntrain, 10);
	nn_split_free(&a);
	ck_assert_int_eq(nn_split_make(10, 11, 1, &a, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg,
	    "validation split: 11 validation images out of 10");
	free(seen);
}
END_TEST

static nn_batcher_cfg
plain_cfg(int B, int H, int W, uint64_t seed)
{
	nn_batcher_cfg c;

	memset(&c, 0, sizeof c);
	c.batch = B;
	c.out_h = H;
	c.out_w = W;
	c.mean = 0.0f;
	c.std = 1.0f;
	c.shuffle = 1;
	c.seed = seed;
	return c;
}

/* One epoch's image ids into ids[0..n). */
static int
epoch_ids(nn_batcher *b, int *ids, int *labels, float *x, int *y, int B,
    int plane)
{
	int k, i, n = 0;

	while ((k = nn_batcher_next(b, x, y)) > 0) {
		ck_assert_int_le(k, B);
		for (i = 0; i < k; i++) {
			ids[n] = image_id(x + (size_t)i * plane);
			labels[n] = y[i];
			n++;
		}
	}
	return n;
}

START_TEST(test_batcher_shuffle)
{
	tu_tmpdir t;
	nn_dataset *ds;
	nn_batcher *b1, *b2, *b3;
	nn_batcher_cfg c = plain_cfg(16, 6, 6, 7);
	int ids[3][300], lb[300], ids2[300], n, i, diff, seen[300];
	float *x = malloc(sizeof *x * 16 * 36);
	int y[16];
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_data");
	ds = make_dataset(&t, 300, 6, 6, 1);
	ck_assert_int_eq(nn_batcher_create(ds, NULL, 0, &c, &b1, &e), 0);
	ck_assert_int_eq(nn_batcher_create(ds, NULL, 0, &c, &b2, &e), 0);
	c.seed = 8;
	ck_assert_int_eq(nn_batcher_create(ds, NULL, 0, &c, &b3, &e), 0);
	ck_assert_int_eq(nn_batcher_batches(b1), 19);
	for (i = 0; i < 2; i++) {
		n = epoch_ids(b1, ids[i], lb, x, y, 16, 36);
		ck_assert_int_eq(n, 300);
		memset(seen, 0, sizeof seen);
		for (n = 0; n < 300; n++) {
			ck_assert_int_eq(lb[n], ids[i][n] % 10);
			seen[ids[i][n]]++;
		}
		for (n = 0; n < 300; n++)
			ck_assert_int_eq(seen[n], 1);	/* a permutation */
		/* Same seed: same order. */
		ck_assert_int_eq(epoch_ids(b2, ids2, lb, x, y, 16, 36), 300);
		ck_assert_mem_eq(ids[i], ids2, sizeof ids2);
	}
	/* Epoch 2 is reshuffled; a different seed gives another order. */
	for (diff = 0, n = 0; n < 300; n++)
		diff += ids[0][n] != ids[1][n];
	ck_assert_int_gt(diff, 250);
	epoch_ids(b3, ids[2], lb, x, y, 16, 36);
	for (diff = 0, n = 0; n < 300; n++)
		diff += ids[0][n] != ids[2][n];
	ck_assert_int_gt(diff, 250);
	nn_batcher_destroy(b1);
	nn_batcher_destroy(b2);
	nn_batcher_destroy(b3);
	nn_dataset_destroy(ds);
	free(x);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_batcher_subset_order)
{
	tu_tmpdir t;
	nn_dataset *ds;
	nn_batcher *b;
	nn_batcher_cfg c = plain_cfg(4, 3, 3, 1);
	int idx[10] = { 9, 2, 4, 6, 8, 1, 3, 5, 7, 0 }, y[4], k, n = 0, i;
	int sizes[8], ns = 0;
	float x[4 * 9];
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_data");
	ds = make_dataset(&t, 10, 3, 3, 0);
	c.shuffle = 0;
	ck_assert_int_eq(nn_batcher_create(ds, idx, 10, &c, &b, &e), 0);
	while ((k = nn_batcher_next(b, x, y)) > 0) {
		sizes[ns++] = k;
		for (i = 0; i < k; i++, n++)
			ck_assert_int_eq(image_id(x + 9 * i), idx[n]);
	}
	ck_assert_int_eq(ns, 3);
	ck_assert_int_eq(sizes[0], 4);
	ck_assert_int_eq(sizes[2], 2);
	nn_batcher_destroy(b);
	c.drop_last = 1;
	ck_assert_int_eq(nn_batcher_create(ds, idx, 10, &c, &b, &e), 0);
	ck_assert_int_eq(nn_batcher_batches(b), 2);
	ck_assert_int_eq(nn_batcher_next(b, x, y), 4);
	ck_assert_int_eq(nn_batcher_next(b, x, y), 4);
	ck_assert_int_eq(nn_batcher_next(b, x, y), 0);
	ck_assert_int_eq(nn_batcher_next(b, x, y), 4);	/* next epoch */
	nn_batcher_destroy(b);
	nn_dataset_destroy(ds);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_batcher_pad_and_normalise)
{
	tu_tmpdir t;
	nn_dataset *ds;
	nn_batcher *b;
	nn_batcher_cfg c = plain_cfg(2, 32, 32, 3);
	float *x = malloc(sizeof *x * 2 * 1024);
	int y[2], i, yy, xx, id;
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_data");
	ds = make_dataset(&t, 5, 28, 28, 1);
	c.mean = NN_FMNIST_MEAN;
	c.std = NN_FMNIST_STD;
	ck_assert_int_eq(nn_batcher_create(ds, NULL, 0, &c, &b, &e), 0);
	for (i = 0; i < 2 * 1024; i++)
		x[i] = 99.0f;
	ck_assert_int_eq(nn_batcher_next(b, x, y), 2);
	for (i = 0; i < 2; i++) {
		const float *p = x + 1024 * i;

		id = (int)lrintf((p[2 * 32 + 2] * NN_FMNIST_STD +
		    NN_FMNIST_MEAN) * 255.0f);
		ck_assert_int_eq(y[i], id % 10);
		for (yy = 0; yy < 32; yy++) {
			for (xx = 0; xx < 32; xx++) {
				float v = p[yy * 32 + xx];

				if (yy < 2 || yy >= 30 || xx < 2 || xx >= 30) {
					ck_assert_float_eq(v, 0.0f);
				} else {
					const uint8_t *s = ds->images + id * 784;
					float want = ((float)s[(yy - 2) * 28 +
					    xx - 2] / 255.0f - NN_FMNIST_MEAN) /
					    NN_FMNIST_STD;

					ck_assert_float_eq_tol(v, want, 1e-5);
				}
			}
		}
	}
	nn_batcher_destroy(b);
	nn_dataset_destroy(ds);
	free(x);
	tu_tmpdir_remove(&t);
}
END_TEST

/* A resumed iterator (seek to the position tell reported) produces the
 * same batches, augmentation included, as one that never stopped. */
START_TEST(test_batcher_resume)
{
	tu_tmpdir t;
	nn_dataset *ds;
	nn_batcher *b, *r;
	nn_batcher_cfg c = plain_cfg(8, 12, 12, 99);
	enum { NB = 40 };
	float *ref = malloc(sizeof *ref * NB * 8 * 144), x[8 * 144];
	int yref[NB][8], kref[NB], y[8], i, k, stop = 17;
	int64_t ep = 0, pos = 0;
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_data");
	ds = make_dataset(&t, 50, 10, 10, 1);
	c.aug.crop_pad = 2;
	c.aug.hflip = 1;
	c.aug.ra_n = 2;
	c.aug.ra_m = 9;
	ck_assert_int_eq(nn_batcher_create(ds, NULL, 0, &c, &b, &e), 0);
	for (i = 0; i < NB; i++) {
		if (i == stop)
			nn_batcher_tell(b, &ep, &pos);
		kref[i] = nn_batcher_next(b, ref + (size_t)i * 8 * 144,
		    yref[i]);
	}
	ck_assert_int_gt(ep, 0);
	ck_assert_int_eq(nn_batcher_create(ds, NULL, 0, &c, &r, &e), 0);
	ck_assert_int_eq(nn_batcher_seek(r, ep, pos, &e), 0);
	for (i = stop; i < NB; i++) {
		k = nn_batcher_next(r, x, y);
		ck_assert_int_eq(k, kref[i]);
		ck_assert_mem_eq(x, ref + (size_t)i * 8 * 144,
		    sizeof *x * 144 * (size_t)k);
		ck_assert_mem_eq(y, yref[i], sizeof *y * (size_t)k);
	}
	ck_assert_int_eq(nn_batcher_seek(r, 0, 51, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "batch iterator position epoch 0 image 51 is "
	    "outside 0..50");
	nn_batcher_destroy(b);
	nn_batcher_destroy(r);
	nn_dataset_destroy(ds);
	free(ref);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_rng)
{
	nn_rng a, b, c;
	unsigned char st[NN_RNG_STATE_BYTES];
	int i, hist[7] = { 0 }, v;
	double s = 0, s2 = 0, z;
	h4h_err e;

	nn_rng_seed(&a, 5, 0);
	nn_rng_seed(&b, 5, 0);
	nn_rng_seed(&c, 5, 1);
	ck_assert_uint_eq(nn_rng_u64(&a), nn_rng_u64(&b));
	ck_assert_uint_ne(nn_rng_u64(&a), nn_rng_u64(&c));
	for (i = 0; i < 70000; i++) {
		float u = nn_rng_uniform(&a);

		ck_assert(u >= 0.0f && u < 1.0f);
		v = nn_rng_range(&a, -3, 3);
		ck_assert(v >= -3 && v <= 3);
		hist[v + 3]++;
		z = nn_rng_normal(&a);
		s += z;
		s2 += z * z;
	}
	for (i = 0; i < 7; i++)
		ck_assert(hist[i] > 9000 && hist[i] < 11000);
	ck_assert_double_lt(fabs(s / 70000), 0.02);
	ck_assert_double_lt(fabs(s2 / 70000 - 1.0), 0.03);
	/* Save in the middle of a Box-Muller pair; the restored generator
	 * continues identically. */
	(void)nn_rng_normal(&a);
	ck_assert_int_eq(a.has_spare, 1);
	nn_rng_save(&a, st);
	ck_assert_int_eq(nn_rng_load(&b, st, sizeof st, &e), 0);
	for (i = 0; i < 100; i++)
		ck_assert_float_eq(nn_rng_normal(&a), nn_rng_normal(&b));
	ck_assert_int_eq(nn_rng_load(&b, st, 39, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "rng state has 39 bytes, expected 40");
	memset(st, 0, sizeof st);
	ck_assert_int_eq(nn_rng_load(&b, st, sizeof st, &e), H4H_EINPUT);
	ck_assert_uint_eq(nn_rng_below(&a, 0), 0);
	ck_assert_uint_eq(nn_rng_below(&a, 1), 0);
}
END_TEST

static void
random_image(float *img, int n, nn_rng *r)
{
	int i;

	for (i = 0; i < n; i++)
		img[i] = (float)nn_rng_below(r, 256) / 255.0f;
}

START_TEST(test_augment_crop_flip)
{
	float src[6 * 5], dst[6 * 5], f[6 * 5];
	int i, y, x;

	for (i = 0; i < 30; i++)
		src[i] = (float)(i + 1) / 30.0f;
	/* Offset (p, p) is the identity; (0, 0) shifts down-right by p. */
	nn_augment_crop(dst, src, 6, 5, 2, 2, 2);
	ck_assert_mem_eq(dst, src, sizeof src);
	nn_augment_crop(dst, src, 6, 5, 2, 0, 0);
	for (y = 0; y < 6; y++)
		for (x = 0; x < 5; x++)
			ck_assert_float_eq(dst[y * 5 + x], (y < 2 || x < 2) ?
			    0.0f : src[(y - 2) * 5 + x - 2]);
	nn_augment_crop(dst, src, 6, 5, 2, 4, 3);
	ck_assert_float_eq(dst[0], src[2 * 5 + 1]);
	ck_assert_float_eq(dst[5 * 5 + 4], 0.0f);
	memcpy(f, src, sizeof f);
	nn_augment_hflip(f, 6, 5);
	ck_assert_float_eq(f[0], src[4]);
	ck_assert_float_eq(f[7], src[7]);	/* the middle column stays */
	nn_augment_hflip(f, 6, 5);
	ck_assert_mem_eq(f, src, sizeof f);
}
END_TEST

START_TEST(test_augment_ops_in_range)
{
	enum { H = 28, W = 28 };
	float img[H * W], tmp[H * W], orig[H * W];
	nn_rng r;
	int op, k, i, changed;
	float mags[] = { 0.3f, -0.3f, 1.0f, -1.0f };

	nn_rng_seed(&r, 11, 0);
	for (op = 0; op < NN_AUG_NOPS; op++) {
		ck_assert_str_ne(nn_augment_op_name(op), "?");
		for (k = 0; k < 4; k++) {
			random_image(orig, H * W, &r);
			/* a dark margin, as in Fashion-MNIST */
			for (i = 0; i < W * 3; i++)
				orig[i] = 0.0f;
			memcpy(img, orig, sizeof img);
			nn_augment_op(op, mags[k], img, tmp, H, W);
			changed = memcmp(img, orig, sizeof img) != 0;
			for (i = 0; i < H * W; i++)
				ck_assert_msg(img[i] >= 0.0f && img[i] <= 1.0f,
				    "%s at %g: pixel %d = %g",
				    nn_augment_op_name(op), (double)mags[k], i,
				    (double)img[i]);
			if (op == NN_AUG_IDENTITY)
				ck_assert_int_eq(changed, 0);
			else if (op != NN_AUG_AUTOCONTRAST)
				ck_assert_msg(changed, "%s at %g changed "
				    "nothing", nn_augment_op_name(op),
				    (double)mags[k]);
		}
	}
	/* Hand-checked values. */
	for (i = 0; i < H * W; i++)
		img[i] = 0.5f;
	img[0] = 0.9f;
	nn_augment_op(NN_AUG_SOLARIZE, 0.3f, img, tmp, H, W);
	ck_assert_float_eq_tol(img[0], 0.1f, 1e-6);
	ck_assert_float_eq(img[1], 0.5f);
	img[0] = 200.0f / 255.0f;
	nn_augment_op(NN_AUG_POSTERIZE, 1.0f, img, tmp, H, W);
	ck_assert_float_eq_tol(img[0], 192.0f / 255.0f, 1e-6);
	for (i = 0; i < H * W; i++)
		img[i] = 0.25f + 0.5f * (float)(i % 2);
	nn_augment_op(NN_AUG_AUTOCONTRAST, 0.0f, img, tmp, H, W);
	ck_assert_float_eq(img[0], 0.0f);
	ck_assert_float_eq(img[1], 1.0f);
	/* Translate by whole pixels: 0.1 * 150/331 * 28 = 1.27 -> 1. */
	for (i = 0; i < H * W; i++)
		img[i] = (float)(i % W) / W;
	nn_augment_op(NN_AUG_TRANSLATE_X, 0.1f, img, tmp, H, W);
	ck_assert_float_eq(img[0], 0.0f);
	ck_assert_float_eq(img[5], 4.0f / W);
}
END_TEST

START_TEST(test_augment_apply_determinism)
{
	enum { H = 28, W = 28 };
	nn_augment_cfg c = { 2, 1, 2, 9 };
	float a[H * W], b[H * W], orig[H * W], tmp[H * W];
	nn_rng r1, r2, rs;
	int k, i, diff = 0;

	nn_rng_seed(&rs, 3, 3);
	for (k = 0; k < 50; k++) {
		random_image(orig, H * W, &rs);
		memcpy(a, orig, sizeof a);
		memcpy(b, orig, sizeof b);
		nn_rng_seed(&r1, 1234, (uint64_t)k);
		nn_rng_seed(&r2, 1234, (uint64_t)k);
		nn_augment_apply(&c, a, tmp, H, W, &r1);
		nn_augment_apply(&c, b, tmp, H, W, &r2);
		ck_assert_mem_eq(a, b, sizeof a);
		for (i = 0; i < H * W; i++)
			ck_assert(a[i] >= 0.0f && a[i] <= 1.0f);
		diff += memcmp(a, orig, sizeof a) != 0;
	}
	ck_assert_int_gt(diff, 40);
}
END_TEST

static void
expect_err(int rc, const h4h_err *e, const char *want)
{
	ck_assert_int_eq(rc, H4H_EINPUT);
	ck_assert_str_eq(e->msg, want);
}

START_TEST(test_err_missing)
{
	nn_dataset *ds = (nn_dataset *)1;
	h4h_err e;
	int rc = nn_dataset_load("/nonexistent/x-images.gz", "/nonexistent/y",
	    10, &ds, &e);

	expect_err(rc, &e, "'/nonexistent/x-images.gz': cannot open: No such "
	    "file or directory");
	ck_assert_ptr_null(ds);
	rc = nn_fmnist_load("/nonexistent", "train", &ds, &e);
	expect_err(rc, &e, "'/nonexistent/train-images-idx3-ubyte.gz': cannot "
	    "open: No such file or directory");
}
END_TEST

START_TEST(test_err_truncated)
{
	tu_tmpdir t;
	size_t len, cut;
	unsigned char *im = make_images(10, 28, 28, &len);
	uint8_t *out;
	int n, H, W, rc;
	char want[512];
	h4h_err e;
	FILE *f;

	tu_tmpdir_make(&t, "check_nn_data");
	tu_tmpdir_path(&t, 0, "img");
	/* Plain file, cut inside the pixels. */
	write_file(t.path[0], im, len - 100, 0);
	rc = nn_idx_read_images(t.path[0], &out, &n, &H, &W, &e);
	snprintf(want, sizeof want, "'%s': truncated: expected 7840 bytes of "
	    "images, got 7740", t.path[0]);
	expect_err(rc, &e, want);
	/* Gzip file whose uncompressed stream is short. */
	write_file(t.path[0], im, len - 784, 1);
	rc = nn_idx_read_images(t.path[0], &out, &n, &H, &W, &e);
	snprintf(want, sizeof want, "'%s': truncated: expected 7840 bytes of "
	    "images, got 7056", t.path[0]);
	expect_err(rc, &e, want);
	/* Gzip file cut in the middle of the compressed stream. */
	write_file(t.path[0], im, len, 1);
	f = fopen(t.path[0], "rb");
	fseek(f, 0, SEEK_END);
	cut = (size_t)ftell(f) / 2;
	fclose(f);
	ck_assert_int_eq(truncate(t.path[0], (off_t)cut), 0);
	rc = nn_idx_read_images(t.path[0], &out, &n, &H, &W, &e);
	ck_assert_int_eq(rc, H4H_EINPUT);
	snprintf(want, sizeof want, "'%s': truncated: expected 7840 bytes of "
	    "images, got ", t.path[0]);
	ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0, "%s", e.msg);
	/* Header cut short. */
	write_file(t.path[0], im, 10, 0);
	rc = nn_idx_read_images(t.path[0], &out, &n, &H, &W, &e);
	snprintf(want, sizeof want, "'%s': truncated: expected 16 bytes of "
	    "header, got 10", t.path[0]);
	expect_err(rc, &e, want);
	/* Labels. */
	{
		size_t ll;
		unsigned char *lb = make_labels(10, &ll);

		write_file(t.path[0], lb, ll - 3, 1);
		rc = nn_idx_read_labels(t.path[0], &out, &n, &e);
		snprintf(want, sizeof want, "'%s': truncated: expected 10 "
		    "bytes of labels, got 7", t.path[0]);
		expect_err(rc, &e, want);
		free(lb);
	}
	free(im);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_err_magic_and_counts)
{
	tu_tmpdir t;
	size_t li, ll;
	unsigned char *im = make_images(10, 4, 4, &li);
	unsigned char *lb = make_labels(10, &ll);
	nn_dataset *ds;
	char want[512];
	uint8_t *out;
	int n, H, W, rc;
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_data");
	write_file(tu_tmpdir_path(&t, 0, "img.gz"), im, li, 1);
	write_file(tu_tmpdir_path(&t, 1, "lbl.gz"), lb, ll, 1);
	/* Labels given as images, and images as labels. */
	rc = nn_idx_read_images(t.path[1], &out, &n, &H, &W, &e);
	snprintf(want, sizeof want, "'%s': not an IDX image file (magic "
	    "0x00000801, expected 0x00000803)", t.path[1]);
	expect_err(rc, &e, want);
	rc = nn_dataset_load(t.path[1], t.path[0], 10, &ds, &e);
	expect_err(rc, &e, want);
	rc = nn_idx_read_labels(t.path[0], &out, &n, &e);
	snprintf(want, sizeof want, "'%s': not an IDX label file (magic "
	    "0x00000803, expected 0x00000801)", t.path[0]);
	expect_err(rc, &e, want);
	/* A text file. */
	write_file(tu_tmpdir_path(&t, 2, "notes.txt"), "hello world, not idx\n", 21,
	    0);
	rc = nn_idx_read_images(t.path[2], &out, &n, &H, &W, &e);
	snprintf(want, sizeof want, "'%s': not an IDX image file (magic "
	    "0x68656c6c, expected 0x00000803)", t.path[2]);
	expect_err(rc, &e, want);
	/* Count mismatch. */
	be32(lb + 4, 9);
	write_file(tu_tmpdir_path(&t, 3, "lbl9"), lb, ll - 1, 0);
	rc = nn_dataset_load(t.path[0], t.path[3], 10, &ds, &e);
	snprintf(want, sizeof want, "'%s' has 10 images but '%s' has 9 labels",
	    t.path[0], t.path[3]);
	expect_err(rc, &e, want);
	/* A label outside the classes. */
	be32(lb + 4, 10);
	lb[8 + 5] = 12;
	write_file(tu_tmpdir_path(&t, 3, "lbl12"), lb, ll, 0);
	rc = nn_dataset_load(t.path[0], t.path[3], 10, &ds, &e);
	snprintf(want, sizeof want, "'%s': label 12 at index 5 is out of "
	    "range 0..9", t.path[3]);
	expect_err(rc, &e, want);
	/* A zero dimension. */
	be32(im + 8, 0);
	write_file(tu_tmpdir_path(&t, 4, "img0"), im, li, 0);
	rc = nn_idx_read_images(t.path[4], &out, &n, &H, &W, &e);
	snprintf(want, sizeof want, "'%s': bad dimension 1: 0", t.path[4]);
	expect_err(rc, &e, want);
	/* Corrupt gzip data (not a truncation). */
	{
		FILE *f;
		long sz;
		unsigned char *gzb;

		f = fopen(t.path[0], "rb");
		fseek(f, 0, SEEK_END);
		sz = ftell(f);
		rewind(f);
		gzb = malloc((size_t)sz);
		ck_assert_uint_eq(fread(gzb, 1, (size_t)sz, f), (size_t)sz);
		fclose(f);
		for (n = 20; n < sz - 12; n++)
			gzb[n] ^= 0x5a;
		write_file(tu_tmpdir_path(&t, 5, "bad.gz"), gzb, (size_t)sz, 0);
		free(gzb);
		rc = nn_idx_read_images(t.path[5], &out, &n, &H, &W, &e);
		ck_assert_int_eq(rc, H4H_EINPUT);
		snprintf(want, sizeof want, "'%s': ", t.path[5]);
		ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0, "%s",
		    e.msg);
	}
	free(im);
	free(lb);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_err_batcher_cfg)
{
	tu_tmpdir t;
	nn_dataset *ds;
	nn_batcher *b = NULL;
	nn_batcher_cfg c;
	int idx[2] = { 0, 12 };
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_data");
	ds = make_dataset(&t, 10, 28, 28, 0);
	c = plain_cfg(0, 28, 28, 1);
	expect_err(nn_batcher_create(ds, NULL, 0, &c, &b, &e), &e,
	    "batch size must be >= 1 (got 0)");
	c = plain_cfg(4, 24, 32, 1);
	expect_err(nn_batcher_create(ds, NULL, 0, &c, &b, &e), &e,
	    "batch plane 24x32 is smaller than the 28x28 images");
	c = plain_cfg(16, 28, 28, 1);
	c.drop_last = 1;
	expect_err(nn_batcher_create(ds, NULL, 0, &c, &b, &e), &e,
	    "10 images make no full batch of 16");
	c = plain_cfg(4, 28, 28, 1);
	c.aug.ra_m = 31;
	expect_err(nn_batcher_create(ds, NULL, 0, &c, &b, &e), &e,
	    "augment: randaugment magnitude must be in 0..30 (got 31)");
	c.aug.ra_m = 9;
	c.aug.crop_pad = 15;
	expect_err(nn_batcher_create(ds, NULL, 0, &c, &b, &e), &e,
	    "augment: crop padding must be in 0..14 for 28x28 images (got 15)");
	c = plain_cfg(4, 28, 28, 1);
	expect_err(nn_batcher_create(ds, idx, 2, &c, &b, &e), &e,
	    "subset index 12 is outside the 10 images");
	c.std = 0.0f;
	expect_err(nn_batcher_create(ds, NULL, 0, &c, &b, &e), &e,
	    "normalisation std must be > 0 (got 0)");
	ck_assert_ptr_null(b);
	nn_dataset_destroy(ds);
	tu_tmpdir_remove(&t);
}
END_TEST

static int
have_fmnist(void)
{
	return access(NN_FMNIST_DIR, F_OK) == 0;
}

/* The real Fashion-MNIST, when installed (main leaves this case out and
 * exits 77, automake's SKIP, when it is not). */
START_TEST(test_real_fmnist)
{
	static const int first_train[10] = { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 };
	static const int first_test[10] = { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 };
	nn_dataset *tr, *te;
	double s = 0, s2 = 0, mean, sd;
	size_t i, n;
	h4h_err e;

	ck_assert_msg(nn_fmnist_load(NULL, "train", &tr, &e) == 0, "%s",
	    e.msg);
	ck_assert_msg(nn_fmnist_load(NN_FMNIST_DIR, "t10k", &te, &e) == 0,
	    "%s", e.msg);
	ck_assert_int_eq(tr->n, 60000);
	ck_assert_int_eq(te->n, 10000);
	ck_assert_int_eq(tr->H, 28);
	ck_assert_int_eq(tr->W, 28);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(tr->labels[i], first_train[i]);
		ck_assert_int_eq(te->labels[i], first_test[i]);
	}
	n = (size_t)tr->n * 784;
	for (i = 0; i < n; i++) {
		double v = tr->images[i] / 255.0;

		s += v;
		s2 += v * v;
	}
	mean = s / n;
	sd = sqrt(s2 / n - mean * mean);
	ck_assert_double_eq_tol(mean, NN_FMNIST_MEAN, 5e-6);
	ck_assert_double_eq_tol(sd, NN_FMNIST_STD, 5e-6);
	nn_dataset_destroy(tr);
	nn_dataset_destroy(te);
}
END_TEST

static Suite *
nn_data_suite(void)
{
	Suite *s = suite_create("nn_data");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_idx_gzip_and_plain);
	tcase_add_test(tc, test_fmnist_dir);
	tcase_add_test(tc, test_split);
	tcase_add_test(tc, test_batcher_shuffle);
	tcase_add_test(tc, test_batcher_subset_order);
	tcase_add_test(tc, test_batcher_pad_and_normalise);
	tcase_add_test(tc, test_batcher_resume);
	tcase_add_test(tc, test_rng);
	tcase_add_test(tc, test_augment_crop_flip);
	tcase_add_test(tc, test_augment_ops_in_range);
	tcase_add_test(tc, test_augment_apply_determinism);
	suite_add_tcase(s, tc);
	tc = tcase_create("Errors");
	tcase_add_test(tc, test_err_missing);
	tcase_add_test(tc, test_err_truncated);
	tcase_add_test(tc, test_err_magic_and_counts);
	tcase_add_test(tc, test_err_batcher_cfg);
	suite_add_tcase(s, tc);
	if (have_fmnist()) {
		tc = tcase_create("Real");
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc, test_real_fmnist);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nn_data_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (failed)
		return 1;
	if (!have_fmnist()) {
		/* The synthetic cases passed; the real-dataset one could not
		 * run, so the program reports SKIP rather than a full PASS. */
		printf("check_nn_data: %s absent (Debian's "
		    "dataset-fashion-mnist): real-dataset case skipped\n",
		    NN_FMNIST_DIR);
		return 77;
	}
	return 0;
}
