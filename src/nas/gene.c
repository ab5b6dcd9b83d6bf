/*
 * gene.c - genes of a search space and their decodings (gene.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "nas/gene.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

/* Position of (stage, key) in the gene, or -1. */
static int
pos(const nas_space *s, int stage, int key)
{
	int d = 1;

	for (int i = 0; i < s->n_stages; i++)
		for (int q = 0; q < NAS_K_COUNT; q++) {
			if (s->st[i].n[q] == 0)
				continue;
			if (i == stage && q == key)
				return d;
			d++;
		}
	return -1;
}

/* The choice index of depth 0 in a vit stage, -1 if 0 is not a choice. */
static int
depth0(const nas_stage *st)
{
	return st->n[NAS_K_DEPTH] > 0 && st->v[NAS_K_DEPTH][0] == 0 ? 0 : -1;
}

void
nas_gene_canonicalize(const nas_space *s, nas_gene *g)
{
	for (int i = 0; i < s->n_stages; i++) {
		const nas_stage *st = &s->st[i];
		int dp = pos(s, i, NAS_K_DEPTH);

		if (dp < 0 || st->v[NAS_K_DEPTH][g->c[dp]] != 0)
			continue;
		for (int q = 0; q < NAS_K_COUNT; q++)
			if (q != NAS_K_DEPTH && st->n[q] > 0)
				g->c[pos(s, i, q)] = 0;
	}
}

/* Forces every vit stage to depth 0. */
static void
strip_vit(const nas_space *s, nas_gene *g)
{
	for (int i = 0; i < s->n_stages; i++)
		if (s->st[i].kind == SIM_BLOCK_VIT && depth0(&s->st[i]) == 0)
			g->c[pos(s, i, NAS_K_DEPTH)] = 0;
}

static void
fill(const nas_space *s, int top, int no_vit, nas_gene *g)
{
	memset(g, 0, sizeof *g);
	g->n = nas_space_decisions(s);
	for (int d = 0; d < g->n; d++) {
		int st, key, n = nas_space_choices(s, d, &st, &key);

		g->c[d] = (unsigned char)(top ? n - 1 : 0);
	}
	if (no_vit)
		strip_vit(s, g);
	nas_gene_canonicalize(s, g);
}

void
nas_gene_min(const nas_space *s, int no_vit, nas_gene *g)
{
	fill(s, 0, no_vit, g);
}

void
nas_gene_max(const nas_space *s, int no_vit, nas_gene *g)
{
	fill(s, 1, no_vit, g);
}

void
nas_gene_sample(const nas_space *s, int no_vit, nn_rng *r, nas_gene *g)
{
	memset(g, 0, sizeof *g);
	g->n = nas_space_decisions(s);
	for (int d = 0; d < g->n; d++) {
		int st, key, n = nas_space_choices(s, d, &st, &key);

		g->c[d] = (unsigned char)nn_rng_below(r, (uint32_t)n);
	}
	if (no_vit)
		strip_vit(s, g);
	nas_gene_canonicalize(s, g);
}

void
nas_gene_mutate(const nas_space *s, const nas_gene *in, double p, int no_vit,
    nn_rng *r, nas_gene *out)
{
	nas_gene_mutate_res(s, in, p, p, no_vit, r, out);
}

void
nas_gene_mutate_res(const nas_space *s, const nas_gene *in, double p,
    double p_res, int no_vit, nn_rng *r, nas_gene *out)
{
	*out = *in;
	for (int d = 0; d < out->n; d++) {
		int st, key, n = nas_space_choices(s, d, &st, &key);

		if (n < 2 || nn_rng_uniform(r) >= (st < 0 ? p_res : p))
			continue;
		/* a different value: one of the n - 1 others */
		out->c[d] = (unsigned char)((out->c[d] + 1 +
		    nn_rng_below(r, (uint32_t)(n - 1))) % n);
	}
	if (no_vit)
		strip_vit(s, out);
	nas_gene_canonicalize(s, out);
}

void
nas_gene_crossover(const nas_space *s, const nas_gene *a, const nas_gene *b,
    nn_rng *r, nas_gene *out)
{
	*out = *a;
	for (int d = 0; d < out->n; d++)
		if (nn_rng_u32(r) & 1)
			out->c[d] = b->c[d];
	nas_gene_canonicalize(s, out);
}

int
nas_gene_check(const nas_space *s, const nas_gene *g, h4h_err *err)
{
	int n = nas_space_decisions(s);

	if (g->n != n)
		return h4h_errf(err, H4H_EINPUT, "gene of %d decisions does not "
		    "fit space '%s' (%d decisions)", g->n, s->name, n);
	for (int d = 0; d < n; d++) {
		int st, key, k = nas_space_choices(s, d, &st, &key);

		if (g->c[d] >= k)
			return h4h_errf(err, H4H_EINPUT, "gene decision %d (%s%s"
			    "%s) is choice %d of only %d in space '%s'", d,
			    st < 0 ? "resolution" : s->st[st].name,
			    st < 0 ? "" : " ", st < 0 ? "" : nas_key_name(key),
			    g->c[d], k, s->name);
	}
	return 0;
}

