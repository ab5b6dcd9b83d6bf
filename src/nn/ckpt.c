/*
 * ckpt.c - checkpoint encoding, atomic writing and validated reading (see
 * ckpt.h; the layout is in doc/nn-data.md).
 *
 * The whole file is built in memory, CRC included, and handed to
 * h4h_write_atomic, so what reaches the disk is either all of it or nothing.
 * Reading loads the whole file (a checkpoint of the reference models is a few
 * MB) and checks, in order: magic, version, length against the header, CRC,
 * then every table entry's bounds, so a table that passed the CRC but lies is
 * still refused rather than trusted.  All integers and tensor data are
 * little-endian on disk whatever the host.
 */
#define _POSIX_C_SOURCE 200809L
#include "nn/ckpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/atomic.h"
#include "core/clock.h"
#include "core/file.h"
#include "core/le.h"

struct nn_ckpt {
	char *path;		/* for messages: the file read, or NULL */
	char *meta;
	int64_t epoch, step;
	int n, cap;
	nn_ckpt_tensor *t;
};

/* A growing byte buffer for encoding. */
typedef struct obuf {
	unsigned char *p;
	size_t len;
} obuf;

static int
host_le(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *)&one == 1;
}

/* dst = src with each esize-byte element converted between host order and
 * little-endian (the same swap both ways). */
static void
copy_le(void *dst, const void *src, size_t nbytes, size_t esize)
{
	const unsigned char *s = src;
	unsigned char *d = dst;
	size_t i, j;

	if (host_le() || esize == 1) {
		memcpy(dst, src, nbytes);
		return;
	}
	for (i = 0; i + esize <= nbytes; i += esize)
		for (j = 0; j < esize; j++)
			d[i + j] = s[i + esize - 1 - j];
}

static size_t
align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static const char *
where(const nn_ckpt *c)
{
	return c->path != NULL ? c->path : "checkpoint";
}

size_t
nn_dtype_size(int dtype)
{
	switch (dtype) {
	case NN_DTYPE_F32:
	case NN_DTYPE_I32:
		return 4;
	case NN_DTYPE_I64:
		return 8;
	case NN_DTYPE_U8:
		return 1;
	default:
		return 0;
	}
}

static const char *
dtype_name(int dtype)
{
	switch (dtype) {
	case NN_DTYPE_F32:
		return "f32";
	case NN_DTYPE_I32:
		return "i32";
	case NN_DTYPE_I64:
		return "i64";
	case NN_DTYPE_U8:
		return "u8";
	default:
		return "unknown";
	}
}

nn_ckpt *
nn_ckpt_create(void)
{
	nn_ckpt *c = h4h_xcalloc(1, sizeof *c);

	c->meta = h4h_xstrdup("");
	return c;
}

void
nn_ckpt_destroy(nn_ckpt *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->t[i].name);
		free(c->t[i].data);
	}
	free(c->t);
	free(c->meta);
	free(c->path);
	free(c);
}

/* Element count of a shape, or 0 with *bad set when a dimension is
 * negative or the product overflows. */
static size_t
shape_count(int ndim, const int64_t *dims, int *bad)
{
	size_t n = 1;
	int i;

	*bad = 0;
	for (i = 0; i < ndim; i++) {
		if (dims[i] < 0 || (dims[i] > 0 &&
		    n > (SIZE_MAX >> 4) / (uint64_t)dims[i])) {
			*bad = 1;
			return 0;
		}
		n *= (size_t)dims[i];
	}
	return n;
}

static void
shape_str(char *buf, size_t len, int ndim, const int64_t *dims)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	if (ndim == 0) {
		snprintf(buf, len, "scalar");
		return;
	}
	for (i = 0; i < ndim && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "x" : "",
		    (long long)dims[i]);
}

/* Takes ownership of name and data. */
static void
push(nn_ckpt *c, char *name, int dtype, int ndim, const int64_t *dims,
    void *data, size_t nbytes)
{
	nn_ckpt_tensor *t;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->t = h4h_xrealloc(c->t, sizeof *c->t * (size_t)c->cap);
	}
	t = &c->t[c->n++];
	memset(t, 0, sizeof *t);
	t->name = name;
	t->dtype = dtype;
	t->ndim = ndim;
	if (ndim > 0)
		memcpy(t->dims, dims, sizeof *dims * (size_t)ndim);
	t->nbytes = nbytes;
	t->data = data;
}

