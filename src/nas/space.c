/*
 * space.c - search-space files (space.h; the format is in doc/nas.md).
 *
 *   {"name": "h4h-fmnist",          required, 1..63 chars
 *    "description": "...",          optional
 *    "full_scale": "FILE",          optional: this space is its proxy
 *    "in_channels": 1, "classes": 10,
 *    "resolution": CHOICES,
 *    "stages": [{"name": "ViT-3", "block": "vit", KEY: CHOICES, ...}]}
 *
 *   CHOICES = [v, ...] (ascending, distinct) or {"min", "max", "step"}
 *   conv: width, stride;  mbconv: width, depth, expand, stride;
 *   vit: width, depth, mlp_ratio;  mbpool: width, expand.
 *
 * The limits are the simulator's (arch.c), so every gene of a loaded space
 * lowers.  Unknown keys are errors, as in every h4h input.
 */
#define _POSIX_C_SOURCE 200809L
#include "nas/space.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH_MAX 65536
#define DEPTH_MAX 64
#define EXPAND_MAX 16
#define MLP_MAX 16.0
#define RES_MIN 8
#define RES_MAX 4096

static const char *const key_names[NAS_K_COUNT] = {
	"width", "depth", "expand", "mlp_ratio",
};

static const char *const blk_names[SIM_BLOCK_COUNT] = {
	"conv", "mbconv", "vit", "mbpool",
};

/* Which keys each kind has as decisions (depth of conv/mbpool is 1). */
static const int blk_has[SIM_BLOCK_COUNT][NAS_K_COUNT] = {
	[SIM_BLOCK_CONV] = { 1, 0, 0, 0 },
	[SIM_BLOCK_MBCONV] = { 1, 1, 1, 0 },
	[SIM_BLOCK_VIT] = { 1, 1, 0, 1 },
	[SIM_BLOCK_MBPOOL] = { 1, 0, 1, 0 },
};

const char *
nas_key_name(int key)
{
	return key >= 0 && key < NAS_K_COUNT ? key_names[key] : "?";
}

