/*
 * check_nn_ckpt.c - checkpoints (ckpt.c): a bit-exact round trip, every
 * refusal (bad magic, unsupported version, CRC mismatch on any flipped
 * byte, truncation at any length, a missing file, a tensor of the wrong
 * shape, dtype or name), atomic writing (no partial file when the directory
 * is missing or unwritable or the write fails midway), and resume: a toy
 * training run (linear softmax classifier, AdamW, cosine schedule, shuffled
 * and augmented batches, RNG-driven input dropout) stopped, checkpointed,
 * torn down and resumed produces the loss curve of an uninterrupted run bit
 * for bit.
 */
#define _GNU_SOURCE
#include "check_util.h"
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nn/ckpt.h"
#include "nn/data.h"
#include "nn/optim.h"
#include "nn/rng.h"

static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static unsigned char *
read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void
write_all(const char *path, const void *b, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* A small model: stem.w 16x1x3x3 (decayed), stem.bn.g/b 16, fc.w 10x16,
 * fc.b 10. */
#define NT 5
#define SLAB (144 + 16 + 16 + 160 + 10)
static const nn_param model[NT] = {
	{ "stem.w", 0, 4, { 16, 1, 3, 3 }, 1 },
	{ "stem.bn.g", 144, 1, { 16 }, 0 },
	{ "stem.bn.b", 160, 1, { 16 }, 0 },
	{ "fc.w", 176, 2, { 10, 16 }, 1 },
	{ "fc.b", 336, 1, { 10 }, 0 },
};

/* Random bit patterns, NaNs, infinities and -0 included. */
static void
fill_bits(float *p, size_t n, nn_rng *r)
{
	size_t i;
	uint32_t u;

	for (i = 0; i < n; i++) {
		u = nn_rng_u32(r);
		memcpy(&p[i], &u, 4);
	}
	u = 0x7fc00001u;
	memcpy(&p[0], &u, 4);
	p[1] = INFINITY;
	p[2] = -0.0f;
	p[3] = 1e-45f;
}

static nn_ckpt *
make_ckpt(float *w, float *m, float *v, nn_rng *r)
{
	nn_ckpt *c = nn_ckpt_create();
	h4h_err e;

	ck_assert_int_eq(nn_ckpt_add_slab(c, "", w, model, NT, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_slab(c, "adam.m.", m, model, NT, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_slab(c, "adam.v.", v, model, NT, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_rng(c, "rng.dropout", r, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_i64(c, "data.epoch", 3, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_i64(c, "data.pos", -1234567890123LL, &e),
	    0);
	nn_ckpt_set_meta(c, "{\"model\": \"ref-hybrid\", \"lr\": 0.002}");
	nn_ckpt_set_progress(c, 7, 3281);
	return c;
}

START_TEST(test_roundtrip)
{
	tu_tmpdir t;
	float w[SLAB], m[SLAB], v[SLAB], w2[SLAB], m2[SLAB], v2[SLAB];
	nn_rng r, r2;
	nn_ckpt *c, *d;
	int64_t ep, st, x;
	unsigned char *b1, *b2;
	size_t l1, l2;
	h4h_err e;
	int i;

	tu_tmpdir_make(&t, "check_nn_ckpt");
	nn_rng_seed(&r, 77, 0);
	fill_bits(w, SLAB, &r);
	fill_bits(m, SLAB, &r);
	fill_bits(v, SLAB, &r);
	(void)nn_rng_normal(&r);	/* leave a spare in the state */
	c = make_ckpt(w, m, v, &r);
	ck_assert_msg(nn_ckpt_write(c, tu_tmpdir_path(&t, 0, "a.ckpt"), &e) == 0,
	    "%s", e.msg);
	ck_assert_int_eq(dir_entries(t.dir), 1);	/* no temporary left */
	ck_assert_msg(nn_ckpt_read(t.path[0], &d, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(nn_ckpt_count(d), 3 * NT + 3);
	ck_assert_str_eq(nn_ckpt_meta(d),
	    "{\"model\": \"ref-hybrid\", \"lr\": 0.002}");
	nn_ckpt_progress(d, &ep, &st);
	ck_assert_int_eq(ep, 7);
	ck_assert_int_eq(st, 3281);
	memset(w2, 0, sizeof w2);
	ck_assert_int_eq(nn_ckpt_get_slab(d, "", w2, model, NT, &e), 0);
	ck_assert_int_eq(nn_ckpt_get_slab(d, "adam.m.", m2, model, NT, &e), 0);
	ck_assert_int_eq(nn_ckpt_get_slab(d, "adam.v.", v2, model, NT, &e), 0);
	ck_assert_mem_eq(w, w2, sizeof w);
	ck_assert_mem_eq(m, m2, sizeof m);
	ck_assert_mem_eq(v, v2, sizeof v);
	ck_assert_int_eq(nn_ckpt_get_rng(d, "rng.dropout", &r2, &e), 0);
	for (i = 0; i < 10; i++)
		ck_assert_float_eq(nn_rng_normal(&r), nn_rng_normal(&r2));
	ck_assert_int_eq(nn_ckpt_get_i64(d, "data.epoch", &x, &e), 0);
	ck_assert_int_eq(x, 3);
	ck_assert_int_eq(nn_ckpt_get_i64(d, "data.pos", &x, &e), 0);
	ck_assert_int_eq(x, -1234567890123LL);
	/* Writing what was read gives the same bytes. */
	ck_assert_int_eq(nn_ckpt_write(d, tu_tmpdir_path(&t, 1, "b.ckpt"), &e), 0);
	b1 = read_all(t.path[0], &l1);
	b2 = read_all(t.path[1], &l2);
	ck_assert_uint_eq(l1, l2);
	ck_assert_mem_eq(b1, b2, l1);
	/* The layout doc/nn-data.md gives: magic, version, length, epoch,
	 * step, count, metadata length, CRC of the rest at the end. */
	ck_assert_mem_eq(b1, "H4HC\x01\x00\x00\x00", 8);
	ck_assert_uint_eq(b1[8] | b1[9] << 8 | b1[10] << 16, l1);
	ck_assert_uint_eq(b1[16], 7);
	ck_assert_uint_eq(b1[32], 3 * NT + 3);
	ck_assert_uint_eq(b1[36], strlen(nn_ckpt_meta(d)));
	ck_assert_uint_eq((uint32_t)b1[l1 - 4] | (uint32_t)b1[l1 - 3] << 8 |
	    (uint32_t)b1[l1 - 2] << 16 | (uint32_t)b1[l1 - 1] << 24,
	    (uint32_t)crc32(0L, b1, (uInt)(l1 - 4)));
	/* Overwriting an existing checkpoint replaces it. */
	ck_assert_int_eq(nn_ckpt_write(c, t.path[1], &e), 0);
	free(b1);
	free(b2);
	nn_ckpt_destroy(c);
	nn_ckpt_destroy(d);
	tu_tmpdir_remove(&t);
}
END_TEST

/* A checkpoint written to slot 0, its bytes returned. */
static unsigned char *
good_file(tu_tmpdir *t, size_t *len)
{
	float w[SLAB], m[SLAB], v[SLAB];
	nn_rng r;
	nn_ckpt *c;
	h4h_err e;

	nn_rng_seed(&r, 5, 0);
	fill_bits(w, SLAB, &r);
	fill_bits(m, SLAB, &r);
	fill_bits(v, SLAB, &r);
	c = make_ckpt(w, m, v, &r);
	ck_assert_int_eq(nn_ckpt_write(c, tu_tmpdir_path(t, 0, "good.ckpt"), &e), 0);
	nn_ckpt_destroy(c);
	return read_all(t->path[0], len);
}

START_TEST(test_crc_every_byte)
{
	tu_tmpdir t;
	size_t len, i;
	unsigned char *b;
	nn_ckpt *d;
	char crcmsg[300];
	h4h_err e;
	int rc;

	tu_tmpdir_make(&t, "check_nn_ckpt");
	b = good_file(&t, &len);
	tu_tmpdir_path(&t, 1, "bad.ckpt");
	snprintf(crcmsg, sizeof crcmsg,
	    "'%s': corrupt checkpoint (CRC mismatch)", t.path[1]);
	/* Past magic and version, a flipped bit anywhere is refused; outside
	 * the length field the message is the CRC one. */
	for (i = 8; i < len; i++) {
		b[i] ^= 0x10;
		write_all(t.path[1], b, len);
		d = NULL;
		rc = nn_ckpt_read(t.path[1], &d, &e);
		ck_assert_msg(rc == H4H_EINPUT, "flip at %zu accepted", i);
		ck_assert_ptr_null(d);
		if (i >= 16)
			ck_assert_str_eq(e.msg, crcmsg);
		b[i] ^= 0x10;
	}
	free(b);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_truncated)
{
	tu_tmpdir t;
	size_t len, cut;
	unsigned char *b;
	nn_ckpt *d;
	char want[300];
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_ckpt");
	b = good_file(&t, &len);
	tu_tmpdir_path(&t, 1, "cut.ckpt");
	for (cut = 0; cut < len; cut += (cut < 64 ? 1 : 97)) {
		write_all(t.path[1], b, cut);
		ck_assert_int_eq(nn_ckpt_read(t.path[1], &d, &e), H4H_EINPUT);
		if (cut < 44)
			snprintf(want, sizeof want, "'%s': truncated "
			    "checkpoint: expected at least 44 bytes, got %zu",
			    t.path[1], cut);
		else
			snprintf(want, sizeof want, "'%s': truncated "
			    "checkpoint: expected %zu bytes, got %zu",
			    t.path[1], len, cut);
		ck_assert_str_eq(e.msg, want);
	}
	free(b);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_magic_version_missing)
{
	tu_tmpdir t;
	size_t len;
	unsigned char *b;
	nn_ckpt *d;
	char want[300];
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_ckpt");
	b = good_file(&t, &len);
	tu_tmpdir_path(&t, 1, "x.ckpt");
	b[4] = 2;
	write_all(t.path[1], b, len);
	ck_assert_int_eq(nn_ckpt_read(t.path[1], &d, &e), H4H_EINPUT);
	snprintf(want, sizeof want, "'%s': unsupported checkpoint version 2 "
	    "(this build reads version 1)", t.path[1]);
	ck_assert_str_eq(e.msg, want);
	b[4] = 1;
	b[3] = 'D';
	write_all(t.path[1], b, len);
	ck_assert_int_eq(nn_ckpt_read(t.path[1], &d, &e), H4H_EINPUT);
	snprintf(want, sizeof want, "'%s': not an h4h checkpoint (bad magic)",
	    t.path[1]);
	ck_assert_str_eq(e.msg, want);
	write_all(t.path[1], "{\"json\": true}\n", 15);
	ck_assert_int_eq(nn_ckpt_read(t.path[1], &d, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, want);
	ck_assert_int_eq(nn_ckpt_read("/nonexistent/a.ckpt", &d, &e),
	    H4H_EINPUT);
	ck_assert_str_eq(e.msg, "'/nonexistent/a.ckpt': cannot open: No such "
	    "file or directory");
	free(b);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_shape_mismatch)
{
	tu_tmpdir t;
	size_t len;
	unsigned char *b;
	nn_ckpt *d;
	nn_param other[NT];
	float w[SLAB + 200], before[SLAB + 200];
	char want[300];
	int64_t dims[2] = { 10, 16 };
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_ckpt");
	b = good_file(&t, &len);
	ck_assert_int_eq(nn_ckpt_read(t.path[0], &d, &e), 0);
	/* The model now expects a wider stem: refused, model untouched. */
	memcpy(other, model, sizeof other);
	other[0].dims[0] = 24;
	other[1].offset = 216;
	other[2].offset = 240;
	other[3].offset = 256;
	other[4].offset = 416;
	memset(w, 0x3c, sizeof w);
	memcpy(before, w, sizeof w);
	ck_assert_int_eq(nn_ckpt_get_slab(d, "", w, other, NT, &e),
	    H4H_EINPUT);
	snprintf(want, sizeof want, "'%s': tensor 'stem.w' has shape 16x1x3x3, "
	    "the model expects 24x1x3x3", t.path[0]);
	ck_assert_str_eq(e.msg, want);
	ck_assert_mem_eq(w, before, sizeof w);
	/* A mismatch late in the table also leaves earlier tensors alone. */
	memcpy(other, model, sizeof other);
	other[4].dims[0] = 11;
	ck_assert_int_eq(nn_ckpt_get_slab(d, "adam.v.", w, other, NT, &e),
	    H4H_EINPUT);
	snprintf(want, sizeof want, "'%s': tensor 'adam.v.fc.b' has shape 10, "
	    "the model expects 11", t.path[0]);
	ck_assert_str_eq(e.msg, want);
	ck_assert_mem_eq(w, before, sizeof w);
	/* A name the checkpoint lacks. */
	other[4].dims[0] = 10;
	other[4].name = "head.b";
	ck_assert_int_eq(nn_ckpt_get_slab(d, "", w, other, NT, &e),
	    H4H_EINPUT);
	snprintf(want, sizeof want, "'%s': tensor 'head.b' is missing (the "
	    "model expects 10)", t.path[0]);
	ck_assert_str_eq(e.msg, want);
	/* Wrong dtype, and a scalar read as a matrix. */
	ck_assert_int_eq(nn_ckpt_get(d, "fc.w", NN_DTYPE_I32, 2, dims, w, &e),
	    H4H_EINPUT);
	snprintf(want, sizeof want, "'%s': tensor 'fc.w' is f32, the model "
	    "expects i32", t.path[0]);
	ck_assert_str_eq(e.msg, want);
	ck_assert_int_eq(nn_ckpt_get(d, "data.pos", NN_DTYPE_I64, 2, dims, w,
	    &e), H4H_EINPUT);
	snprintf(want, sizeof want, "'%s': tensor 'data.pos' has shape scalar, "
	    "the model expects 10x16", t.path[0]);
	ck_assert_str_eq(e.msg, want);
	ck_assert_ptr_null(nn_ckpt_find(d, "nope"));
	nn_ckpt_destroy(d);
	free(b);
	tu_tmpdir_remove(&t);
}
END_TEST

START_TEST(test_add_errors)
{
	nn_ckpt *c = nn_ckpt_create();
	int64_t dims[1] = { 2 };
	float x[2] = { 1, 2 };
	char longname[300];
	h4h_err e;

	ck_assert_int_eq(nn_ckpt_add(c, "a", NN_DTYPE_F32, 1, dims, x, &e), 0);
	ck_assert_int_eq(nn_ckpt_add(c, "a", NN_DTYPE_F32, 1, dims, x, &e),
	    H4H_EINPUT);
	ck_assert_str_eq(e.msg, "checkpoint: tensor 'a' added twice");
	ck_assert_int_eq(nn_ckpt_add(c, "b", 9, 1, dims, x, &e), H4H_EINPUT);
	ck_assert_str_eq(e.msg, "checkpoint: tensor 'b' has unknown dtype 9");
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	ck_assert_int_eq(nn_ckpt_add(c, longname, NN_DTYPE_F32, 1, dims, x,
	    &e), H4H_EINPUT);
	nn_ckpt_destroy(c);
	nn_ckpt_destroy(NULL);
}
END_TEST

START_TEST(test_atomic_unwritable)
{
	tu_tmpdir t;
	nn_ckpt *c = nn_ckpt_create();
	char want[300], sub[200];
	h4h_err e;
	int64_t dims[1] = { 4 };
	float x[4] = { 1, 2, 3, 4 };

	tu_tmpdir_make(&t, "check_nn_ckpt");
	ck_assert_int_eq(nn_ckpt_add(c, "x", NN_DTYPE_F32, 1, dims, x, &e), 0);
	/* A directory that does not exist. */
	snprintf(sub, sizeof sub, "%s/none/a.ckpt", t.dir);
	ck_assert_int_eq(nn_ckpt_write(c, sub, &e), H4H_EIO);
	snprintf(want, sizeof want, "cannot write checkpoint '%s': No such "
	    "file or directory", sub);
	ck_assert_str_eq(e.msg, want);
	/* A parent that is a regular file: no permission lets anyone, root
	 * included, write below it, so this case runs for every user. */
	snprintf(sub, sizeof sub, "%s/plain", t.dir);
	write_all(sub, (const unsigned char *)"x", 1);
	snprintf(sub, sizeof sub, "%s/plain/a.ckpt", t.dir);
	ck_assert_int_eq(nn_ckpt_write(c, sub, &e), H4H_EIO);
	snprintf(want, sizeof want, "cannot write checkpoint '%s': Not a "
	    "directory", sub);
	ck_assert_str_eq(e.msg, want);
	/* A read-only directory: root ignores the mode bits, so only another
	 * user can see it refused. */
	snprintf(sub, sizeof sub, "%s/ro", t.dir);
	ck_assert_int_eq(mkdir(sub, 0555), 0);
	if (geteuid() == 0) {
		printf("check_nn_ckpt: running as root, read-only directory "
		    "case not checked (the regular-file parent is)\n");
	} else {
		snprintf(sub, sizeof sub, "%s/ro/a.ckpt", t.dir);
		ck_assert_int_eq(nn_ckpt_write(c, sub, &e), H4H_EIO);
		snprintf(want, sizeof want, "cannot write checkpoint '%s': "
		    "Permission denied", sub);
		ck_assert_str_eq(e.msg, want);
		snprintf(sub, sizeof sub, "%s/ro", t.dir);
		ck_assert_int_eq(dir_entries(sub), 0);
	}
	nn_ckpt_destroy(c);
	tu_tmpdir_remove(&t);
}
END_TEST

/* A write that fails midway (the file-size limit stops it) leaves the old
 * checkpoint as it was and no temporary file. */
START_TEST(test_atomic_midway_failure)
{
	tu_tmpdir t;
	size_t len, len2;
	unsigned char *b, *b2;
	nn_ckpt *c = nn_ckpt_create();
	float *big = calloc(1 << 20, sizeof *big);
	int64_t dims[1] = { 1 << 20 };
	struct rlimit old, lim;
	h4h_err e;
	int rc;

	tu_tmpdir_make(&t, "check_nn_ckpt");
	b = good_file(&t, &len);
	ck_assert_int_eq(nn_ckpt_add(c, "big", NN_DTYPE_F32, 1, dims, big, &e),
	    0);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 65536;
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = nn_ckpt_write(c, t.path[0], &e);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	ck_assert_int_eq(rc, H4H_EIO);
	ck_assert_msg(strstr(e.msg, "cannot write checkpoint") == e.msg, "%s",
	    e.msg);
	ck_assert_int_eq(dir_entries(t.dir), 1);
	b2 = read_all(t.path[0], &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(b, b2, len);
	free(b);
	free(b2);
	free(big);
	nn_ckpt_destroy(c);
	tu_tmpdir_remove(&t);
}
END_TEST

/* ---- resume: a toy training run ---- */

enum { RH = 8, RW = 8, RB = 16, RN = 200, RC = 8, RD = RH * RW };

static const nn_param toy[2] = {
	{ "fc.w", 0, 2, { RC, RD }, 1 },
	{ "fc.b", RC * RD, 1, { RC }, 0 },
};
#define TOY (RC * RD + RC)

typedef struct toyrun {
	float p[TOY], g[TOY], m[TOY], v[TOY];
	nn_rng drop;		/* input dropout */
	nn_batcher *it;
	int64_t step, epoch;
} toyrun;

static void
toy_start(toyrun *r, const nn_dataset *ds)
{
	nn_batcher_cfg c;
	nn_rng init;
	h4h_err e;
	int i;

	memset(r, 0, sizeof *r);
	memset(&c, 0, sizeof c);
	c.batch = RB;
	c.out_h = RH;
	c.out_w = RW;
	c.mean = 0.5f;
	c.std = 0.25f;
	c.shuffle = 1;
	c.aug.crop_pad = 1;
	c.aug.hflip = 1;
	c.aug.ra_n = 1;
	c.aug.ra_m = 2;
	c.seed = 2024;
	ck_assert_int_eq(nn_batcher_create(ds, NULL, 0, &c, &r->it, &e), 0);
	nn_rng_seed(&init, 2024, NN_RNG_TAG_USER);
	for (i = 0; i < TOY; i++)
		r->p[i] = 0.05f * nn_rng_normal(&init);
	nn_rng_seed(&r->drop, 2024, NN_RNG_TAG_USER + 1);
}

/* One optimizer step; returns the batch loss. */
static float
toy_step(toyrun *r, const nn_sched *s)
{
	static const nn_adamw_cfg cfg = { 0.9f, 0.999f, 1e-8f, 0.05f };
	float x[RB * RD], logit[RC], mx, sum, loss = 0;
	int y[RB], k, i, j, c;

	while ((k = nn_batcher_next(r->it, x, y)) == 0)
		r->epoch++;
	memset(r->g, 0, sizeof r->g);
	for (i = 0; i < k; i++) {
		float *xi = x + i * RD;

		for (j = 0; j < RD; j++)
			if (nn_rng_uniform(&r->drop) < 0.1f)
				xi[j] = 0.0f;
		mx = -1e30f;
		for (c = 0; c < RC; c++) {
			logit[c] = r->p[RC * RD + c];
			for (j = 0; j < RD; j++)
				logit[c] += r->p[c * RD + j] * xi[j];
			mx = logit[c] > mx ? logit[c] : mx;
		}
		for (sum = 0, c = 0; c < RC; c++)
			sum += (logit[c] = expf(logit[c] - mx));
		loss -= logf(logit[y[i]] / sum) / k;
		for (c = 0; c < RC; c++) {
			float d = (logit[c] / sum - (c == y[i])) / k;

			for (j = 0; j < RD; j++)
				r->g[c * RD + j] += d * xi[j];
			r->g[RC * RD + c] += d;
		}
	}
	nn_adamw_step(&cfg, nn_sched_lr(s, r->step), r->step + 1,
	    nn_grad_clip_scale(nn_grad_norm(r->g, TOY), 1.0f), r->p, r->g,
	    r->m, r->v, toy, 2);
	r->step++;
	return loss;
}

static void
toy_save(const toyrun *r, const char *path)
{
	nn_ckpt *c = nn_ckpt_create();
	int64_t ep, pos;
	h4h_err e;

	nn_batcher_tell(r->it, &ep, &pos);
	ck_assert_int_eq(nn_ckpt_add_slab(c, "", r->p, toy, 2, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_slab(c, "adam.m.", r->m, toy, 2, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_slab(c, "adam.v.", r->v, toy, 2, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_rng(c, "rng.dropout", &r->drop, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_i64(c, "data.epoch", ep, &e), 0);
	ck_assert_int_eq(nn_ckpt_add_i64(c, "data.pos", pos, &e), 0);
	nn_ckpt_set_progress(c, r->epoch, r->step);
	nn_ckpt_set_meta(c, "{\"model\": \"toy\"}");
	ck_assert_int_eq(nn_ckpt_write(c, path, &e), 0);
	nn_ckpt_destroy(c);
}

static void
toy_load(toyrun *r, const char *path)
{
	nn_ckpt *c;
	int64_t ep, pos;
	h4h_err e;

	ck_assert_msg(nn_ckpt_read(path, &c, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(nn_ckpt_get_slab(c, "", r->p, toy, 2, &e), 0);
	ck_assert_int_eq(nn_ckpt_get_slab(c, "adam.m.", r->m, toy, 2, &e), 0);
	ck_assert_int_eq(nn_ckpt_get_slab(c, "adam.v.", r->v, toy, 2, &e), 0);
	ck_assert_int_eq(nn_ckpt_get_rng(c, "rng.dropout", &r->drop, &e), 0);
	ck_assert_int_eq(nn_ckpt_get_i64(c, "data.epoch", &ep, &e), 0);
	ck_assert_int_eq(nn_ckpt_get_i64(c, "data.pos", &pos, &e), 0);
	ck_assert_int_eq(nn_batcher_seek(r->it, ep, pos, &e), 0);
	nn_ckpt_progress(c, &r->epoch, &r->step);
	nn_ckpt_destroy(c);
}

START_TEST(test_resume_bit_exact)
{
	enum { STEPS = 60, STOP = 23 };	/* 13 batches an epoch: mid-epoch */
	tu_tmpdir t;
	unsigned char *im = malloc(16 + RN * RD), lb[8 + RN];
	nn_dataset *ds;
	nn_sched s = { 0.01f, 0.0f, 5, STEPS };
	float ref[STEPS], got, first, last;
	toyrun *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	nn_rng r;
	h4h_err e;
	int i;

	tu_tmpdir_make(&t, "check_nn_ckpt");
	/* Class c: row c bright, the rest dark, both noisy. */
	nn_rng_seed(&r, 1, 1);
	memcpy(im, "\0\0\x08\x03\0\0\0\xc8\0\0\0\x08\0\0\0\x08", 16);
	memcpy(lb, "\0\0\x08\x01\0\0\0\xc8", 8);
	for (i = 0; i < RN; i++) {
		int j;

		lb[8 + i] = (unsigned char)(i % RC);
		for (j = 0; j < RD; j++)
			im[16 + i * RD + j] = (unsigned char)((j / RW == i % RC ?
			    180 : 30) + nn_rng_below(&r, 60));
	}
	write_all(tu_tmpdir_path(&t, 0, "img"), im, 16 + RN * RD);
	write_all(tu_tmpdir_path(&t, 1, "lbl"), lb, 8 + RN);
	ck_assert_msg(nn_dataset_load(t.path[0], t.path[1], RC, &ds, &e) == 0,
	    "%s", e.msg);
	toy_start(a, ds);
	for (i = 0; i < STEPS; i++) {
		ref[i] = toy_step(a, &s);
		if (getenv("TOY_LOSS"))
			printf("%d %g\n", i, (double)ref[i]);
	}
	/* It learns (augmentation makes single batches noisy). */
	for (i = 0, first = 0, last = 0; i < 10; i++) {
		first += ref[i];
		last += ref[STEPS - 10 + i];
	}
	ck_assert_float_lt(last, 0.8f * first);
	nn_batcher_destroy(a->it);
	/* Interrupted run: stop, save, tear down, start afresh, load. */
	toy_start(a, ds);
	for (i = 0; i < STOP; i++)
		ck_assert_float_eq(toy_step(a, &s), ref[i]);
	toy_save(a, tu_tmpdir_path(&t, 2, "run.ckpt"));
	nn_batcher_destroy(a->it);
	memset(a, 0xff, sizeof *a);
	toy_start(b, ds);
	toy_load(b, t.path[2]);
	ck_assert_int_eq(b->step, STOP);
	for (i = STOP; i < STEPS; i++) {
		got = toy_step(b, &s);
		ck_assert_msg(memcmp(&got, &ref[i], sizeof got) == 0,
		    "step %d: resumed loss %.9g, uninterrupted %.9g", i,
		    (double)got, (double)ref[i]);
	}
	nn_batcher_destroy(b->it);
	nn_dataset_destroy(ds);
	free(a);
	free(b);
	free(im);
	tu_tmpdir_remove(&t);
}
END_TEST

/* A CRC-valid file whose header counters no trainer could have written
 * (a negative step, a step or epoch past the limits) is refused on read,
 * naming the field; the limits themselves are accepted. */
START_TEST(test_header_ranges)
{
	static const struct {
		int64_t epoch, step;
		const char *word;	/* NULL: accepted */
	} cases[] = {
		{ 0, -2147483649LL, "header step out of range" },
		{ 0, -1, "header step out of range" },
		{ 0, NN_CKPT_STEP_MAX + 1, "header step out of range" },
		{ -1, 5, "header epoch out of range" },
		{ NN_CKPT_EPOCH_MAX + 1, 5, "header epoch out of range" },
		{ NN_CKPT_EPOCH_MAX, NN_CKPT_STEP_MAX, NULL },
		{ 0, 0, NULL },
	};
	tu_tmpdir t;
	h4h_err e;

	tu_tmpdir_make(&t, "check_nn_ckpt");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		nn_ckpt *c = nn_ckpt_create(), *d = NULL;
		int rc;

		nn_ckpt_set_progress(c, cases[i].epoch, cases[i].step);
		ck_assert_int_eq(nn_ckpt_add_i64(c, "step", 1, &e), 0);
		ck_assert_int_eq(nn_ckpt_write(c, tu_tmpdir_path(&t, 0, "h.ckpt"),
		    &e), 0);
		nn_ckpt_destroy(c);
		rc = nn_ckpt_read(t.path[0], &d, &e);
		if (cases[i].word == NULL) {
			ck_assert_msg(rc == 0, "case %zu: %s", i, e.msg);
		} else {
			ck_assert_int_eq(rc, H4H_EINPUT);
			ck_assert_ptr_null(d);
			ck_assert_msg(strstr(e.msg, cases[i].word) != NULL,
			    "case %zu: %s", i, e.msg);
		}
		nn_ckpt_destroy(d);
	}
	tu_tmpdir_remove(&t);
}
END_TEST

static Suite *
nn_ckpt_suite(void)
{
	Suite *s = suite_create("nn_ckpt");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_resume_bit_exact);
	suite_add_tcase(s, tc);
	tc = tcase_create("Limits");
	tcase_add_test(tc, test_atomic_unwritable);
	tcase_add_test(tc, test_atomic_midway_failure);
	suite_add_tcase(s, tc);
	tc = tcase_create("Errors");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_crc_every_byte);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_magic_version_missing);
	tcase_add_test(tc, test_shape_mismatch);
	tcase_add_test(tc, test_add_errors);
	tcase_add_test(tc, test_header_ranges);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nn_ckpt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