int
nn_ckpt_add(nn_ckpt *c, const char *name, int dtype, int ndim,
    const int64_t *dims, const void *data, h4h_err *err)
{
	size_t es = nn_dtype_size(dtype), n, len = strlen(name);
	void *copy;
	int bad;

	if (len == 0 || len > NN_CKPT_NAME_MAX)
		return h4h_errf(err, H4H_EINPUT,
		    "checkpoint: tensor name '%s' must have 1..%d bytes", name,
		    NN_CKPT_NAME_MAX);
	if (nn_ckpt_find(c, name) != NULL)
		return h4h_errf(err, H4H_EINPUT,
		    "checkpoint: tensor '%s' added twice", name);
	if (es == 0)
		return h4h_errf(err, H4H_EINPUT,
		    "checkpoint: tensor '%s' has unknown dtype %d", name,
		    dtype);
	if (ndim < 0 || ndim > NN_CKPT_MAXDIM)
		return h4h_errf(err, H4H_EINPUT,
		    "checkpoint: tensor '%s' has %d dimensions (0..%d)", name,
		    ndim, NN_CKPT_MAXDIM);
	n = shape_count(ndim, dims, &bad);
	if (bad)
		return h4h_errf(err, H4H_EINPUT,
		    "checkpoint: tensor '%s' has a bad shape", name);
	copy = h4h_xmalloc(n * es);
	memcpy(copy, data, n * es);
	push(c, h4h_xstrdup(name), dtype, ndim, dims, copy, n * es);
	return 0;
}

