/*
 * net_json.c - the JSON layer list front end: parses a file into a sim_net
 * through the shape checker of spec/net.c (sim_net_append_named), so a net
 * read here obeys the same invariants as one built in code.
 *
 * Format (doc/formats.md):
 *
 *   {"name": "n",                        optional; default: the file's stem
 *    "input": [H, W, C],                 required, positive integers
 *    "layers": [ {"name": "c1", "op": "conv", "kernel": 3, "out": 64,
 *                 "act": "relu"}, ... ]} required, non-empty
 *
 * Every layer needs a unique non-empty "name" (at most 63 characters, not
 * "input") and an "op".  A layer reads the previous layer (the network input
 * for the first) unless "inputs" lists layer names ("input" is the network
 * input); only earlier layers may be named.  Keys per op (= default):
 *
 *   conv       kernel, out, stride = 1, groups = 1, act = none
 *   dwconv     kernel, stride = 1, act = none          (out = in)
 *   fc         out, act = none                          ([H,W,C] -> [H,W,out])
 *   matmul     m, k, n, heads = 1; 1 or 2 inputs        (see net.h)
 *   softmax, layernorm
 *   add        inputs (exactly two, equal shapes), act = none
 *   avgpool, maxpool   kernel, stride = 1, or global: true (-> [1,1,C];
 *                      over a map beyond 14x14, strided pools first:
 *                      gpool.h)
 *   relu, relu6, hswish, gelu, sigmoid, silu   standalone activation
 *              (SIM_OP_ACT)
 *   act        act (the activation); the long form of the line above
 *
 * Padding is SAME: out = ceil(in / stride).  Unknown keys are errors, so a
 * misspelt key never silently takes its default.  Invariants after a load:
 * those of net.h, plus every tensor holds at most INT_MAX elements and every
 * layer at most 2^62 MACs, so the long long counts below cannot overflow.
 */
#include "sim/front/net_json.h"
#include "sim/front/gpool.h"
#include "sim/front/read.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/hash.h"

/* Keys each op accepts besides name, op and inputs. */
static const char *const op_keys[SIM_OP_COUNT][5] = {
	[SIM_OP_CONV] = { "kernel", "stride", "out", "groups", "act" },
	[SIM_OP_DWCONV] = { "kernel", "stride", "act" },
	[SIM_OP_FC] = { "out", "act" },
	[SIM_OP_MATMUL] = { "heads", "m", "k", "n" },
	[SIM_OP_ADD] = { "act" },
	[SIM_OP_AVGPOOL] = { "kernel", "stride", "global" },
	[SIM_OP_MAXPOOL] = { "kernel", "stride", "global" },
	[SIM_OP_ACT] = { "act" },
};

/* Where an error is: "'FILE' layer 'NAME'" once the name is known, else
 * "'FILE' layers[I]". */
typedef struct where {
	const char *label;
	const char *name;
	int idx;
	h4h_err *err;
} where;

static int bad(const where *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
bad(const where *w, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (w->name != NULL)
		return h4h_errf(w->err, H4H_EINPUT, "'%s' layer '%s': %s",
		    w->label, w->name, msg);
	return h4h_errf(w->err, H4H_EINPUT, "'%s' layers[%d]: %s", w->label,
	    w->idx, msg);
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	default: return "null";
	}
}