double
nas_gene_value(const nas_space *s, const nas_gene *g, int stage, int key)
{
	int d = pos(s, stage, key);

	if (d < 0) {	/* not a decision: conv and mbpool have depth 1 */
		return key == NAS_K_DEPTH ? 1 : key == NAS_K_EXPAND ? 1 : 0;
	}
	return s->st[stage].v[key][g->c[d]];
}

int
nas_gene_resolution(const nas_space *s, const nas_gene *g)
{
	return s->res[g->c[0]];
}

int
nas_gene_has_vit(const nas_space *s, const nas_gene *g)
{
	for (int i = 0; i < s->n_stages; i++)
		if (s->st[i].kind == SIM_BLOCK_VIT &&
		    nas_gene_value(s, g, i, NAS_K_DEPTH) > 0)
			return 1;
	return 0;
}

void
nas_gene_arch(const nas_space *s, const nas_gene *g, sim_arch *a)
{
	memset(a, 0, sizeof *a);
	/* the name is a label: the space and the gene's hash */
	snprintf(a->name, sizeof a->name, "%.40s-%016llx", s->name,
	    (unsigned long long)nas_gene_hash(s, g));
	a->resolution = nas_gene_resolution(s, g);
	a->in_channels = s->in_channels;
	a->classes = s->classes;
	a->n_stages = s->n_stages;
	for (int i = 0; i < s->n_stages; i++) {
		sim_arch_stage *o = &a->stages[i];

		o->kind = s->st[i].kind;
		o->width = (int)nas_gene_value(s, g, i, NAS_K_WIDTH);
		o->depth = (int)nas_gene_value(s, g, i, NAS_K_DEPTH);
		o->expand = (int)nas_gene_value(s, g, i, NAS_K_EXPAND);
		o->stride = s->st[i].stride;
		o->mlp_ratio = nas_gene_value(s, g, i, NAS_K_MLP);
	}
}

void
nas_gene_active(const nas_space *s, const nas_gene *g, nn_sn_active *a)
{
	memset(a, 0, sizeof *a);
	a->res = nas_gene_resolution(s, g);
	for (int i = 0; i < s->n_stages; i++) {
		nn_sn_active_stage *o = &a->st[i];

		o->width = (int)nas_gene_value(s, g, i, NAS_K_WIDTH);
		o->depth = (int)nas_gene_value(s, g, i, NAS_K_DEPTH);
		o->expand = (int)nas_gene_value(s, g, i, NAS_K_EXPAND);
		o->mlp = (float)nas_gene_value(s, g, i, NAS_K_MLP);
	}
}

void
nas_gene_text(const nas_space *s, const nas_gene *g, char *buf, size_t n)
{
	size_t k;
	int d = 1;

	k = (size_t)snprintf(buf, n, "%s:%d", s->name, g->c[0]);
	for (int i = 0; i < s->n_stages && k < n; i++) {
		char sep = '|';

		for (int q = 0; q < NAS_K_COUNT && k < n; q++) {
			if (s->st[i].n[q] == 0)
				continue;
			k += (size_t)snprintf(buf + k, n - k, "%c%d", sep,
			    g->c[d++]);
			sep = '.';
		}
	}
}

uint64_t
nas_gene_hash(const nas_space *s, const nas_gene *g)
{
	char text[512];

	nas_gene_text(s, g, text, sizeof text);
	return h4h_hash64(text, strlen(text), H4H_HASH_SEED);
}

/* ---- GENE.json ---------------------------------------------------------- */

static json_t *
num(double v, int key)
{
	return key == NAS_K_MLP ? json_real(v) : json_integer((json_int_t)v);
}

char *
nas_gene_json(const nas_space *s, const nas_gene *g)
{
	json_t *root = json_object(), *st = json_array();
	char *text;

	json_object_set_new(root, "space", json_string(s->name));
	json_object_set_new(root, "resolution",
	    json_integer(nas_gene_resolution(s, g)));
	for (int i = 0; i < s->n_stages; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(s->st[i].name));
		for (int q = 0; q < NAS_K_COUNT; q++)
			if (s->st[i].n[q] > 0)
				json_object_set_new(o, nas_key_name(q),
				    num(nas_gene_value(s, g, i, q), q));
		json_array_append_new(st, o);
	}
	json_object_set_new(root, "stages", st);
	text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT |
	    JSON_REAL_PRECISION(6));
	json_decref(root);
	return text;
}