static int bad(h4h_err *err, const char *path, int si, const nas_stage *st,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "space 'FILE' stages[I] (NAME): ..." */
static int
bad(h4h_err *err, const char *path, int si, const nas_stage *st,
    const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (si < 0)
		return h4h_errf(err, H4H_EINPUT, "space '%s': %s", path, msg);
	return h4h_errf(err, H4H_EINPUT, "space '%s' stages[%d]%s%s%s: %s",
	    path, si, st != NULL && st->name[0] ? " (" : "",
	    st != NULL ? st->name : "", st != NULL && st->name[0] ? ")" : "",
	    msg);
}

/* A choice list: an array of numbers or {"min","max","step"}.  integer:
 * every value must be whole. */
static int
read_choices(json_t *j, const char *key, int integer, double *v, int *n,
    const char *path, int si, const nas_stage *st, h4h_err *err)
{
	*n = 0;
	if (json_is_array(j)) {
		size_t i;
		json_t *e;

		json_array_foreach(j, i, e) {
			if (!json_is_number(e))
				return bad(err, path, si, st, "'%s'[%zu] is not a "
				    "number", key, i);
			if (*n == NAS_MAX_CHOICES)
				return bad(err, path, si, st, "'%s' has more than "
				    "%d choices", key, NAS_MAX_CHOICES);
			v[(*n)++] = json_number_value(e);
		}
	} else if (json_is_object(j)) {
		json_t *lo = json_object_get(j, "min"),
		    *hi = json_object_get(j, "max"),
		    *step = json_object_get(j, "step");
		const char *k;
		json_t *e;
		double a, b, s;

		json_object_foreach(j, k, e)
			if (strcmp(k, "min") != 0 && strcmp(k, "max") != 0 &&
			    strcmp(k, "step") != 0)
				return bad(err, path, si, st, "'%s': unknown key "
				    "'%s' (min, max, step)", key, k);
		if (!json_is_number(lo) || !json_is_number(hi) ||
		    !json_is_number(step))
			return bad(err, path, si, st, "'%s' needs numbers min, "
			    "max and step", key);
		a = json_number_value(lo);
		b = json_number_value(hi);
		s = json_number_value(step);
		if (!(s > 0) || b < a)
			return bad(err, path, si, st, "'%s': need step > 0 and "
			    "max >= min (got min %g max %g step %g)", key, a, b,
			    s);
		for (double x = a; x <= b + 1e-9 * fabs(b); x += s) {
			if (*n == NAS_MAX_CHOICES)
				return bad(err, path, si, st, "'%s' has more than "
				    "%d choices", key, NAS_MAX_CHOICES);
			v[(*n)++] = x;
		}
		if (fabs(v[*n - 1] - b) > 1e-9 * fabs(b))
			return bad(err, path, si, st, "'%s': max %g is not min "
			    "%g plus a whole number of steps %g", key, b, a, s);
	} else {
		return bad(err, path, si, st, "'%s' must be a list of choices or "
		    "{\"min\", \"max\", \"step\"}", key);
	}
	if (*n == 0)
		return bad(err, path, si, st, "'%s' has no choices", key);
	for (int i = 0; i < *n; i++) {
		if (integer && v[i] != floor(v[i]))
			return bad(err, path, si, st, "'%s' choice %g is not a "
			    "whole number", key, v[i]);
		if (i > 0 && !(v[i] > v[i - 1]))
			return bad(err, path, si, st, "'%s' choices must be "
			    "ascending and distinct (%g after %g)", key, v[i],
			    v[i - 1]);
	}
	return 0;
}

/* Range checks of one key's choices. */
static int
check_range(const nas_stage *st, int key, const char *path, int si,
    h4h_err *err)
{
	for (int i = 0; i < st->n[key]; i++) {
		double x = st->v[key][i];

		switch (key) {
		case NAS_K_WIDTH:
			if (x < 1 || x > WIDTH_MAX)
				return bad(err, path, si, st, "width %g is out of "
				    "range 1..%d", x, WIDTH_MAX);
			if (st->kind == SIM_BLOCK_VIT &&
			    (int)x % NAS_HEAD_DIM != 0)
				return bad(err, path, si, st, "vit width %g is "
				    "not a whole number of %d-dim heads", x,
				    NAS_HEAD_DIM);
			break;
		case NAS_K_DEPTH:
			if (x < 0 || x > DEPTH_MAX)
				return bad(err, path, si, st, "depth %g is out of "
				    "range 0..%d", x, DEPTH_MAX);
			break;
		case NAS_K_EXPAND:
			if (x < 1 || x > EXPAND_MAX)
				return bad(err, path, si, st, "expand %g is out of "
				    "range 1..%d", x, EXPAND_MAX);
			if (x == 1 && st->n[key] > 1)
				return bad(err, path, si, st, "expand 1 (no "
				    "expand conv) cannot be one choice of "
				    "several");
			break;
		case NAS_K_MLP:
			if (!(x > 0) || x > MLP_MAX)
				return bad(err, path, si, st, "mlp_ratio %g is out "
				    "of range (0, %g]", x, MLP_MAX);
			break;
		}
	}
	return 0;
}

static int
read_stage(json_t *j, nas_stage *st, const char *path, int si, h4h_err *err)
{
	json_t *e;
	const char *k, *blk;
	int kind = -1, rc;

	memset(st, 0, sizeof *st);
	if (!json_is_object(j))
		return bad(err, path, si, NULL, "not an object");
	e = json_object_get(j, "name");
	if (e != NULL) {
		if (!json_is_string(e) || json_string_length(e) < 1 ||
		    json_string_length(e) >= sizeof st->name)
			return bad(err, path, si, NULL, "'name' must be a string "
			    "of 1..%zu chars", sizeof st->name - 1);
		snprintf(st->name, sizeof st->name, "%s", json_string_value(e));
	} else {
		snprintf(st->name, sizeof st->name, "s%d", si);
	}
	e = json_object_get(j, "block");
	blk = json_is_string(e) ? json_string_value(e) : NULL;
	for (int b = 0; blk != NULL && b < SIM_BLOCK_COUNT; b++)
		if (strcmp(blk, blk_names[b]) == 0)
			kind = b;
	if (kind < 0)
		return bad(err, path, si, st, "'block' must be conv, mbconv, vit "
		    "or mbpool");
	st->kind = (sim_block)kind;
	st->stride = 1;
	json_object_foreach(j, k, e) {
		int key = -1;

		if (strcmp(k, "name") == 0 || strcmp(k, "block") == 0)
			continue;
		if (strcmp(k, "stride") == 0 && (kind == SIM_BLOCK_CONV ||
		    kind == SIM_BLOCK_MBCONV)) {
			if (!json_is_integer(e) || (json_integer_value(e) != 1 &&
			    json_integer_value(e) != 2))
				return bad(err, path, si, st, "'stride' must be "
				    "1 or 2");
			st->stride = (int)json_integer_value(e);
			continue;
		}
		for (int q = 0; q < NAS_K_COUNT; q++)
			if (blk_has[kind][q] && strcmp(k, key_names[q]) == 0)
				key = q;
		if (key < 0)
			return bad(err, path, si, st, "unknown key '%s' for a %s "
			    "stage", k, blk_names[kind]);
		if ((rc = read_choices(e, k, key != NAS_K_MLP, st->v[key],
		    &st->n[key], path, si, st, err)) != 0 ||
		    (rc = check_range(st, key, path, si, err)) != 0)
			return rc;
	}
	for (int q = 0; q < NAS_K_COUNT; q++)
		if (blk_has[kind][q] && st->n[q] == 0)
			return bad(err, path, si, st, "missing '%s'",
			    key_names[q]);
	return 0;
}

/* The proxy and its full-scale space must match decision for decision. */
static int
check_scales(const nas_space *p, const nas_space *f, h4h_err *err)
{
	if (p->n_stages != f->n_stages)
		return bad(err, p->path, -1, NULL, "%d stages, but its "
		    "full-scale space '%s' has %d", p->n_stages, f->path,
		    f->n_stages);
	if (p->n_res != f->n_res)
		return bad(err, p->path, -1, NULL, "%d resolutions, but its "
		    "full-scale space '%s' has %d", p->n_res, f->path,
		    f->n_res);
	for (int i = 0; i < p->n_stages; i++) {
		const nas_stage *a = &p->st[i], *b = &f->st[i];

		if (a->kind != b->kind)
			return bad(err, p->path, i, a, "a %s stage, but the "
			    "full-scale space '%s' has %s", blk_names[a->kind],
			    f->path, blk_names[b->kind]);
		for (int q = 0; q < NAS_K_COUNT; q++)
			if (a->n[q] != b->n[q])
				return bad(err, p->path, i, a, "'%s' has %d "
				    "choices, the full-scale space '%s' has %d",
				    key_names[q], a->n[q], f->path, b->n[q]);
		if (a->n[NAS_K_DEPTH] > 0 &&
		    (a->v[NAS_K_DEPTH][0] == 0) != (b->v[NAS_K_DEPTH][0] == 0))
			return bad(err, p->path, i, a, "depth 0 must be a choice "
			    "at both scales or at neither");
	}
	return 0;
}

static int load(const char *path, const char *text, const char *full_text,
    int nested, nas_space **out, h4h_err *err);

static int
parse(json_t *root, const char *path, const char *full_text, int nested,
    nas_space *s, h4h_err *err)
{
	json_t *e, *st;
	const char *k;
	size_t i;
	int rc;
	double v[NAS_MAX_CHOICES];

	static const char *const top[] = { "name", "description",
	    "full_scale", "in_channels", "classes", "resolution", "stages" };

	if (!json_is_object(root))
		return bad(err, path, -1, NULL, "not a JSON object");
	json_object_foreach(root, k, e) {
		int ok = 0;

		for (size_t t = 0; t < sizeof top / sizeof top[0]; t++)
			ok |= strcmp(k, top[t]) == 0;
		if (!ok)
			return bad(err, path, -1, NULL, "unknown key '%s'", k);
	}
	e = json_object_get(root, "name");
	if (!json_is_string(e) || json_string_length(e) < 1 ||
	    json_string_length(e) >= sizeof s->name)
		return bad(err, path, -1, NULL, "'name' must be a string of "
		    "1..%zu chars", sizeof s->name - 1);
	snprintf(s->name, sizeof s->name, "%s", json_string_value(e));
	s->in_channels = 3;
	s->classes = 1000;
	e = json_object_get(root, "in_channels");
	if (e != NULL) {
		if (!json_is_integer(e) || json_integer_value(e) < 1 ||
		    json_integer_value(e) > WIDTH_MAX)
			return bad(err, path, -1, NULL, "'in_channels' must be "
			    "an integer 1..%d", WIDTH_MAX);
		s->in_channels = (int)json_integer_value(e);
	}
	e = json_object_get(root, "classes");
	if (e != NULL) {
		if (!json_is_integer(e) || json_integer_value(e) < 1 ||
		    json_integer_value(e) > 1048576)
			return bad(err, path, -1, NULL, "'classes' must be an "
			    "integer 1..1048576");
		s->classes = (int)json_integer_value(e);
	}
	e = json_object_get(root, "resolution");
	if (e == NULL)
		return bad(err, path, -1, NULL, "missing 'resolution'");
	if ((rc = read_choices(e, "resolution", 1, v, &s->n_res, path, -1,
	    NULL, err)) != 0)
		return rc;
	for (int r = 0; r < s->n_res; r++) {
		if (v[r] < RES_MIN || v[r] > RES_MAX)
			return bad(err, path, -1, NULL, "resolution %g is out of "
			    "range %d..%d", v[r], RES_MIN, RES_MAX);
		s->res[r] = (int)v[r];
	}
	st = json_object_get(root, "stages");
	if (!json_is_array(st) || json_array_size(st) == 0)
		return bad(err, path, -1, NULL, "'stages' must be a non-empty "
		    "list");
	if (json_array_size(st) > NAS_MAX_STAGES)
		return bad(err, path, -1, NULL, "more than %d stages",
		    NAS_MAX_STAGES);
	json_array_foreach(st, i, e) {
		if ((rc = read_stage(e, &s->st[i], path, (int)i, err)) != 0)
			return rc;
		s->n_stages++;
	}
	for (int j = 0; j < s->n_stages; j++) {
		int last = j == s->n_stages - 1;

		if ((s->st[j].kind == SIM_BLOCK_MBPOOL) != last)
			return bad(err, path, j, &s->st[j], last ? "the last "
			    "stage must be mbpool (the head)" : "mbpool may "
			    "only be the last stage");
	}
	if (s->st[0].kind != SIM_BLOCK_CONV)
		return bad(err, path, 0, &s->st[0], "the first stage must be a "
		    "conv (the stem)");
	e = json_object_get(root, "full_scale");
	if (e != NULL) {
		char full[1024];
		const char *slash = strrchr(path, '/');

		if (!json_is_string(e) || json_string_length(e) == 0)
			return bad(err, path, -1, NULL, "'full_scale' must be a "
			    "file name");
		if (nested)
			return bad(err, path, -1, NULL, "a full-scale space may "
			    "not name another ('full_scale')");
		if (strlen(json_string_value(e)) != json_string_length(e))
			return bad(err, path, -1, NULL, "'full_scale' holds a "
			    "NUL character");
		/* A path cut at the buffer would name another file. */
		if ((json_string_value(e)[0] == '/' || slash == NULL ?
		    snprintf(full, sizeof full, "%s", json_string_value(e)) :
		    snprintf(full, sizeof full, "%.*s/%s", (int)(slash - path),
		    path, json_string_value(e))) >= (int)sizeof full)
			return bad(err, path, -1, NULL, "'full_scale' is a "
			    "path of more than %d bytes (beside this file)",
			    (int)sizeof full - 1);
		if ((rc = load(full, full_text, NULL, 1, &s->full, err)) != 0)
			return rc;
		if ((rc = check_scales(s, s->full, err)) != 0)
			return rc;
	}
	return 0;
}

/* From the file path, or from text (path is then the label). */
static int
load(const char *path, const char *text, const char *full_text, int nested,
    nas_space **out, h4h_err *err)
{
	json_error_t je;
	json_t *root;
	nas_space *s;
	int rc;

	*out = NULL;
	root = text != NULL ? json_loads(text, JSON_REJECT_DUPLICATES, &je) :
	    json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		if (je.line < 1)
			return h4h_errf(err, H4H_EINPUT, "space '%s': %s", path,
			    je.text);
		return h4h_errf(err, H4H_EINPUT, "space '%s' line %d: %s", path,
		    je.line, je.text);
	}
	s = h4h_xcalloc(1, sizeof *s);
	snprintf(s->path, sizeof s->path, "%s", path);
	rc = parse(root, path, full_text, nested, s, err);
	s->json = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(root);
	if (rc != 0) {
		nas_space_destroy(s);
		return rc;
	}
	if (s->full == NULL)
		s->full = s;
	*out = s;
	return 0;
}