/* Reads integer `key` of `o` into *out: `def` if absent and not required. */
static int
get_int(const where *w, const json_t *o, const char *key, int required,
    int def, long long lo, long long hi, int *out)
{
	json_t *v = json_object_get(o, key);
	long long x;

	if (v == NULL) {
		if (required)
			return bad(w, "missing key '%s'", key);
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return bad(w, "'%s' must be an integer (got %s)", key,
		    type_name(v));
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return bad(w, "'%s' must be in %lld..%lld (got %lld)", key, lo,
		    hi, x);
	*out = (int)x;
	return 0;
}

static int
get_act(const where *w, const json_t *o, int required, sim_act *out)
{
	json_t *v = json_object_get(o, "act");
	int a;

	*out = SIM_ACT_NONE;
	if (v == NULL)
		return required ? bad(w, "missing key 'act'") : 0;
	if (!json_is_string(v))
		return bad(w, "'act' must be a string (got %s)", type_name(v));
	if ((a = sim_act_from_name(json_string_value(v))) < 0)
		return bad(w, "unknown act '%s' (expected none, relu, relu6, "
		    "hswish, gelu, sigmoid or silu)", json_string_value(v));
	*out = (sim_act)a;
	return 0;
}

/* The JSON array's layers by name: the first index of each name, so that
 * a layer's inputs are found in constant time (a scan of the array per
 * input made a long layer list quadratic). */
typedef struct name_entry {
	const char *name;		/* borrowed from the JSON tree */
	int idx;
} name_entry;

typedef struct name_index {
	h4h_htab tab;
	name_entry *e;
} name_index;

static int
name_eq(const void *item, const void *key)
{
	return strcmp(((const name_entry *)item)->name, key) == 0;
}

static uint64_t
name_hash(const char *s)
{
	return h4h_hash64(s, strlen(s), H4H_HASH_SEED);
}

static void
name_index_build(name_index *ix, const json_t *layers)
{
	size_t n = json_array_size(layers), k = 0;

	memset(ix, 0, sizeof *ix);
	ix->e = h4h_xcalloc(n ? n : 1, sizeof *ix->e);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_object_get(
		    json_array_get(layers, i), "name"));
		uint64_t h;

		if (s == NULL)
			continue;
		h = name_hash(s);
		if (h4h_htab_find(&ix->tab, h, name_eq, s) != NULL)
			continue;	/* the first of a name, as before */
		ix->e[k].name = s;
		ix->e[k].idx = (int)i;
		h4h_htab_add(&ix->tab, h, &ix->e[k++]);
	}
}

static void
name_index_free(name_index *ix)
{
	h4h_htab_free(&ix->tab, NULL);
	free(ix->e);
}

/* Index of the layer named `s` before layer `idx` in the JSON array, -1 for
 * "input"; an error if it is unknown, the layer itself, or a later one. */
static int
find_input(const where *w, const name_index *ix, int idx, const char *s,
    int *out)
{
	const name_entry *e;

	if (strcmp(s, "input") == 0) {
		*out = -1;
		return 0;
	}
	if ((e = h4h_htab_find(&ix->tab, name_hash(s), name_eq, s)) == NULL)
		return bad(w, "'inputs' names unknown layer '%s'", s);
	if (e->idx < idx) {
		*out = e->idx;
		return 0;
	}
	if (e->idx == idx)
		return bad(w, "'inputs' names the layer itself");
	return bad(w, "'inputs' names '%s', a later layer (layers may read "
	    "only earlier ones)", s);
}

/* Layer idx of the JSON array, appended to net; at[j] is the net's index
 * of JSON layer j < idx (a global pool of a large map appends strided
 * pools before it, gpool.h, so the two differ). */