/* The index of value x among the choices v[0..n), -1 if absent. */
static int
index_of(const double *v, int n, double x)
{
	for (int i = 0; i < n; i++)
		if (fabs(v[i] - x) <= 1e-9 * fmax(1, fabs(x)))
			return i;
	return -1;
}

static void
list_choices(const double *v, int n, char *buf, size_t len)
{
	size_t k = 0;

	buf[0] = 0;
	for (int i = 0; i < n && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%g", i ? ", " : "",
		    v[i]);
}

int
nas_gene_read(const nas_space *s, const char *json, const char *label,
    nas_gene *g, h4h_err *err)
{
	json_error_t je;
	json_t *root, *e, *st;
	double rv[NAS_MAX_CHOICES];
	char opts[400];
	int rc = 0, idx;

	root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return h4h_errf(err, H4H_EINPUT, "gene '%s' line %d: %s", label,
		    je.line, je.text);
	memset(g, 0, sizeof *g);
	g->n = nas_space_decisions(s);
	e = json_object_get(root, "space");
	if (!json_is_string(e) || strcmp(json_string_value(e), s->name) != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "gene '%s': 'space' is %s%s%s, "
		    "not '%s'", label, json_is_string(e) ? "'" : "",
		    json_is_string(e) ? json_string_value(e) : "missing",
		    json_is_string(e) ? "'" : "", s->name);
		goto out;
	}
	e = json_object_get(root, "resolution");
	for (int r = 0; r < s->n_res; r++)
		rv[r] = s->res[r];
	if (!json_is_integer(e) || (idx = index_of(rv, s->n_res,
	    (double)json_integer_value(e))) < 0) {
		list_choices(rv, s->n_res, opts, sizeof opts);
		rc = h4h_errf(err, H4H_EINPUT, "gene '%s': 'resolution' must be "
		    "one of %s", label, opts);
		goto out;
	}
	g->c[0] = (unsigned char)idx;
	st = json_object_get(root, "stages");
	if (!json_is_array(st) || (int)json_array_size(st) != s->n_stages) {
		rc = h4h_errf(err, H4H_EINPUT, "gene '%s': 'stages' must list "
		    "the %d stages of space '%s'", label, s->n_stages, s->name);
		goto out;
	}
	for (int i = 0; i < s->n_stages; i++) {
		json_t *o = json_array_get(st, (size_t)i);
		const nas_stage *sp = &s->st[i];
		const char *k;

		if (!json_is_object(o)) {
			rc = h4h_errf(err, H4H_EINPUT, "gene '%s' stages[%d]: not "
			    "an object", label, i);
			goto out;
		}
		json_object_foreach(o, k, e) {
			int key = -1;

			if (strcmp(k, "name") == 0) {
				if (!json_is_string(e) || strcmp(
				    json_string_value(e), sp->name) != 0) {
					rc = h4h_errf(err, H4H_EINPUT, "gene '%s' "
					    "stages[%d]: name must be '%s'",
					    label, i, sp->name);
					goto out;
				}
				continue;
			}
			for (int q = 0; q < NAS_K_COUNT; q++)
				if (sp->n[q] > 0 && strcmp(k,
				    nas_key_name(q)) == 0)
					key = q;
			if (key < 0) {
				rc = h4h_errf(err, H4H_EINPUT, "gene '%s' "
				    "stages[%d] (%s): unknown key '%s'", label,
				    i, sp->name, k);
				goto out;
			}
			if (!json_is_number(e) || (idx = index_of(sp->v[key],
			    sp->n[key], json_number_value(e))) < 0) {
				list_choices(sp->v[key], sp->n[key], opts,
				    sizeof opts);
				rc = h4h_errf(err, H4H_EINPUT, "gene '%s' "
				    "stages[%d] (%s): %s must be one of %s",
				    label, i, sp->name, k, opts);
				goto out;
			}
			g->c[pos(s, i, key)] = (unsigned char)idx;
		}
		for (int q = 0; q < NAS_K_COUNT; q++)
			if (sp->n[q] > 0 && json_object_get(o,
			    nas_key_name(q)) == NULL) {
				rc = h4h_errf(err, H4H_EINPUT, "gene '%s' "
				    "stages[%d] (%s): missing '%s'", label, i,
				    sp->name, nas_key_name(q));
				goto out;
			}
	}
	nas_gene_canonicalize(s, g);
out:
	json_decref(root);
	return rc;
}

int
nas_gene_read_file(const nas_space *s, const char *path, nas_gene *g,
    h4h_err *err)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	char *text;
	int rc;

	if (root == NULL)
		return h4h_errf(err, H4H_EINPUT, "gene '%s'%s%.0d: %s", path,
		    je.line > 0 ? " line " : "", je.line > 0 ? je.line : 0,
		    je.text);
	text = json_dumps(root, JSON_PRESERVE_ORDER);
	json_decref(root);
	rc = nas_gene_read(s, text, path, g, err);
	free(text);
	return rc;
}