int
nas_space_load(const char *path, nas_space **out, h4h_err *err)
{
	return load(path, NULL, NULL, 0, out, err);
}

int
nas_space_read(const char *json, const char *full_json, const char *label,
    nas_space **out, h4h_err *err)
{
	return load(label, json, full_json, 0, out, err);
}

void
nas_space_destroy(nas_space *s)
{
	if (s == NULL)
		return;
	if (s->full != NULL && s->full != s)
		nas_space_destroy(s->full);
	free(s->json);
	free(s);
}

int
nas_space_decisions(const nas_space *s)
{
	int n = 1;

	for (int i = 0; i < s->n_stages; i++)
		for (int q = 0; q < NAS_K_COUNT; q++)
			n += s->st[i].n[q] > 0;
	return n;
}

int
nas_space_choices(const nas_space *s, int d, int *stage, int *key)
{
	if (d == 0) {
		*stage = -1;
		*key = -1;
		return s->n_res;
	}
	d--;
	for (int i = 0; i < s->n_stages; i++)
		for (int q = 0; q < NAS_K_COUNT; q++)
			if (s->st[i].n[q] > 0 && d-- == 0) {
				*stage = i;
				*key = q;
				return s->st[i].n[q];
			}
	*stage = *key = -1;
	return 0;
}

