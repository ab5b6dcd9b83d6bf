/*
 * netbody.c - network bodies (see netbody.h).
 */
#include "cost/netbody.h"

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

void
db_body_start(db_body *b, int in_h, int in_w, int in_c, int n_layers)
{
	b->n = 0;
	put_u(b, (uint32_t)in_h);
	put_u(b, (uint32_t)in_w);
	put_u(b, (uint32_t)in_c);
	put_u(b, (uint32_t)n_layers);
}

void
db_body_layer(db_body *b, int i, int64_t layer_id, int n_inputs,
    const int *inputs)
{
	put_u(b, (uint64_t)layer_id);
	put_u(b, (uint32_t)n_inputs);
	for (int k = 0; k < n_inputs; k++) {
		int64_t d = (int64_t)i - inputs[k];

		put_u(b, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
	}
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
