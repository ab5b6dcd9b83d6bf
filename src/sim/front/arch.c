/*
 * arch.c - lowers an H4H architecture, one subnet of the paper's Table 1
 * search space, into the layer list of net.h.
 *
 * Format ("H4H architecture", doc/formats.md):
 *
 *   {"name": "h4h-max",        optional, 1..63 chars; default: file stem
 *    "resolution": 224,        required, 8..4096: the input is R x R
 *    "in_channels": 3,         optional, 1..65536, default 3
 *    "classes": 1000,          optional, 1..1048576, default 1000
 *    "stages": [STAGE, ...]}   required, non-empty, run in order
 *
 *   STAGE = {"block": KIND, ...the keys of KIND (= default)}:
 *     conv     width, stride = 1
 *     mbconv   width, depth, expand, stride = 1
 *     vit      width, depth, mlp_ratio
 *     mbpool   width, expand                   (only as the last stage)
 *
 *   width 1..65536 (vit: a multiple of 8, the Q/K/V dimension), depth
 *   0..64, expand 1..16, stride 1 or 2, mlp_ratio a number in (0, 16].
 *   Unknown keys are errors.
 *
 * Lowering of stage i, reading an H x W x C map.  BN is folded into the
 * convs; activations are hswish (OFA / MobileNetV3) except the ViT MLP,
 * which uses GELU as EfficientFormer does.  All kernels are 3x3 (Table 1).
 *
 *   conv     si.conv          conv 3x3 /stride -> width, hswish
 *   mbconv   depth inverted-residual blocks j; only j == 0 has the stride:
 *            si.bj.expand     conv 1x1 C -> C*expand, hswish (if expand > 1)
 *            si.bj.dw         dwconv 3x3 /s, hswish
 *            si.bj.project    conv 1x1 -> width
 *            si.bj.add        add [block input, project] (s == 1, C == width)
 *   vit      depth EfficientFormer Meta3D blocks j (pre-norm, heads of 8
 *            dims, heads = width / 8, T = H*W tokens kept as [H, W, C]):
 *            si.vitj.ln1      layernorm
 *            si.vitj.qkv      fc C -> 3*width
 *            si.vitj.qk       matmul heads, m = T, k = 8, n = T   [qkv]
 *            si.vitj.softmax  softmax over [H, W, heads*T]
 *            si.vitj.av       matmul heads, m = T, k = T, n = 8
 *                             [softmax, qkv] -> [H, W, width]
 *            si.vitj.proj     fc width -> C
 *            si.vitj.add1     add [block input, proj]
 *            si.vitj.ln2      layernorm
 *            si.vitj.mlp1     fc C -> round(C * mlp_ratio), gelu
 *            si.vitj.mlp2     fc -> C
 *            si.vitj.add2     add [add1, mlp2]
 *   mbpool   the OFA MobileNetV3 head:
 *            si.expand        conv 1x1 C -> C*expand, hswish
 *            si.pool          avgpool global -> [1, 1, C*expand]
 *            si.mix           fc -> width, hswish
 *            si.classifier    fc -> classes
 *
 * A stage of depth 0 emits nothing.  Errors name the file, "stages[i]" and
 * the key.
 */
#define _POSIX_C_SOURCE 200809L
#include "sim/front/arch.h"
#include "sim/front/onnx.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "sim/spec/canon.h"
#include "sim/front/net_json.h"
#include "sim/front/read.h"

#define WIDTH_MAX 65536
#define DEPTH_MAX 64
#define EXPAND_MAX 16
#define MLP_RATIO_MAX 16.0
#define HEAD_DIM 8		/* paper, Sec. 4: 8-dimension heads */

#define BLK_CONV SIM_BLOCK_CONV
#define BLK_MBCONV SIM_BLOCK_MBCONV
#define BLK_VIT SIM_BLOCK_VIT
#define BLK_MBPOOL SIM_BLOCK_MBPOOL
#define BLK_COUNT SIM_BLOCK_COUNT

static const char *const blk_names[BLK_COUNT] = {
	"conv", "mbconv", "vit", "mbpool",
};

/* Keys each block kind accepts besides "block". */
static const char *const blk_keys[BLK_COUNT][4] = {
	[BLK_CONV] = { "width", "stride" },
	[BLK_MBCONV] = { "width", "depth", "expand", "stride" },
	[BLK_VIT] = { "width", "depth", "mlp_ratio" },
	[BLK_MBPOOL] = { "width", "expand" },
};