void
nas_space_supernet(const nas_space *s, nn_sn_spec *spec)
{
	static const int kinds[SIM_BLOCK_COUNT] = {
		[SIM_BLOCK_CONV] = NN_SN_CONV, [SIM_BLOCK_MBCONV] = NN_SN_MBCONV,
		[SIM_BLOCK_VIT] = NN_SN_VIT, [SIM_BLOCK_MBPOOL] = NN_SN_MBPOOL,
	};

	memset(spec, 0, sizeof *spec);
	spec->in_hw = s->res[s->n_res - 1];
	spec->in_ch = s->in_channels;
	spec->classes = s->classes;
	spec->n_stages = s->n_stages;
	for (int i = 0; i < s->n_stages; i++) {
		const nas_stage *st = &s->st[i];
		nn_sn_stage *o = &spec->st[i];

#define MAXV(q, dflt) (st->n[q] ? st->v[q][st->n[q] - 1] : (dflt))
		o->kind = kinds[st->kind];
		o->width = (int)MAXV(NAS_K_WIDTH, 1);
		o->depth = (int)MAXV(NAS_K_DEPTH, 1);
		o->expand = (int)MAXV(NAS_K_EXPAND, 1);
		o->stride = st->stride;
		o->mlp = (float)MAXV(NAS_K_MLP, 0);
#undef MAXV
	}
}
