/*
 * accdata.c - stratified subnet samples and the accuracy dataset CSV
 * (accdata.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "core/hash.h"
#include "nas/accdata.h"

/* Choice indices that a no_vit draw may use for decision d. */
static int
choices_of(const nas_space *s, int d, int no_vit)
{
	int st, key, nc = nas_space_choices(s, d, &st, &key);

	if (no_vit && st >= 0 && key == NAS_K_DEPTH &&
	    s->st[st].kind == SIM_BLOCK_VIT)
		return 1;	/* depth 0 only */
	return nc;
}

void
nas_accdata_sample(const nas_space *s, int n, uint64_t seed, int no_vit,
    nas_gene *out)
{
	int nd = nas_space_decisions(s), k = 0;
	int *deal = h4h_xmalloc((size_t)(n ? n : 1) * sizeof *deal);
	h4h_htab seen;
	nn_rng r;

	memset(&seen, 0, sizeof seen);
	if (n > 0)
		nas_gene_min(s, no_vit, &out[k++]);
	if (n > 1)
		nas_gene_max(s, no_vit, &out[k++]);
	for (int i = k; i < n; i++) {
		memset(&out[i], 0, sizeof out[i]);
		out[i].n = nd;
	}
	for (int d = 0; d < nd; d++) {
		int nc = choices_of(s, d, no_vit);

		for (int i = 0; i < n - k; i++)
			deal[i] = i % nc;
		nn_rng_seed(&r, seed, nn_rng_stream(0x4144, (uint64_t)d, 0));
		nn_rng_shuffle(&r, deal, (size_t)(n - k));
		for (int i = k; i < n; i++)
			out[i].c[d] = (unsigned char)deal[i - k];
	}
	nn_rng_seed(&r, seed, nn_rng_stream(0x4145, 0, 0));
	for (int i = 0; i < n; i++) {
		uint64_t h;

		nas_gene_canonicalize(s, &out[i]);
		for (int t = 0; t < 1000; t++) {
			h = nas_gene_hash(s, &out[i]);
			if (h4h_htab_find(&seen, h, NULL, NULL) == NULL)
				break;
			nas_gene_sample(s, no_vit, &r, &out[i]);
		}
		h4h_htab_add(&seen, h, &out[i]);
	}
	h4h_htab_free(&seen, NULL);
	free(deal);
}

int
nas_gene_parse_text(const nas_space *s, const char *text, nas_gene *g,
    h4h_err *err)
{
	const char *p = strchr(text, ':');
	int nd = nas_space_decisions(s);
	size_t nl = p ? (size_t)(p - text) : 0;

	if (p == NULL || nl != strlen(s->name) || strncmp(text, s->name, nl))
		return h4h_errf(err, H4H_EINPUT, "gene '%.60s' is not of space "
		    "'%s'", text, s->name);
	memset(g, 0, sizeof *g);
	g->n = nd;
	p++;
	for (int d = 0; d < nd; d++) {
		char *end;
		long v;

		if (d > 0) {
			if (*p != '|' && *p != '.')
				goto bad;
			p++;
		}
		errno = 0;
		v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || v >= NAS_MAX_CHOICES)
			goto bad;
		g->c[d] = (unsigned char)v;
		p = end;
	}
	if (*p != '\0')
		goto bad;
	if (nas_gene_check(s, g, err) != 0)
		return H4H_EINPUT;
	nas_gene_canonicalize(s, g);
	return 0;
bad:
	return h4h_errf(err, H4H_EINPUT, "gene '%.60s': expected %d choice "
	    "indices", text, nd);
}

typedef struct wctx {
	const nas_space *s;
	const nas_accdata *d;
} wctx;

static void
write_csv(FILE *fp, const void *vc)
{
	const wctx *w = vc;
	const nas_accdata *d = w->d;
	char text[1024];

	fprintf(fp, "# format: %s\n# checkpoint: %s\n# supernet: %s\n"
	    "# split: %s\n# settings: %s\n# space: %s\n# sampling: %s\n"
	    "# subnets: %d\n",
	    NAS_ACCDATA_FORMAT, d->checkpoint, d->supernet, d->split,
	    d->settings, w->s->name, d->sampling, d->n);
	if (d->predictor[0] != '\0')
		fprintf(fp, "# predictor: %s\n", d->predictor);
	fputs("gene,accuracy,resolution,macs\n", fp);
	for (int i = 0; i < d->n; i++) {
		nas_gene_text(w->s, &d->g[i], text, sizeof text);
		fprintf(fp, "%s,%.6f,%d,%lld\n", text, d->acc[i], d->res ?
		    d->res[i] : nas_gene_resolution(w->s, &d->g[i]), d->macs ?
		    d->macs[i] : -1LL);
	}
}