static int
parse_layer(sim_net *net, const json_t *layers, const name_index *ix,
    int idx, int *at,
    const char *label, h4h_err *err)
{
	const json_t *jl = json_array_get(layers, idx);
	where w = { label, NULL, idx, err };
	sim_layer l;
	json_t *v, *in;
	const char *key, *op;
	int a, rc, global = 0;
	h4h_err sub;

	memset(&l, 0, sizeof l);
	if (!json_is_object(jl))
		return bad(&w, "a layer must be an object (got %s)",
		    type_name(jl));
	if ((v = json_object_get(jl, "name")) == NULL)
		return bad(&w, "missing key 'name'");
	if (!json_is_string(v))
		return bad(&w, "'name' must be a string (got %s)",
		    type_name(v));
	if (json_string_length(v) == 0)
		return bad(&w, "'name' is empty");
	if (json_string_length(v) >= SIM_NAME_MAX)
		return bad(&w, "'name' '%s' is longer than %d characters",
		    json_string_value(v), SIM_NAME_MAX - 1);
	w.name = json_string_value(v);
	snprintf(l.name, sizeof l.name, "%s", w.name);

	if ((v = json_object_get(jl, "op")) == NULL)
		return bad(&w, "missing key 'op'");
	if (!json_is_string(v))
		return bad(&w, "'op' must be a string (got %s)", type_name(v));
	op = json_string_value(v);
	if ((a = sim_act_from_name(op)) > SIM_ACT_NONE) {
		l.op = SIM_OP_ACT;
		l.act = (sim_act)a;
	} else if ((a = sim_op_from_name(op)) >= 0) {
		l.op = (sim_op)a;
	} else {
		return bad(&w, "unknown op '%s'", op);
	}

	json_object_foreach((json_t *)jl, key, v) {
		int ok = strcmp(key, "name") == 0 || strcmp(key, "op") == 0 ||
		    strcmp(key, "inputs") == 0;

		/* "relu" etc. imply their act; only op "act" takes the key. */
		for (int k = 0; !ok && k < 5 && op_keys[l.op][k] != NULL; k++)
			ok = strcmp(key, op_keys[l.op][k]) == 0 &&
			    !(strcmp(key, "act") == 0 && l.op == SIM_OP_ACT &&
			    strcmp(op, "act") != 0);
		if (!ok)
			return bad(&w, "unknown key '%s' for op '%s'", key, op);
	}

	switch (l.op) {
	case SIM_OP_CONV:
		if ((rc = get_int(&w, jl, "out", 1, 0, 1, SIM_DIM_MAX,
		    &l.out_c)) != 0 ||
		    (rc = get_int(&w, jl, "groups", 0, 1, 1, SIM_DIM_MAX,
		    &l.groups)) != 0)
			return rc;
		/* fall through */
	case SIM_OP_DWCONV:
		if ((rc = get_int(&w, jl, "kernel", 1, 0, 1, SIM_KERNEL_MAX,
		    &l.kh)) != 0 ||
		    (rc = get_int(&w, jl, "stride", 0, 1, 1, SIM_STRIDE_MAX,
		    &l.stride)) != 0 ||
		    (rc = get_act(&w, jl, 0, &l.act)) != 0)
			return rc;
		break;
	case SIM_OP_FC:
		if ((rc = get_int(&w, jl, "out", 1, 0, 1, SIM_DIM_MAX,
		    &l.out_c)) != 0 ||
		    (rc = get_act(&w, jl, 0, &l.act)) != 0)
			return rc;
		break;
	case SIM_OP_MATMUL:
		if ((rc = get_int(&w, jl, "heads", 0, 1, 1, SIM_DIM_MAX,
		    &l.heads)) != 0 ||
		    (rc = get_int(&w, jl, "m", 1, 0, 1, SIM_DIM_MAX,
		    &l.mm_m)) != 0 ||
		    (rc = get_int(&w, jl, "k", 1, 0, 1, SIM_DIM_MAX,
		    &l.mm_k)) != 0 ||
		    (rc = get_int(&w, jl, "n", 1, 0, 1, SIM_DIM_MAX,
		    &l.mm_n)) != 0)
			return rc;
		break;
	case SIM_OP_ADD:
		if ((rc = get_act(&w, jl, 0, &l.act)) != 0)
			return rc;
		break;
	case SIM_OP_AVGPOOL:
	case SIM_OP_MAXPOOL:
		if ((v = json_object_get(jl, "global")) != NULL) {
			if (!json_is_boolean(v))
				return bad(&w, "'global' must be true or false "
				    "(got %s)", type_name(v));
			global = json_is_true(v);
		}
		if (global) {
			if (json_object_get(jl, "kernel") != NULL ||
			    json_object_get(jl, "stride") != NULL)
				return bad(&w, "'kernel' and 'stride' do not "
				    "go with 'global': true");
			l.global = 1;
			break;
		}
		if ((rc = get_int(&w, jl, "kernel", 1, 0, 1, SIM_KERNEL_MAX,
		    &l.kh)) != 0 ||
		    (rc = get_int(&w, jl, "stride", 0, 1, 1, SIM_STRIDE_MAX,
		    &l.stride)) != 0)
			return rc;
		break;
	case SIM_OP_ACT:
		if (strcmp(op, "act") == 0) {
			if ((rc = get_act(&w, jl, 1, &l.act)) != 0)
				return rc;
			if (l.act == SIM_ACT_NONE)
				return bad(&w, "'act' must not be 'none' for "
				    "op 'act'");
		}
		break;
	default:
		break;
	}

	if ((in = json_object_get(jl, "inputs")) == NULL) {
		if (l.op == SIM_OP_ADD)
			return bad(&w, "missing key 'inputs' (op 'add' needs "
			    "two)");
		l.n_inputs = 1;
		l.inputs[0] = idx == 0 ? -1 : at[idx - 1];
	} else {
		size_t n = json_is_array(in) ? json_array_size(in) : 0;

		if (!json_is_array(in))
			return bad(&w, "'inputs' must be an array of layer "
			    "names (got %s)", type_name(in));
		if (n < 1 || n > 2)
			return bad(&w, "'inputs' must name 1 or 2 layers (got "
			    "%zu)", n);
		for (size_t i = 0; i < n; i++) {
			v = json_array_get(in, i);
			if (!json_is_string(v))
				return bad(&w, "'inputs'[%zu] must be a layer "
				    "name (got %s)", i, type_name(v));
			if ((rc = find_input(&w, ix, idx,
			    json_string_value(v), &l.inputs[i])) != 0)
				return rc;
			if (l.inputs[i] >= 0)
				l.inputs[i] = at[l.inputs[i]];
		}
		l.n_inputs = (int)n;
	}

	if (l.global && l.n_inputs == 1 &&
	    (rc = sim_front_pre_pool(net, &l, l.name, 0, &sub)) != 0)
		return h4h_errf(err, rc, "'%s' %s", label, sub.msg);
	if ((rc = sim_net_append(net, &l, &sub)) != 0)
		return h4h_errf(err, rc, "'%s' %s", label, sub.msg);
	at[idx] = net->n_layers - 1;
	return 0;
}