int
nn_ckpt_add_slab(nn_ckpt *c, const char *prefix, const float *slab,
    const nn_param *tab, int ntab, h4h_err *err)
{
	char name[NN_CKPT_NAME_MAX + 2];
	int64_t dims[NN_PARAM_MAXDIM];
	int i, j, rc;

	for (i = 0; i < ntab; i++) {
		snprintf(name, sizeof name, "%s%s", prefix, tab[i].name);
		for (j = 0; j < tab[i].ndim; j++)
			dims[j] = tab[i].dims[j];
		rc = nn_ckpt_add(c, name, NN_DTYPE_F32, tab[i].ndim, dims,
		    slab + tab[i].offset, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int
nn_ckpt_add_i64(nn_ckpt *c, const char *name, int64_t v, h4h_err *err)
{
	return nn_ckpt_add(c, name, NN_DTYPE_I64, 0, NULL, &v, err);
}

int
nn_ckpt_add_rng(nn_ckpt *c, const char *name, const nn_rng *r, h4h_err *err)
{
	unsigned char st[NN_RNG_STATE_BYTES];
	int64_t dim = NN_RNG_STATE_BYTES;

	nn_rng_save(r, st);
	return nn_ckpt_add(c, name, NN_DTYPE_U8, 1, &dim, st, err);
}

void
nn_ckpt_set_meta(nn_ckpt *c, const char *text)
{
	free(c->meta);
	c->meta = h4h_xstrdup(text != NULL ? text : "");
}

void
nn_ckpt_set_progress(nn_ckpt *c, int64_t epoch, int64_t step)
{
	c->epoch = epoch;
	c->step = step;
}

/* Table entry size on disk. */
static size_t
entry_bytes(const nn_ckpt_tensor *t)
{
	return 4 + strlen(t->name) + 4 + 4 + 8 * (size_t)t->ndim + 8 + 8;
}

static void
encode(const nn_ckpt *c, obuf *o)
{
	size_t meta_len = strlen(c->meta), hdr, off, total, p;
	size_t *data_off = h4h_xmalloc(sizeof *data_off * (size_t)(c->n + 1));
	unsigned char *b;
	int i, j;

	hdr = NN_CKPT_HEADER_BYTES + meta_len;
	for (i = 0; i < c->n; i++)
		hdr += entry_bytes(&c->t[i]);
	off = align8(hdr);
	for (i = 0; i < c->n; i++) {
		data_off[i] = off;
		off = align8(off + c->t[i].nbytes);
	}
	total = off + 4;
	b = h4h_xcalloc(1, total);
	memcpy(b, NN_CKPT_MAGIC, 4);
	h4h_le_put32(b + 4, NN_CKPT_VERSION);
	h4h_le_put64(b + 8, total);
	h4h_le_put64(b + 16, (uint64_t)c->epoch);
	h4h_le_put64(b + 24, (uint64_t)c->step);
	h4h_le_put32(b + 32, (uint32_t)c->n);
	h4h_le_put32(b + 36, (uint32_t)meta_len);
	memcpy(b + NN_CKPT_HEADER_BYTES, c->meta, meta_len);
	p = NN_CKPT_HEADER_BYTES + meta_len;
	for (i = 0; i < c->n; i++) {
		const nn_ckpt_tensor *t = &c->t[i];
		size_t nl = strlen(t->name);

		h4h_le_put32(b + p, (uint32_t)nl);
		memcpy(b + p + 4, t->name, nl);
		p += 4 + nl;
		h4h_le_put32(b + p, (uint32_t)t->dtype);
		h4h_le_put32(b + p + 4, (uint32_t)t->ndim);
		p += 8;
		for (j = 0; j < t->ndim; j++, p += 8)
			h4h_le_put64(b + p, (uint64_t)t->dims[j]);
		h4h_le_put64(b + p, data_off[i]);
		h4h_le_put64(b + p + 8, t->nbytes);
		p += 16;
		copy_le(b + data_off[i], t->data, t->nbytes,
		    nn_dtype_size(t->dtype));
	}
	h4h_le_put32(b + total - 4, crc32(0L, b, (uInt)(total - 4)));
	free(data_off);
	o->p = b;
	o->len = total;
}

static void
write_buf(FILE *f, const void *ctx)
{
	const obuf *o = ctx;

	fwrite(o->p, 1, o->len, f);
}

int
nn_ckpt_write(const nn_ckpt *c, const char *path, h4h_err *err)
{
	obuf o;
	int rc;

	encode(c, &o);
	rc = h4h_write_atomic(path, "checkpoint", write_buf, &o, err);
	free(o.p);
	return rc;
}

static int
corrupt(const char *path, const char *why, h4h_err *err)
{
	return h4h_errf(err, H4H_EINPUT, "'%s': corrupt checkpoint (%s)", path,
	    why);
}

/* Parses the table and payload of a buffer whose CRC has been checked. */
static int
decode(nn_ckpt *c, const unsigned char *b, size_t len, h4h_err *err)
{
	const char *path = c->path;
	size_t p, meta_len, end = len - 4, nl, es, off, nb, cnt;
	uint32_t n, i, ndim, dtype;
	int64_t dims[NN_CKPT_MAXDIM];
	char *name;
	void *data;
	int bad, j;

	c->epoch = (int64_t)h4h_le_get64(b + 16);
	c->step = (int64_t)h4h_le_get64(b + 24);
	/* A CRC says the bytes are as written, not that the writer was
	 * sane: a run counts epochs in an int and steps below 2^53. */
	if (c->epoch < 0 || c->epoch > NN_CKPT_EPOCH_MAX)
		return corrupt(path, "header epoch out of range", err);
	if (c->step < 0 || c->step > NN_CKPT_STEP_MAX)
		return corrupt(path, "header step out of range", err);
	n = h4h_le_get32(b + 32);
	meta_len = (size_t)h4h_le_get32(b + 36);
	if (meta_len > end - NN_CKPT_HEADER_BYTES)
		return corrupt(path, "metadata overruns the file", err);
	free(c->meta);
	c->meta = h4h_xmalloc(meta_len + 1);
	memcpy(c->meta, b + NN_CKPT_HEADER_BYTES, meta_len);
	c->meta[meta_len] = '\0';
	p = NN_CKPT_HEADER_BYTES + meta_len;
	for (i = 0; i < n; i++) {
		if (end - p < 4)
			return corrupt(path, "tensor table overruns the file",
			    err);
		nl = (size_t)h4h_le_get32(b + p);
		if (nl == 0 || nl > NN_CKPT_NAME_MAX || end - p - 4 < nl + 8)
			return corrupt(path, "bad tensor name", err);
		name = h4h_xmalloc(nl + 1);
		memcpy(name, b + p + 4, nl);
		name[nl] = '\0';
		p += 4 + nl;
		dtype = h4h_le_get32(b + p);
		ndim = h4h_le_get32(b + p + 4);
		p += 8;
		es = nn_dtype_size((int)dtype);
		if (es == 0 || ndim > NN_CKPT_MAXDIM ||
		    end - p < 8 * (size_t)ndim + 16 ||
		    nn_ckpt_find(c, name) != NULL) {
			free(name);
			return corrupt(path, "bad tensor table entry", err);
		}
		for (j = 0; j < (int)ndim; j++, p += 8)
			dims[j] = (int64_t)h4h_le_get64(b + p);
		off = (size_t)h4h_le_get64(b + p);
		nb = (size_t)h4h_le_get64(b + p + 8);
		p += 16;
		cnt = shape_count((int)ndim, dims, &bad);
		if (bad || nb != cnt * es || off > end || nb > end - off) {
			free(name);
			return corrupt(path, "tensor data out of bounds", err);
		}
		data = h4h_xmalloc(nb);
		copy_le(data, b + off, nb, es);
		push(c, name, (int)dtype, (int)ndim, dims, data, nb);
	}
	return 0;
}

int
nn_ckpt_read(const char *path, nn_ckpt **out, h4h_err *err)
{
	unsigned char *b;
	char *raw;
	size_t len, want;
	uint32_t version, crc;
	nn_ckpt *c = NULL;
	int rc;

	*out = NULL;
	rc = h4h_file_read(path, H4H_FILE_PATH_FIRST, &raw, &len, err);
	if (rc != 0)
		return rc;
	b = (unsigned char *)raw;
	if (memcmp(b, NN_CKPT_MAGIC, len < 4 ? len : 4) != 0) {
		rc = h4h_errf(err, H4H_EINPUT,
		    "'%s': not an h4h checkpoint (bad magic)", path);
		goto out;
	}
	if (len < NN_CKPT_HEADER_BYTES + 4) {
		rc = h4h_errf(err, H4H_EINPUT,
		    "'%s': truncated checkpoint: expected at least %d bytes, "
		    "got %zu", path, NN_CKPT_HEADER_BYTES + 4, len);
		goto out;
	}
	version = h4h_le_get32(b + 4);
	if (version != NN_CKPT_VERSION) {
		rc = h4h_errf(err, H4H_EINPUT,
		    "'%s': unsupported checkpoint version %u (this build reads "
		    "version %d)", path, version, NN_CKPT_VERSION);
		goto out;
	}
	want = (size_t)h4h_le_get64(b + 8);
	crc = h4h_le_get32(b + len - 4);
	if (crc != (uint32_t)crc32(0L, b, (uInt)(len - 4))) {
		/* A short file whose header promises more was cut off; any
		 * other mismatch is damage. */
		if (len < want)
			rc = h4h_errf(err, H4H_EINPUT,
			    "'%s': truncated checkpoint: expected %zu bytes, "
			    "got %zu", path, want, len);
		else
			rc = h4h_errf(err, H4H_EINPUT,
			    "'%s': corrupt checkpoint (CRC mismatch)", path);
		goto out;
	}
	if (want != len) {
		rc = corrupt(path, "length field disagrees with the file", err);
		goto out;
	}
	c = nn_ckpt_create();
	c->path = h4h_xstrdup(path);
	rc = decode(c, b, len, err);
	if (rc != 0)
		goto out;
	*out = c;
	c = NULL;
out:
	nn_ckpt_destroy(c);
	free(b);
	return rc;
}

const char *
nn_ckpt_meta(const nn_ckpt *c)
{
	return c->meta;
}

void
nn_ckpt_progress(const nn_ckpt *c, int64_t *epoch, int64_t *step)
{
	*epoch = c->epoch;
	*step = c->step;
}

int
nn_ckpt_count(const nn_ckpt *c)
{
	return c->n;
}

const nn_ckpt_tensor *
nn_ckpt_at(const nn_ckpt *c, int i)
{
	return i >= 0 && i < c->n ? &c->t[i] : NULL;
}

const nn_ckpt_tensor *
nn_ckpt_find(const nn_ckpt *c, const char *name)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->t[i].name, name) == 0)
			return &c->t[i];
	return NULL;
}