int
nas_accdata_write(const char *path, const nas_space *s,
    const nas_accdata *d, h4h_err *err)
{
	wctx w = { s, d };

	return h4h_write_atomic(path, "accuracy dataset", write_csv, &w, err);
}

static void
field(const char *line, const char *key, char *dst, size_t n)
{
	size_t k = strlen(key);

	if (strncmp(line, key, k) == 0 && line[k] == ':') {
		const char *v = line + k + 1;
		size_t m;

		while (*v == ' ')
			v++;
		m = strcspn(v, "\r\n");
		snprintf(dst, n, "%.*s", (int)m, v);
	}
}

int
nas_accdata_read(const char *path, const nas_space *s, nas_accdata *d,
    h4h_err *err)
{
	FILE *fp = fopen(path, "r");
	char line[2048], fmt[64] = "";
	int cap = 0, lineno = 0, header = 0, rc = 0;

	memset(d, 0, sizeof *d);
	if (fp == NULL)
		return h4h_errf(err, H4H_EIO, "'%s': %s", path,
		    strerror(errno));
	while (fgets(line, sizeof line, fp) != NULL) {
		char *c1, *c2, *c3;

		lineno++;
		if (line[0] == '#') {
			const char *l = line + 1 + (line[1] == ' ');

			field(l, "format", fmt, sizeof fmt);
			field(l, "checkpoint", d->checkpoint,
			    sizeof d->checkpoint);
			field(l, "supernet", d->supernet, sizeof d->supernet);
			field(l, "split", d->split, sizeof d->split);
			field(l, "settings", d->settings, sizeof d->settings);
			field(l, "space", d->space, sizeof d->space);
			field(l, "sampling", d->sampling, sizeof d->sampling);
			field(l, "predictor", d->predictor,
			    sizeof d->predictor);
			continue;
		}
		if (!header) {
			if (strcmp(fmt, NAS_ACCDATA_FORMAT) != 0) {
				rc = h4h_errf(err, H4H_EINPUT, "'%s': not an "
				    "accuracy dataset (no '# format: %s' line)",
				    path, NAS_ACCDATA_FORMAT);
				goto out;
			}
			if (strncmp(line, "gene,accuracy", 13) != 0) {
				rc = h4h_errf(err, H4H_EINPUT, "'%s' line %d: "
				    "expected the header gene,accuracy,...",
				    path, lineno);
				goto out;
			}
			header = 1;
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if ((c1 = strchr(line, ',')) == NULL) {
			rc = h4h_errf(err, H4H_EINPUT, "'%s' line %d: expected "
			    "gene,accuracy", path, lineno);
			goto out;
		}
		*c1++ = '\0';
		if (d->n == cap) {
			cap = cap ? 2 * cap : 256;
			d->g = h4h_xrealloc(d->g, (size_t)cap * sizeof *d->g);
			d->acc = h4h_xrealloc(d->acc, (size_t)cap *
			    sizeof *d->acc);
			d->res = h4h_xrealloc(d->res, (size_t)cap *
			    sizeof *d->res);
			d->macs = h4h_xrealloc(d->macs, (size_t)cap *
			    sizeof *d->macs);
		}
		if ((rc = nas_gene_parse_text(s, line, &d->g[d->n], err)) !=
		    0) {
			h4h_err e2 = *err;

			rc = h4h_errf(err, H4H_EINPUT, "'%s' line %d: %s",
			    path, lineno, e2.msg);
			goto out;
		}
		d->acc[d->n] = strtod(c1, &c2);
		if (c2 == c1 || d->acc[d->n] < 0 || d->acc[d->n] > 1) {
			rc = h4h_errf(err, H4H_EINPUT, "'%s' line %d: accuracy "
			    "must be in [0, 1]", path, lineno);
			goto out;
		}
		d->res[d->n] = nas_gene_resolution(s, &d->g[d->n]);
		d->macs[d->n] = -1;
		if (*c2 == ',' && (c3 = strchr(c2 + 1, ',')) != NULL)
			d->macs[d->n] = strtoll(c3 + 1, NULL, 10);
		d->n++;
	}
	if (!header && rc == 0)
		rc = h4h_errf(err, H4H_EINPUT, "'%s': not an accuracy dataset "
		    "(no header)", path);
out:
	fclose(fp);
	if (rc != 0)
		nas_accdata_free(d);
	return rc;
}

void
nas_accdata_free(nas_accdata *d)
{
	free(d->g);
	free(d->acc);
	free(d->res);
	free(d->macs);
	memset(d, 0, sizeof *d);
}