static int
parse_buf(const char *buf, size_t len, const char *label, void *vout,
    h4h_err *err)
{
	sim_net **out = vout;
	json_error_t je;
	json_t *root, *v, *layers;
	const char *key;
	char name[SIM_NAME_MAX];
	long long dim[3];
	sim_net *net = NULL;
	name_index ix;
	int *at = NULL, rc = 0, have_ix = 0;

	*out = NULL;
	/* A UTF-8 byte-order mark (Windows editors write one) is not JSON,
	 * but it is no error either. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return h4h_errf(err, H4H_EINPUT, "'%s' line %d column %d: %s",
		    label, je.line, je.column, je.text);
	if (!json_is_object(root)) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': the top level must be an "
		    "object (got %s)", label, type_name(root));
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "name") != 0 && strcmp(key, "input") != 0 &&
		    strcmp(key, "layers") != 0) {
			rc = h4h_errf(err, H4H_EINPUT, "'%s': unknown key '%s' "
			    "(expected name, input, layers)", label, key);
			goto out;
		}
	}

	h4h_path_stem(label, "net", name, sizeof name);
	if ((v = json_object_get(root, "name")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= SIM_NAME_MAX) {
			rc = h4h_errf(err, H4H_EINPUT, "'%s': 'name' must be a "
			    "string of 1..%d characters", label,
			    SIM_NAME_MAX - 1);
			goto out;
		}
		snprintf(name, sizeof name, "%s", json_string_value(v));
	}

	v = json_object_get(root, "input");
	if (v == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': missing key 'input' "
		    "([H, W, C])", label);
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		json_t *d = json_array_get(v, i);

		if (!json_is_array(v) || json_array_size(v) != 3 ||
		    !json_is_integer(d) || json_integer_value(d) < 1 ||
		    json_integer_value(d) > SIM_DIM_MAX) {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

			rc = h4h_errf(err, H4H_EINPUT, "'%s': 'input' must be "
			    "3 integers [H, W, C] in 1..%d (got %s)", label,
			    SIM_DIM_MAX, s != NULL ? s : "?");
			free(s);
			goto out;
		}
		dim[i] = json_integer_value(d);
	}
	if (dim[0] * dim[1] * dim[2] > INT_MAX) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': 'input' %lldx%lldx%lld "
		    "has more than %d elements", label, dim[0], dim[1],
		    dim[2], INT_MAX);
		goto out;
	}

	layers = json_object_get(root, "layers");
	if (layers == NULL || !json_is_array(layers)) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': %s 'layers' (an array "
		    "of layers)", label, layers == NULL ? "missing key" :
		    "wrong type for");
		goto out;
	}
	if (json_array_size(layers) == 0) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': 'layers' is empty",
		    label);
		goto out;
	}
	if (json_array_size(layers) > INT_MAX / 2) {
		rc = h4h_errf(err, H4H_EINPUT, "'%s': too many layers", label);
		goto out;
	}

	net = sim_net_new(name, (int)dim[0], (int)dim[1], (int)dim[2]);
	at = h4h_xcalloc(json_array_size(layers), sizeof *at);
	name_index_build(&ix, layers);
	have_ix = 1;
	for (size_t i = 0; i < json_array_size(layers); i++)
		if ((rc = parse_layer(net, layers, &ix, (int)i, at, label,
		    err)) != 0)
			goto out;
	*out = net;
	net = NULL;
out:
	if (have_ix)
		name_index_free(&ix);
	free(at);
	sim_net_destroy(net);
	json_decref(root);
	return rc;
}

int
sim_net_parse(const char *json, const char *label, sim_net **out,
    h4h_err *err)
{
	return parse_buf(json, strlen(json), label, out, err);
}

int
sim_net_load(const char *path, sim_net **out, h4h_err *err)
{
	*out = NULL;
	return sim_front_load(path, parse_buf, out, err);
}