/* Checks tensor `name` against the expected dtype and shape. */
static int
expect(const nn_ckpt *c, const char *name, int dtype, int ndim,
    const int64_t *dims, const nn_ckpt_tensor **out, h4h_err *err)
{
	const nn_ckpt_tensor *t = nn_ckpt_find(c, name);
	char have[160], want[160];
	int j, same;

	shape_str(want, sizeof want, ndim, dims);
	if (t == NULL)
		return h4h_errf(err, H4H_EINPUT,
		    "'%s': tensor '%s' is missing (the model expects %s)",
		    where(c), name, want);
	if (t->dtype != dtype)
		return h4h_errf(err, H4H_EINPUT,
		    "'%s': tensor '%s' is %s, the model expects %s", where(c),
		    name, dtype_name(t->dtype), dtype_name(dtype));
	same = t->ndim == ndim;
	for (j = 0; same && j < ndim; j++)
		same = t->dims[j] == dims[j];
	if (!same) {
		shape_str(have, sizeof have, t->ndim, t->dims);
		return h4h_errf(err, H4H_EINPUT,
		    "'%s': tensor '%s' has shape %s, the model expects %s",
		    where(c), name, have, want);
	}
	*out = t;
	return 0;
}

int
nn_ckpt_get(const nn_ckpt *c, const char *name, int dtype, int ndim,
    const int64_t *dims, void *dst, h4h_err *err)
{
	const nn_ckpt_tensor *t;
	int rc = expect(c, name, dtype, ndim, dims, &t, err);

	if (rc != 0)
		return rc;
	memcpy(dst, t->data, t->nbytes);
	return 0;
}

