/*
 * netbody.c - network bodies (see netbody.h).
 */
#include "cost/netbody.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "sim/spec/canon.h"

static void
put_u(db_body *b, uint64_t v)
{
	if (b->n + 10 > b->cap) {
		b->cap = b->cap ? 2 * b->cap : 256;
		b->p = h4h_xrealloc(b->p, b->cap);
	}
	do {
		unsigned char c = v & 0x7f;

		v >>= 7;
		b->p[b->n++] = c | (v ? 0x80 : 0);
	} while (v);
}

static uint64_t
zigzag(int64_t d)
{
	return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

static int64_t
unzigzag(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

void
db_body_start(db_body *b, int version, int in_h, int in_w, int in_c,
    int n_layers)
{
	b->n = 0;
	b->version = version;
	b->prev = 0;
	put_u(b, (uint32_t)in_h);
	put_u(b, (uint32_t)in_w);
	put_u(b, (uint32_t)in_c);
	put_u(b, (uint32_t)n_layers);
}

void
db_body_layer(db_body *b, int i, int64_t layer_id, int n_inputs,
    const int *inputs)
{
	if (b->version >= DB_BODY_V6) {
		/* Most layers read the one before them: one flag bit. */
		int chain = n_inputs == 1 && i - inputs[0] == 1;

		put_u(b, zigzag(layer_id - b->prev) << 1 | (uint64_t)chain);
		b->prev = layer_id;
		if (chain)
			return;
	} else {
		put_u(b, (uint64_t)layer_id);
	}
	put_u(b, (uint32_t)n_inputs);
	for (int k = 0; k < n_inputs; k++)
		put_u(b, zigzag((int64_t)i - inputs[k]));
}

/* The varint at *at (below end), or -1 past the end or over 63 bits. */
static int
get_u(const unsigned char **at, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 63; shift += 7) {
		unsigned char c;

		if (*at >= end)
			return -1;
		c = *(*at)++;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
	}
	return -1;
}

int
db_body_walk(const void *body, size_t n, int version, int *in_h, int *in_w,
    int *in_c, int *n_layers, db_body_layer_fn fn, void *ctx)
{
	const unsigned char *at = body, *end = at + n;
	uint64_t h, w, c, nl, u;
	int64_t prev = 0;
	int rc;

	if (get_u(&at, end, &h) || get_u(&at, end, &w) ||
	    get_u(&at, end, &c) || get_u(&at, end, &nl) || h > INT_MAX ||
	    w > INT_MAX || c > INT_MAX || nl > INT_MAX)
		return -1;
	*in_h = (int)h, *in_w = (int)w, *in_c = (int)c, *n_layers = (int)nl;
	for (int i = 0; i < (int)nl; i++) {
		int inputs[DB_BODY_MAX_INPUTS], k, chain = 0;
		int64_t id;
		uint64_t ni;

		if (get_u(&at, end, &u))
			return -1;
		if (version >= DB_BODY_V6) {
			chain = (int)(u & 1);
			id = prev + unzigzag(u >> 1);
			prev = id;
		} else {
			id = (int64_t)u;
		}
		if (chain) {
			ni = 1;
			inputs[0] = i - 1;
		} else {
			if (get_u(&at, end, &ni) || ni == 0 ||
			    ni > DB_BODY_MAX_INPUTS)
				return -1;
			for (k = 0; k < (int)ni; k++) {
				int64_t d;

				if (get_u(&at, end, &u))
					return -1;
				d = unzigzag(u);
				if (d < 1 || d > (int64_t)i + 1)
					return -1;	/* not an earlier layer */
				inputs[k] = (int)(i - d);
			}
		}
		if (id <= 0)
			return -1;
		if (fn != NULL && (rc = fn(ctx, i, id, (int)ni, inputs)) != 0)
			return rc;
	}
	return at == end ? 0 : -1;
}

void
db_body_free(db_body *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

int
db_canon_split(const char *canon, int *in_h, int *in_w, int *in_c,
    int *n_layers, db_canon_layer_fn fn, void *ctx)
{
	const char *p = canon, *nl;
	char key[SIM_LAYER_KEY_MAX];
	int n, i = 0, rc;

	if (sscanf(p, "input %dx%dx%d%n", in_h, in_w, in_c, &n) != 3 ||
	    p[n] != '\n')
		return -1;
	p += n + 1;
	for (const char *q = p; *q != '\0'; q++)
		i += *q == '\n';
	*n_layers = i;
	for (i = 0; *p != '\0'; i++, p = nl + 1) {
		/* "KEY < I [J]": a key holds no '<'. */
		const char *lt = strchr(p, '<');
		int inputs[2], k = 0;
		char *end;

		nl = strchr(p, '\n');
		if (nl == NULL || lt == NULL || lt > nl || lt == p ||
		    lt[-1] != ' ' || (size_t)(lt - 1 - p) >= sizeof key)
			return -1;
		memcpy(key, p, (size_t)(lt - 1 - p));
		key[lt - 1 - p] = '\0';
		for (const char *q = lt + 1; q < nl; k++) {
			long v;

			if (*q != ' ' || k == 2)
				return -1;
			v = strtol(q + 1, &end, 10);
			if (end == q + 1 || end > nl || v < -1 || v > 1 << 30)
				return -1;
			inputs[k] = (int)v;
			q = end;
		}
		if (k == 0)
			return -1;
		if (fn != NULL && (rc = fn(ctx, i, key, k, inputs)) != 0)
			return rc;
	}
	return 0;
}