typedef sim_arch_stage stage;

/* Lowering state: the net, the label and stage for messages, and the layer
 * the next one reads. */
typedef struct lower {
	sim_net *net;
	const char *label;
	int si;
	int cur;
	h4h_err *err;
} lower;

static int bad(const char *label, int si, h4h_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "'FILE' stages[I]: ..." (or "'FILE': ..." when si < 0). */
static int
bad(const char *label, int si, h4h_err *err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (si < 0)
		return h4h_errf(err, H4H_EINPUT, "'%s': %s", label, msg);
	return h4h_errf(err, H4H_EINPUT, "'%s' stages[%d]: %s", label, si,
	    msg);
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

static int
get_int(const char *label, int si, h4h_err *err, const json_t *o,
    const char *key, int required, int def, long long lo, long long hi,
    int *out)
{
	json_t *v = json_object_get(o, key);
	long long x;

	if (v == NULL) {
		if (required)
			return bad(label, si, err, "missing key '%s'", key);
		*out = def;
		return 0;
	}
	if (!json_is_integer(v))
		return bad(label, si, err, "'%s' must be an integer (got %s)",
		    key, type_name(v));
	x = json_integer_value(v);
	if (x < lo || x > hi)
		return bad(label, si, err, "'%s' must be in %lld..%lld (got "
		    "%lld)", key, lo, hi, x);
	*out = (int)x;
	return 0;
}

static int
parse_stage(const char *label, int si, const json_t *js, int last,
    stage *st, h4h_err *err)
{
	json_t *v;
	const char *key, *kind;
	int rc, ok;

	memset(st, 0, sizeof *st);
	if (!json_is_object(js))
		return bad(label, si, err, "a stage must be an object (got %s)",
		    type_name(js));
	if ((v = json_object_get(js, "block")) == NULL)
		return bad(label, si, err, "missing key 'block'");
	if (!json_is_string(v))
		return bad(label, si, err, "'block' must be a string (got %s)",
		    type_name(v));
	kind = json_string_value(v);
	for (st->kind = 0; st->kind < BLK_COUNT; st->kind++)
		if (strcmp(kind, blk_names[st->kind]) == 0)
			break;
	if (st->kind == BLK_COUNT)
		return bad(label, si, err, "unknown block '%s' (expected conv, "
		    "mbconv, vit or mbpool)", kind);
	json_object_foreach((json_t *)js, key, v) {
		ok = strcmp(key, "block") == 0;
		for (int k = 0; !ok && k < 4 && blk_keys[st->kind][k]; k++)
			ok = strcmp(key, blk_keys[st->kind][k]) == 0;
		if (!ok)
			return bad(label, si, err, "unknown key '%s' for block "
			    "'%s'", key, kind);
	}

	if ((rc = get_int(label, si, err, js, "width", 1, 0, 1, WIDTH_MAX,
	    &st->width)) != 0)
		return rc;
	st->depth = 1;
	st->expand = 1;
	st->stride = 1;
	switch (st->kind) {
	case BLK_CONV:
		rc = get_int(label, si, err, js, "stride", 0, 1, 1, 2,
		    &st->stride);
		break;
	case BLK_MBCONV:
		if ((rc = get_int(label, si, err, js, "depth", 1, 0, 0,
		    DEPTH_MAX, &st->depth)) != 0 ||
		    (rc = get_int(label, si, err, js, "expand", 1, 0, 1,
		    EXPAND_MAX, &st->expand)) != 0)
			return rc;
		rc = get_int(label, si, err, js, "stride", 0, 1, 1, 2,
		    &st->stride);
		break;
	case BLK_VIT:
		if (st->width % HEAD_DIM != 0)
			return bad(label, si, err, "'width' must be a multiple "
			    "of %d for block 'vit' (got %d)", HEAD_DIM,
			    st->width);
		if ((rc = get_int(label, si, err, js, "depth", 1, 0, 0,
		    DEPTH_MAX, &st->depth)) != 0)
			return rc;
		if ((v = json_object_get(js, "mlp_ratio")) == NULL)
			return bad(label, si, err, "missing key 'mlp_ratio'");
		if (!json_is_number(v))
			return bad(label, si, err, "'mlp_ratio' must be a "
			    "number (got %s)", type_name(v));
		st->mlp_ratio = json_number_value(v);
		if (!(st->mlp_ratio > 0 && st->mlp_ratio <= MLP_RATIO_MAX))
			return bad(label, si, err, "'mlp_ratio' must be in "
			    "(0, %g] (got %g)", MLP_RATIO_MAX, st->mlp_ratio);
		break;
	case BLK_MBPOOL:
		if (!last)
			return bad(label, si, err, "block 'mbpool' must be the "
			    "last stage");
		rc = get_int(label, si, err, js, "expand", 1, 0, 1,
		    EXPAND_MAX, &st->expand);
		break;
	case BLK_COUNT:
		break;
	}
	return rc;
}

/* Appends one layer reading `in0` (and `in1` if n_in == 2); it becomes the
 * current layer. */
static int
emit(lower *lw, sim_layer *l, int n_in, int in0, int in1)
{
	h4h_err sub;
	int rc;

	l->n_inputs = n_in;
	l->inputs[0] = in0;
	l->inputs[1] = n_in == 2 ? in1 : -1;
	if ((rc = sim_net_append_named(lw->net, l, &sub)) != 0)
		return h4h_errf(lw->err, rc, "'%s' stages[%d]: %s", lw->label,
		    lw->si, sub.msg);
	lw->cur = lw->net->n_layers - 1;
	return 0;
}

static void
cur_shape(const lower *lw, int *h, int *w, int *c)
{
	const sim_net *net = lw->net;

	if (lw->cur < 0) {
		*h = net->in_h;
		*w = net->in_w;
		*c = net->in_c;
	} else {
		*h = net->layers[lw->cur].out_h;
		*w = net->layers[lw->cur].out_w;
		*c = net->layers[lw->cur].out_c;
	}
}

/* A fresh layer named "s<si>.<blk><j>.<part>", or "s<si>.<part>" when blk
 * is NULL. */
static sim_layer
layer(const lower *lw, sim_op op, sim_act act, const char *blk, int j,
    const char *part)
{
	sim_layer l;

	memset(&l, 0, sizeof l);
	if (blk != NULL)
		snprintf(l.name, sizeof l.name, "s%d.%s%d.%s", lw->si, blk, j,
		    part);
	else
		snprintf(l.name, sizeof l.name, "s%d.%s", lw->si, part);
	l.op = op;
	l.act = act;
	l.kh = 1;
	l.stride = 1;
	l.groups = 1;
	l.heads = 1;
	return l;
}

static int
lower_conv(lower *lw, const stage *st)
{
	sim_layer l = layer(lw, SIM_OP_CONV, SIM_ACT_HSWISH, NULL, 0, "conv");

	l.kh = 3;
	l.stride = st->stride;
	l.out_c = st->width;
	return emit(lw, &l, 1, lw->cur, 0);
}

static int
lower_mbconv(lower *lw, const stage *st)
{
	sim_layer l;
	int h, w, c, in, rc;

	for (int j = 0; j < st->depth; j++) {
		int s = j == 0 ? st->stride : 1;

		in = lw->cur;
		cur_shape(lw, &h, &w, &c);
		if (st->expand != 1) {
			l = layer(lw, SIM_OP_CONV, SIM_ACT_HSWISH, "b", j,
			    "expand");
			l.out_c = c * st->expand;
			if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
				return rc;
		}
		l = layer(lw, SIM_OP_DWCONV, SIM_ACT_HSWISH, "b", j, "dw");
		l.kh = 3;
		l.stride = s;
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		l = layer(lw, SIM_OP_CONV, SIM_ACT_NONE, "b", j, "project");
		l.out_c = st->width;
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		if (s == 1 && c == st->width) {
			l = layer(lw, SIM_OP_ADD, SIM_ACT_NONE, "b", j,
			    "add");
			if ((rc = emit(lw, &l, 2, in, lw->cur)) != 0)
				return rc;
		}
	}
	return 0;
}

static int
lower_vit(lower *lw, const stage *st)
{
	sim_layer l;
	int h, w, c, t, heads = st->width / HEAD_DIM;
	int in, qkv, add1, hidden, rc;

	for (int j = 0; j < st->depth; j++) {
		in = lw->cur;
		cur_shape(lw, &h, &w, &c);
		t = h * w;	/* <= INT_MAX: a tensor's element count */
		hidden = (int)(c * st->mlp_ratio + 0.5);
		if (hidden < 1)
			return bad(lw->label, lw->si, lw->err, "'mlp_ratio' %g "
			    "x %d channels rounds to 0", st->mlp_ratio, c);
		if (hidden > WIDTH_MAX)
			return bad(lw->label, lw->si, lw->err, "'mlp_ratio' %g "
			    "x %d channels exceeds %d", st->mlp_ratio, c,
			    WIDTH_MAX);

		l = layer(lw, SIM_OP_LAYERNORM, SIM_ACT_NONE, "vit", j,
		    "ln1");
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		l = layer(lw, SIM_OP_FC, SIM_ACT_NONE, "vit", j, "qkv");
		l.out_c = 3 * st->width;
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		qkv = lw->cur;
		l = layer(lw, SIM_OP_MATMUL, SIM_ACT_NONE, "vit", j, "qk");
		l.heads = heads;
		l.mm_m = t;
		l.mm_k = HEAD_DIM;
		l.mm_n = t;
		if ((rc = emit(lw, &l, 1, qkv, 0)) != 0)
			return rc;
		l = layer(lw, SIM_OP_SOFTMAX, SIM_ACT_NONE, "vit", j,
		    "softmax");
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		l = layer(lw, SIM_OP_MATMUL, SIM_ACT_NONE, "vit", j, "av");
		l.heads = heads;
		l.mm_m = t;
		l.mm_k = t;
		l.mm_n = HEAD_DIM;
		if ((rc = emit(lw, &l, 2, lw->cur, qkv)) != 0)
			return rc;
		l = layer(lw, SIM_OP_FC, SIM_ACT_NONE, "vit", j, "proj");
		l.out_c = c;
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		l = layer(lw, SIM_OP_ADD, SIM_ACT_NONE, "vit", j, "add1");
		if ((rc = emit(lw, &l, 2, in, lw->cur)) != 0)
			return rc;
		add1 = lw->cur;
		l = layer(lw, SIM_OP_LAYERNORM, SIM_ACT_NONE, "vit", j,
		    "ln2");
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		l = layer(lw, SIM_OP_FC, SIM_ACT_GELU, "vit", j, "mlp1");
		l.out_c = hidden;
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		l = layer(lw, SIM_OP_FC, SIM_ACT_NONE, "vit", j, "mlp2");
		l.out_c = c;
		if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
			return rc;
		l = layer(lw, SIM_OP_ADD, SIM_ACT_NONE, "vit", j, "add2");
		if ((rc = emit(lw, &l, 2, add1, lw->cur)) != 0)
			return rc;
	}
	return 0;
}

static int
lower_mbpool(lower *lw, const stage *st, int classes)
{
	sim_layer l;
	int h, w, c, rc;

	cur_shape(lw, &h, &w, &c);
	l = layer(lw, SIM_OP_CONV, SIM_ACT_HSWISH, NULL, 0, "expand");
	l.out_c = c * st->expand;
	if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
		return rc;
	l = layer(lw, SIM_OP_AVGPOOL, SIM_ACT_NONE, NULL, 0, "pool");
	l.global = 1;
	if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
		return rc;
	l = layer(lw, SIM_OP_FC, SIM_ACT_HSWISH, NULL, 0, "mix");
	l.out_c = st->width;
	if ((rc = emit(lw, &l, 1, lw->cur, 0)) != 0)
		return rc;
	l = layer(lw, SIM_OP_FC, SIM_ACT_NONE, NULL, 0, "classifier");
	l.out_c = classes;
	return emit(lw, &l, 1, lw->cur, 0);
}

static int
read_buf(const char *buf, size_t len, const char *label, void *va,
    h4h_err *err)
{
	sim_arch *a = va;
	static const char *const top_keys[] = {
		"name", "resolution", "in_channels", "classes", "stages",
	};
	json_error_t je;
	json_t *root, *v, *stages;
	const char *key;
	int n, rc = 0;

	memset(a, 0, sizeof *a);
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
		rc = bad(label, -1, err, "the top level must be an object "
		    "(got %s)", type_name(root));
		goto out;
	}
	json_object_foreach(root, key, v) {
		int ok = 0;

		for (size_t k = 0; k < sizeof top_keys / sizeof *top_keys; k++)
			ok |= strcmp(key, top_keys[k]) == 0;
		if (!ok) {
			rc = bad(label, -1, err, "unknown key '%s' (expected "
			    "name, resolution, in_channels, classes, stages)",
			    key);
			goto out;
		}
	}
	h4h_path_stem(label, "arch", a->name, sizeof a->name);
	if ((v = json_object_get(root, "name")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= SIM_NAME_MAX) {
			rc = bad(label, -1, err, "'name' must be a string of "
			    "1..%d characters", SIM_NAME_MAX - 1);
			goto out;
		}
		snprintf(a->name, sizeof a->name, "%s", json_string_value(v));
	}
	if ((rc = get_int(label, -1, err, root, "resolution", 1, 0, 8, 4096,
	    &a->resolution)) != 0 ||
	    (rc = get_int(label, -1, err, root, "in_channels", 0, 3, 1,
	    WIDTH_MAX, &a->in_channels)) != 0 ||
	    (rc = get_int(label, -1, err, root, "classes", 0, 1000, 1,
	    1 << 20, &a->classes)) != 0)
		goto out;
	stages = json_object_get(root, "stages");
	if (stages == NULL || !json_is_array(stages)) {
		rc = bad(label, -1, err, stages == NULL ? "missing key "
		    "'stages'" : "'stages' must be an array of stages");
		goto out;
	}
	if ((n = (int)json_array_size(stages)) == 0) {
		rc = bad(label, -1, err, "'stages' is empty");
		goto out;
	}
	if (n > SIM_ARCH_MAX_STAGES) {
		rc = bad(label, -1, err, "at most %d stages (got %d)",
		    SIM_ARCH_MAX_STAGES, n);
		goto out;
	}
	for (int si = 0; si < n; si++)
		if ((rc = parse_stage(label, si, json_array_get(stages, si),
		    si == n - 1, &a->stages[si], err)) != 0)
			goto out;
	a->n_stages = n;
out:
	json_decref(root);
	return rc;
}

/* The ranges the JSON reader enforces, for architectures built in code. */
static int
check_arch(const sim_arch *a, const char *label, h4h_err *err)
{
	if (a->resolution < 8 || a->resolution > 4096 || a->in_channels < 1 ||
	    a->in_channels > WIDTH_MAX || a->classes < 1 ||
	    a->classes > (1 << 20))
		return bad(label, -1, err, "resolution, in_channels or classes "
		    "out of range (%d, %d, %d)", a->resolution, a->in_channels,
		    a->classes);
	if (a->n_stages < 1 || a->n_stages > SIM_ARCH_MAX_STAGES)
		return bad(label, -1, err, "1..%d stages needed (got %d)",
		    SIM_ARCH_MAX_STAGES, a->n_stages);
	for (int si = 0; si < a->n_stages; si++) {
		const stage *st = &a->stages[si];

		if ((unsigned)st->kind >= BLK_COUNT)
			return bad(label, si, err, "unknown block kind %d",
			    (int)st->kind);
		if (st->width < 1 || st->width > WIDTH_MAX || st->depth < 0 ||
		    st->depth > DEPTH_MAX || st->expand < 1 ||
		    st->expand > EXPAND_MAX || st->stride < 1 ||
		    st->stride > 2)
			return bad(label, si, err, "width, depth, expand or "
			    "stride out of range (%d, %d, %d, %d)", st->width,
			    st->depth, st->expand, st->stride);
		if (st->kind == BLK_VIT && (st->width % HEAD_DIM != 0 ||
		    !(st->mlp_ratio > 0 && st->mlp_ratio <= MLP_RATIO_MAX)))
			return bad(label, si, err, "vit width must be a multiple "
			    "of %d and mlp_ratio in (0, %g] (got %d, %g)",
			    HEAD_DIM, MLP_RATIO_MAX, st->width, st->mlp_ratio);
		if (st->kind == BLK_MBPOOL && si != a->n_stages - 1)
			return bad(label, si, err, "block 'mbpool' must be the "
			    "last stage");
	}
	return 0;
}

int
sim_arch_lower(const sim_arch *a, const char *label, sim_net **out,
    h4h_err *err)
{
	lower lw = { NULL, label, -1, -1, err };
	int rc;

	*out = NULL;
	if ((rc = check_arch(a, label, err)) != 0)
		return rc;
	lw.net = sim_net_new(a->name, a->resolution, a->resolution,
	    a->in_channels);
	for (lw.si = 0; lw.si < a->n_stages; lw.si++) {
		const stage *st = &a->stages[lw.si];

		switch (st->kind) {
		case BLK_CONV:
			rc = lower_conv(&lw, st);
			break;
		case BLK_MBCONV:
			rc = lower_mbconv(&lw, st);
			break;
		case BLK_VIT:
			rc = lower_vit(&lw, st);
			break;
		default:
			rc = lower_mbpool(&lw, st, a->classes);
			break;
		}
		if (rc != 0) {
			sim_net_destroy(lw.net);
			return rc;
		}
	}
	if (lw.net->n_layers == 0) {
		sim_net_destroy(lw.net);
		return bad(label, -1, err, "every stage has depth 0: no layers");
	}
	*out = lw.net;
	return 0;
}

int
sim_arch_read(const char *json, const char *label, sim_arch *out,
    h4h_err *err)
{
	return read_buf(json, strlen(json), label, out, err);
}

int
sim_arch_read_file(const char *path, sim_arch *out, h4h_err *err)
{
	return sim_front_load(path, read_buf, out, err);
}

static int
parse_buf(const char *buf, size_t len, const char *label, void *vout,
    h4h_err *err)
{
	sim_net **out = vout;
	sim_arch a;
	int rc;

	*out = NULL;
	if ((rc = read_buf(buf, len, label, &a, err)) != 0)
		return rc;
	return sim_arch_lower(&a, label, out, err);
}

char *
sim_arch_canon(const sim_arch *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return h4h_xstrdup("");
	fprintf(f, "{\"resolution\":%d,\"in_channels\":%d,\"classes\":%d,"
	    "\"stages\":[", a->resolution, a->in_channels, a->classes);
	for (int si = 0; si < a->n_stages; si++) {
		const stage *st = &a->stages[si];

		fprintf(f, "%s{\"block\":\"%s\",\"width\":%d", si ? "," : "",
		    blk_names[st->kind], st->width);
		switch (st->kind) {
		case BLK_CONV:
			fprintf(f, ",\"stride\":%d}", st->stride);
			break;
		case BLK_MBCONV:
			fprintf(f, ",\"depth\":%d,\"expand\":%d,\"stride\":%d}",
			    st->depth, st->expand, st->stride);
			break;
		case BLK_VIT:
			fprintf(f, ",\"depth\":%d,\"mlp_ratio\":%.17g}",
			    st->depth, st->mlp_ratio);
			break;
		default:
			fprintf(f, ",\"expand\":%d}", st->expand);
			break;
		}
	}
	fputs("]}", f);
	fclose(f);
	return buf;
}

uint64_t
sim_arch_hash(const sim_arch *a)
{
	/* Field by field: padding bytes never enter the hash. */
	uint64_t h = H4H_HASH_SEED;
	int top[4] = { a->resolution, a->in_channels, a->classes,
	    a->n_stages };

	h = h4h_hash64(top, sizeof top, h);
	for (int si = 0; si < a->n_stages; si++) {
		const stage *st = &a->stages[si];
		int v[5] = { (int)st->kind, st->width, st->depth, st->expand,
		    st->stride };
		double r = st->kind == BLK_VIT ? st->mlp_ratio : 0;

		h = h4h_hash64(v, sizeof v, h);
		h = h4h_hash64(&r, sizeof r, h);
	}
	return h;
}

int
sim_arch_parse(const char *json, const char *label, sim_net **out,
    h4h_err *err)
{
	return parse_buf(json, strlen(json), label, out, err);
}

int
sim_arch_load(const char *path, sim_net **out, h4h_err *err)
{
	*out = NULL;
	return sim_front_load(path, parse_buf, out, err);
}

int
sim_net_open(const char *path, int kind, sim_net **out, char **arch_json,
    h4h_err *err)
{
	sim_arch a;
	int rc;

	*out = NULL;
	*arch_json = NULL;
	if (kind == SIM_NET_ONNX)
		return sim_onnx_load(path, out, err);
	if (kind != SIM_NET_ARCH)
		return sim_net_load(path, out, err);
	if ((rc = sim_arch_read_file(path, &a, err)) != 0 ||
	    (rc = sim_arch_lower(&a, path, out, err)) != 0)
		return rc;
	*arch_json = sim_arch_canon(&a);
	return 0;
}