int
nn_ckpt_get_slab(const nn_ckpt *c, const char *prefix, float *slab,
    const nn_param *tab, int ntab, h4h_err *err)
{
	char name[NN_CKPT_NAME_MAX + 2];
	int64_t dims[NN_PARAM_MAXDIM];
	const nn_ckpt_tensor *t;
	int i, j, rc, pass;

	/* Pass 0 checks everything, pass 1 copies: a mismatch leaves the
	 * model untouched. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < ntab; i++) {
			snprintf(name, sizeof name, "%s%s", prefix,
			    tab[i].name);
			for (j = 0; j < tab[i].ndim; j++)
				dims[j] = tab[i].dims[j];
			rc = expect(c, name, NN_DTYPE_F32, tab[i].ndim, dims,
			    &t, err);
			if (rc != 0)
				return rc;
			if (pass == 1)
				memcpy(slab + tab[i].offset, t->data,
				    t->nbytes);
		}
	}
	return 0;
}

int
nn_ckpt_get_i64(const nn_ckpt *c, const char *name, int64_t *v,
    h4h_err *err)
{
	return nn_ckpt_get(c, name, NN_DTYPE_I64, 0, NULL, v, err);
}

int
nn_ckpt_get_rng(const nn_ckpt *c, const char *name, nn_rng *r, h4h_err *err)
{
	unsigned char st[NN_RNG_STATE_BYTES];
	int64_t dim = NN_RNG_STATE_BYTES;
	h4h_err e;
	int rc = nn_ckpt_get(c, name, NN_DTYPE_U8, 1, &dim, st, err);

	if (rc != 0)
		return rc;
	rc = nn_rng_load(r, st, sizeof st, &e);
	if (rc != 0)
		return h4h_errf(err, rc, "'%s': tensor '%s': %s", where(c), name,
		    e.msg);
	return 0;
}

int
nn_ckpt_due(int64_t every, double secs, int64_t step, double *last_s)
{
	double now;

	if (every > 0 && step % every == 0) {
		*last_s = h4h_now_s();
		return 1;
	}
	if (secs > 0 && (now = h4h_now_s()) - *last_s >= secs) {
		*last_s = now;
		return 1;
	}
	return 0;
}
