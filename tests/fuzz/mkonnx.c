/*
 * mkonnx.c - writes the ONNX fuzz target's regression corpus
 * (tests/fuzz/regress/onnx/, doc/reliability.md): one model per class of
 * hostile input that issue 19 found (named after it), and structure-aware
 * mutants of small valid graphs and of the shipped models: dims, attribute
 * values and types, axes and graph shape are changed on the parsed
 * protobuf, not as bytes, so that most mutants get past the parser into
 * the lowering.  Deterministic (a fixed-seed generator): the same build
 * writes the same files.
 *
 *   make tests/fuzz/mkonnx && tests/fuzz/mkonnx DIR [MODEL.onnx...]
 *
 * A one-shot tool: it leaks what it builds (every model is written once).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/sim/front/onnx/gen/onnx.pb-c.h"	/* generated into the build tree */

static const char *outdir;
static int written;

static void *
zalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "mkonnx: out of memory\n");
		exit(1);
	}
	return p;
}

static char *
sdup(const char *s)
{
	return strcpy(zalloc(strlen(s) + 1), s);
}

/* ---- a graph builder -------------------------------------------------- */

typedef struct mb {
	Onnx__ModelProto m;
	Onnx__GraphProto g;
	Onnx__OperatorSetIdProto opset;
	Onnx__OperatorSetIdProto *opsets[1];
	size_t cap_node;
} mb;

static mb *
mb_new(int opset)
{
	mb *b = zalloc(sizeof *b);

	onnx__model_proto__init(&b->m);
	onnx__graph_proto__init(&b->g);
	onnx__operator_set_id_proto__init(&b->opset);
	b->opset.has_version = 1;
	b->opset.version = opset;
	b->opset.domain = sdup("");
	b->opsets[0] = &b->opset;
	b->m.n_opset_import = 1;
	b->m.opset_import = b->opsets;
	b->m.has_ir_version = 1;
	b->m.ir_version = 8;
	b->m.graph = &b->g;
	b->g.name = sdup("fuzz");
	b->g.input = zalloc(64 * sizeof *b->g.input);
	b->g.output = zalloc(8 * sizeof *b->g.output);
	b->g.initializer = zalloc(64 * sizeof *b->g.initializer);
	b->cap_node = 64;
	b->g.node = zalloc(b->cap_node * sizeof *b->g.node);
	return b;
}

/* A graph input (a weight, if not the first); a dim of -1 is symbolic. */
static void
mb_input(mb *b, const char *name, int rank, const int64_t *dims)
{
	Onnx__ValueInfoProto *vi = zalloc(sizeof *vi);
	Onnx__TypeProto *tp = zalloc(sizeof *tp);
	Onnx__TypeProto__Tensor *tt = zalloc(sizeof *tt);
	Onnx__TensorShapeProto *sh = zalloc(sizeof *sh);
	Onnx__TensorShapeProto__Dimension **dm = zalloc((size_t)rank *
	    sizeof *dm);

	onnx__value_info_proto__init(vi);
	onnx__type_proto__init(tp);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sh);
	for (int i = 0; i < rank; i++) {
		dm[i] = zalloc(sizeof *dm[i]);
		onnx__tensor_shape_proto__dimension__init(dm[i]);
		if (dims[i] != -1) {
			dm[i]->value_case =
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			dm[i]->dim_value = dims[i];
		} else {
			dm[i]->value_case =
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			dm[i]->dim_param = sdup("n");
		}
	}
	sh->n_dim = (size_t)rank;
	sh->dim = dm;
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	vi->name = sdup(name);
	vi->type = tp;
	b->g.input[b->g.n_input++] = vi;
}

static void
mb_w(mb *b, const char *name, int64_t a, int64_t c, int64_t h, int64_t w)
{
	int64_t d[4] = { a, c, h, w };

	mb_input(b, name, w > 0 ? 4 : c > 0 ? 2 : 1, d);
}

/* An int64 initializer of n values (rank 1, or rank 0 if n < 0). */
static void
mb_ints(mb *b, const char *name, int n, const int64_t *v)
{
	Onnx__TensorProto *t = zalloc(sizeof *t);
	int cnt = n < 0 ? 1 : n;

	onnx__tensor_proto__init(t);
	t->name = sdup(name);
	if (n >= 0) {
		t->n_dims = 1;
		t->dims = zalloc(sizeof *t->dims);
		t->dims[0] = n;
	}
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	t->n_int64_data = (size_t)cnt;
	t->int64_data = zalloc((size_t)cnt * sizeof *t->int64_data);
	memcpy(t->int64_data, v, (size_t)cnt * sizeof *v);
	b->g.initializer[b->g.n_initializer++] = t;
}

/* A float initializer of the given dims with no values (a weight). */
static void
mb_dims(mb *b, const char *name, int rank, const int64_t *dims)
{
	Onnx__TensorProto *t = zalloc(sizeof *t);

	onnx__tensor_proto__init(t);
	t->name = sdup(name);
	t->n_dims = (size_t)rank;
	t->dims = zalloc((size_t)rank * sizeof *t->dims);
	memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	b->g.initializer[b->g.n_initializer++] = t;
}

static Onnx__AttributeProto *
attr_new(const char *name)
{
	Onnx__AttributeProto *at = zalloc(sizeof *at);

	onnx__attribute_proto__init(at);
	at->name = sdup(name);
	at->has_type = 1;
	return at;
}

/* A node "in1,in2" -> "out1,out2"; attrs "name=i:3", "name=is:1,1",
 * "name=f:0.5", "name=fs:1,2", "name=s:SAME_UPPER", NULL-terminated. */
static Onnx__NodeProto *
mb_node(mb *b, const char *op, const char *name, const char *ins,
    const char *outs, ...)
{
	Onnx__NodeProto *n = zalloc(sizeof *n);
	const char *a;
	va_list ap;
	char *buf, *tok, *save;

	onnx__node_proto__init(n);
	n->op_type = sdup(op);
	n->name = sdup(name);
	n->input = zalloc((strlen(ins) + 1) * sizeof *n->input);
	n->output = zalloc((strlen(outs) + 1) * sizeof *n->output);
	buf = sdup(ins);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save))
		n->input[n->n_input++] = sdup(strcmp(tok, "-") ? tok : "");
	buf = sdup(outs);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save))
		n->output[n->n_output++] = sdup(tok);
	n->attribute = zalloc(16 * sizeof *n->attribute);
	va_start(ap, outs);
	while ((a = va_arg(ap, const char *)) != NULL) {
		const char *eq = strchr(a, '='), *col = strchr(a, ':');
		char *nm = sdup(a), *v, *t2, *s2;
		Onnx__AttributeProto *at;
		size_t tl = (size_t)(col - eq - 1);

		nm[eq - a] = '\0';
		at = attr_new(nm);
		if (tl == 1 && eq[1] == 'i') {
			at->has_i = 1;
			at->i = strtoll(col + 1, NULL, 0);
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
		} else if (tl == 1 && eq[1] == 'f') {
			at->has_f = 1;
			at->f = strtof(col + 1, NULL);
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
		} else if (tl == 2 && eq[1] == 'i') {
			at->ints = zalloc(strlen(col) * sizeof *at->ints);
			v = sdup(col + 1);
			for (t2 = strtok_r(v, ",", &s2); t2; t2 = strtok_r(NULL,
			    ",", &s2))
				at->ints[at->n_ints++] = strtoll(t2, NULL, 0);
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
		} else if (tl == 2 && eq[1] == 'f') {
			at->floats = zalloc(strlen(col) * sizeof *at->floats);
			v = sdup(col + 1);
			for (t2 = strtok_r(v, ",", &s2); t2; t2 = strtok_r(NULL,
			    ",", &s2))
				at->floats[at->n_floats++] = strtof(t2, NULL);
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
		} else {
			at->has_s = 1;
			at->s.data = (uint8_t *)sdup(col + 1);
			at->s.len = strlen(col + 1);
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
		}
		n->attribute[n->n_attribute++] = at;
	}
	va_end(ap);
	if (b->g.n_node == b->cap_node) {
		b->cap_node *= 2;
		b->g.node = realloc(b->g.node, b->cap_node * sizeof *b->g.node);
		if (b->g.node == NULL)
			exit(1);
	}
	b->g.node[b->g.n_node++] = n;
	return n;
}

static void
mb_output(mb *b, const char *name)
{
	Onnx__ValueInfoProto *vi = zalloc(sizeof *vi);

	onnx__value_info_proto__init(vi);
	vi->name = sdup(name);
	b->g.output[b->g.n_output++] = vi;
}

static void
write_model(const Onnx__ModelProto *m, const char *fmt, ...)
{
	size_t n = onnx__model_proto__get_packed_size(m);
	uint8_t *buf = zalloc(n);
	char name[256], path[1024];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	onnx__model_proto__pack(m, buf);
	snprintf(path, sizeof path, "%s/%s", outdir, name);
	if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, n, f) != n ||
	    fclose(f) != 0) {
		fprintf(stderr, "mkonnx: cannot write %s\n", path);
		exit(1);
	}
	free(buf);
	written++;
}

/* ---- valid seeds ------------------------------------------------------- */

static const int64_t in4[4] = { 1, 8, 16, 16 };
static const int64_t tok3[3] = { 1, 10, 32 };

/* Conv, BN, Relu, pools, Flatten, Gemm. */
static mb *
seed_cnn(void)
{
	mb *b = mb_new(13);

	mb_input(b, "x", 4, in4);
	mb_w(b, "w1", 16, 8, 3, 3);
	mb_w(b, "g", 16, 0, 0, 0);
	mb_node(b, "Conv", "/c1/Conv", "x,w1", "c1", "strides=is:2,2",
	    "pads=is:1,1,1,1", "group=i:1", NULL);
	mb_node(b, "BatchNormalization", "/bn", "c1,g,g,g,g", "bn", NULL);
	mb_node(b, "Relu", "/r", "bn", "r", NULL);
	mb_node(b, "MaxPool", "/p", "r", "p", "kernel_shape=is:3,3",
	    "strides=is:2,2", "pads=is:1,1,1,1", NULL);
	mb_w(b, "w2", 16, 1, 3, 3);
	mb_node(b, "Conv", "/dw", "p,w2", "dw", "group=i:16",
	    "pads=is:1,1,1,1", NULL);
	mb_node(b, "GlobalAveragePool", "/gap", "dw", "gp", NULL);
	mb_node(b, "Flatten", "/f", "gp", "f", "axis=i:1", NULL);
	mb_w(b, "w3", 10, 16, 0, 0);
	mb_node(b, "Gemm", "/fc", "f,w3", "y", "transB=i:1", NULL);
	mb_output(b, "y");
	return b;
}

/* Attention: MatMul, Reshape, Transpose, Softmax, Split, layernorm. */
static mb *
seed_attn(void)
{
	static const int64_t qkv[4] = { 1, 10, 4, 8 };
	mb *b = mb_new(17);

	mb_input(b, "x", 3, tok3);
	mb_w(b, "wq", 32, 96, 0, 0);
	mb_w(b, "lnw", 32, 0, 0, 0);
	mb_ints(b, "shp", 4, qkv);
	mb_node(b, "LayerNormalization", "/ln", "x,lnw,lnw", "ln",
	    "axis=i:-1", NULL);
	mb_node(b, "MatMul", "/qkv", "ln,wq", "m", NULL);
	mb_node(b, "Split", "/split", "m", "q,k,v", "axis=i:-1",
	    "split=is:32,32,32", NULL);
	mb_node(b, "Reshape", "/rq", "q,shp", "q4", NULL);
	mb_node(b, "Reshape", "/rk", "k,shp", "k4", NULL);
	mb_node(b, "Reshape", "/rv", "v,shp", "v4", NULL);
	mb_node(b, "Transpose", "/tq", "q4", "qt", "perm=is:0,2,1,3", NULL);
	mb_node(b, "Transpose", "/tk", "k4", "kt", "perm=is:0,2,3,1", NULL);
	mb_node(b, "Transpose", "/tv", "v4", "vt", "perm=is:0,2,1,3", NULL);
	mb_node(b, "MatMul", "/qk", "qt,kt", "s", NULL);
	mb_node(b, "Softmax", "/sm", "s", "a", "axis=i:-1", NULL);
	mb_node(b, "MatMul", "/av", "a,vt", "o", NULL);
	mb_output(b, "o");
	return b;
}

/* Shape arithmetic: Shape, Gather, Slice, Concat, Unsqueeze, Squeeze,
 * Where, Range, ConstantOfShape, Expand, ReduceMean. */
static mb *
seed_shapes(void)
{
	static const int64_t zero[1] = { 0 }, one[1] = { 1 }, two[1] = { 2 };
	static const int64_t m1[1] = { -1 }, big[1] = { INT64_MAX };
	mb *b = mb_new(13);

	mb_input(b, "x", 4, in4);
	mb_ints(b, "zero", 1, zero);
	mb_ints(b, "one", 1, one);
	mb_ints(b, "two", 1, two);
	mb_ints(b, "m1", 1, m1);
	mb_ints(b, "big", 1, big);
	mb_node(b, "Shape", "/shape", "x", "sh", NULL);
	mb_node(b, "Gather", "/g", "sh,one", "c", "axis=i:0", NULL);
	mb_node(b, "Slice", "/sl", "sh,two,big,zero,one", "hw", NULL);
	mb_node(b, "Equal", "/eq", "c,one", "ceq", NULL);
	mb_node(b, "Where", "/wh", "ceq,one,c", "cw", NULL);
	mb_node(b, "Concat", "/cat", "one,cw,m1", "shp", "axis=i:0", NULL);
	mb_node(b, "Reshape", "/rs", "x,shp", "r", NULL);
	mb_node(b, "Unsqueeze", "/us", "r", "u", "axes=is:0", NULL);
	mb_node(b, "Squeeze", "/sq", "u", "s", "axes=is:0", NULL);
	mb_node(b, "Transpose", "/t", "s", "t", "perm=is:0,2,1", NULL);
	mb_node(b, "ReduceMean", "/mean", "x", "mn", "axes=is:2,3",
	    "keepdims=i:1", NULL);
	mb_node(b, "Mul", "/mul", "x,mn", "y", NULL);
	mb_node(b, "Slice", "/sl2", "y,zero,two,one,one", "y2", NULL);
	mb_node(b, "Relu", "/relu", "y2", "out", NULL);
	mb_output(b, "out");
	return b;
}

/* ---- one model per class of finding ------------------------------------ */

static void
findings(void)
{
	static const int64_t nine[9] = { 0, 1, 2, 3, 0, 1, 2, 3, 0 };
	static const int64_t z9[9] = { 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const int64_t b9[9] = { 9, 9, 9, 9, 9, 9, 9, 9, 9 };
	static const int64_t one[1] = { 1 }, zero[1] = { 0 };
	static const int64_t min1[1] = { INT64_MIN }, max1[1] = { INT64_MAX };
	char name[8192];
	mb *b;

	/* const_ints with more than 8 values: Slice, ReduceMean,
	 * Squeeze, Unsqueeze (a stack overflow before) */
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "s", 9, z9);
	mb_ints(b, "e", 9, b9);
	mb_node(b, "Slice", "/slice", "x,s,e", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "slice-9-values");
	b = mb_new(18);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "ax", 9, nine);
	mb_node(b, "ReduceMean", "/mean", "x,ax", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "reducemean-9-axes");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_node(b, "ReduceMean", "/mean", "x", "y",
	    "axes=is:0,1,2,3,0,1,2,3,0,1,2,3", NULL);
	mb_output(b, "y");
	write_model(&b->m, "reducemean-12-axes-attr");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "ax", 9, z9);
	mb_node(b, "Squeeze", "/sq", "x,ax", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "squeeze-9-axes");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "ax", 9, nine);
	mb_node(b, "Unsqueeze", "/us", "x,ax", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "unsqueeze-9-axes");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "shp", 9, b9);
	mb_node(b, "Reshape", "/rs", "x,shp", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "reshape-9-dims");

	/* Split into more than 64 outputs (sz[64] overflowed) */
	{
		char outs[2048];
		size_t k = 0;

		for (int i = 0; i < 100; i++)
			k += (size_t)snprintf(outs + k, sizeof outs - k,
			    "%so%d", i ? "," : "", i);
		b = mb_new(13);
		mb_input(b, "x", 3, (const int64_t[]){ 1, 10, 200 });
		mb_node(b, "Split", "/split", "x", outs, "axis=i:2", NULL);
		mb_output(b, "o0");
		write_model(&b->m, "split-100-outputs");
		b = mb_new(13);
		mb_input(b, "x", 3, (const int64_t[]){ 1, 10, 20 });
		mb_node(b, "Split", "/split", "x", outs, "axis=i:2", NULL);
		mb_output(b, "o0");
		write_model(&b->m, "split-100-outputs-axis-20");
	}
	/* Split sizes that do not add up to the axis, or are negative */
	b = mb_new(13);
	mb_input(b, "x", 3, tok3);
	mb_node(b, "Split", "/split", "x", "a,b", "axis=i:2",
	    "split=is:30,30", NULL);
	mb_node(b, "Relu", "/r", "a", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "split-sizes-60-of-32");
	b = mb_new(13);
	mb_input(b, "x", 3, tok3);
	mb_node(b, "Split", "/split", "x", "a,b", "axis=i:2",
	    "split=is:40,-8", NULL);
	mb_node(b, "Relu", "/r", "a", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "split-size-negative");
	b = mb_new(13);
	mb_input(b, "x", 3, (const int64_t[]){ 1, 10, 3 });
	mb_node(b, "Split", "/split", "x", "a,b,c,d,e", "axis=i:2", NULL);
	mb_node(b, "Relu", "/r", "a", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "split-5-of-3");

	/* divisions by zero: emit_fc with an empty weight, Where folding
	 * of a squeezed empty constant */
	b = mb_new(13);
	mb_input(b, "x", 4, (const int64_t[]){ 1, 8, 4, 4 });
	mb_dims(b, "w", 2, (const int64_t[]){ 0, 0 });
	mb_node(b, "MatMul", "/fc", "x,w", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "fc-weight-0x0");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_dims(b, "w", 2, (const int64_t[]){ 0, 5 });
	mb_node(b, "Split", "/split", "x", "a,bb", "axis=i:3",
	    "split=is:0,16", NULL);
	mb_node(b, "MatMul", "/fc", "a,w", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "fc-after-empty-split");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "empty", 0, zero);
	mb_ints(b, "ax", 1, zero);
	mb_ints(b, "one", 1, one);
	mb_node(b, "Squeeze", "/sq", "empty,ax", "e0", NULL);
	mb_node(b, "Where", "/where", "one,e0,one", "w", NULL);
	mb_node(b, "Reshape", "/rs", "x,w", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "where-empty-operand");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_dims(b, "c", 2, (const int64_t[]){ 2, 1 });
	mb_ints(b, "a", 2, (const int64_t[]){ 3, 4 });
	mb_node(b, "Where", "/where", "c,a,a", "w", NULL);
	mb_node(b, "Reshape", "/rs", "x,w", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "where-broadcast");

	/* signed overflows: numel, conv pads, group x channels, Reshape,
	 * Slice steps, MatMul heads */
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_dims(b, "huge", 8, (const int64_t[]){ INT32_MAX, INT32_MAX,
	    INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX, INT32_MAX,
	    INT32_MAX });
	mb_node(b, "Size", "/size", "huge", "n", NULL);
	mb_node(b, "Add", "/add", "x,huge", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "numel-overflow");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_w(b, "w", 8, 8, 3, 3);
	mb_node(b, "Conv", "/conv", "x,w", "y",
	    "pads=is:9223372036854775807,9223372036854775807,1,1", NULL);
	mb_output(b, "y");
	write_model(&b->m, "conv-pads-int64-max");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_w(b, "w", 8, 8, 3, 3);
	mb_node(b, "Conv", "/conv", "x,w", "y", "pads=is:-5,-5,-5,-5", NULL);
	mb_output(b, "y");
	write_model(&b->m, "conv-pads-negative");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_w(b, "w", 8, 4, 3, 3);
	mb_node(b, "Conv", "/conv", "x,w", "y",
	    "group=i:4611686018427387906", NULL);
	mb_output(b, "y");
	write_model(&b->m, "conv-group-overflow");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "shp", 4, (const int64_t[]){ 4294967296LL, 4294967296LL,
	    4294967296LL, 0 });
	mb_node(b, "Reshape", "/rs", "x,shp", "y", "allowzero=i:1", NULL);
	mb_output(b, "y");
	write_model(&b->m, "reshape-overflow");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "shp", 3, (const int64_t[]){ 3037000500LL,
	    3037000500LL, -1 });
	mb_node(b, "Reshape", "/rs", "x,shp", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "reshape-overflow-minus1");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "s", 1, max1);
	mb_ints(b, "e", 1, min1);
	mb_ints(b, "ax", 1, (const int64_t[]){ 2 });
	mb_ints(b, "st", 1, min1);
	mb_node(b, "Slice", "/slice", "x,s,e,ax,st", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "slice-step-int64-min");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_ints(b, "s", 1, zero);
	mb_ints(b, "e", 1, max1);
	mb_ints(b, "ax", 1, (const int64_t[]){ 3 });
	mb_ints(b, "st", 1, max1);
	mb_node(b, "Slice", "/slice", "x,s,e,ax,st", "y", NULL);
	mb_node(b, "Relu", "/r", "y", "z", NULL);
	mb_output(b, "z");
	write_model(&b->m, "slice-step-int64-max");
	b = mb_new(13);
	mb_input(b, "x", 3, (const int64_t[]){ 1, 4, 4 });
	mb_ints(b, "sa", 8, (const int64_t[]){ 1024, 1, 1024, 1, 1024, 1, 4,
	    4 });
	mb_ints(b, "sb", 8, (const int64_t[]){ 1, 1024, 1, 1024, 1, 1024, 4,
	    4 });
	mb_node(b, "Expand", "/ea", "x,sa", "a", NULL);
	mb_node(b, "Expand", "/eb", "x,sb", "bb", NULL);
	mb_node(b, "MatMul", "/mm", "a,bb", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "matmul-heads-overflow");

	/* O(n^3) numbering: 10,000 nodes of one name */
	b = mb_new(13);
	mb_input(b, "x", 3, tok3);
	for (int i = 0; i < 10000; i++) {
		char in[32], out[32];

		snprintf(in, sizeof in, i ? "t%d" : "x", i);
		snprintf(out, sizeof out, "t%d", i + 1);
		mb_node(b, "Relu", "/same/Relu", in, out, NULL);
	}
	mb_output(b, "t10000");
	write_model(&b->m, "same-name-10000-nodes");

	/* impossible values: duplicate perm, Squeeze of a non-unit axis,
	 * a 2^32-element input, 0 and negative dims */
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_node(b, "Transpose", "/t", "x", "t", "perm=is:0,1,1,3", NULL);
	mb_node(b, "Relu", "/r", "t", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "transpose-perm-twice");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_node(b, "Squeeze", "/sq", "x", "s", "axes=is:1", NULL);
	mb_node(b, "Relu", "/r", "s", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "squeeze-non-unit");
	b = mb_new(13);
	mb_input(b, "x", 4, (const int64_t[]){ 1, 4096, 1024, 1024 });
	mb_node(b, "Relu", "/r", "x", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "input-2pow32-elements");
	b = mb_new(13);
	mb_input(b, "x", 4, (const int64_t[]){ 1, 8, 0, 16 });
	mb_node(b, "Relu", "/r", "x", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "input-dim-0");
	b = mb_new(13);
	mb_input(b, "x", 4, (const int64_t[]){ 1, 8, -7, 16 });
	mb_node(b, "Relu", "/r", "x", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "input-dim-negative");
	b = mb_new(13);
	mb_input(b, "x", 4, (const int64_t[]){ 0, 8, 16, 16 });
	mb_node(b, "Relu", "/r", "x", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "input-batch-0");

	/* attributes of the wrong type (float strides meant stride 1) */
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_w(b, "w", 8, 8, 3, 3);
	mb_node(b, "Conv", "/conv", "x,w", "y", "strides=fs:2,2", NULL);
	mb_output(b, "y");
	write_model(&b->m, "attr-strides-floats");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_w(b, "w", 8, 1, 3, 3);
	mb_node(b, "Conv", "/conv", "x,w", "y", "group=f:8", NULL);
	mb_output(b, "y");
	write_model(&b->m, "attr-group-float");
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_node(b, "MaxPool", "/pool", "x", "y", "kernel_shape=s:3,3", NULL);
	mb_output(b, "y");
	write_model(&b->m, "attr-kernel-string");
	b = mb_new(13);
	mb_input(b, "x", 3, tok3);
	mb_node(b, "Softmax", "/sm", "x", "y", "axis=is:-1", NULL);
	mb_output(b, "y");
	write_model(&b->m, "attr-axis-ints");
	{
		Onnx__NodeProto *n;

		b = mb_new(13);
		mb_input(b, "x", 4, in4);
		mb_w(b, "w", 8, 8, 3, 3);
		n = mb_node(b, "Conv", "/conv", "x,w", "y", "group=i:1",
		    NULL);
		n->attribute[0]->has_i = 0;	/* INT with no value */
		mb_output(b, "y");
		write_model(&b->m, "attr-int-no-value");
	}

	/* names: a long one (was "empty name"), control characters */
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_w(b, "w", 8, 8, 3, 3);
	mb_node(b, "Conv", name, "x,w", "c", NULL);
	mb_node(b, "Relu", name, "c", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "name-8191-bytes");
	name[600] = '/';
	b = mb_new(13);
	mb_input(b, "x", 4, in4);
	mb_node(b, "LeakyRelu", name, "x", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "name-long-unsupported-op");
	b = mb_new(13);
	mb_input(b, "x\n\x1b[31m", 4, in4);
	mb_node(b, "Relu", "/r\n\r\x7f", "x\n\x1b[31m", "y", NULL);
	mb_node(b, "Transpose", "\x1b]0;t\a", "y", "z", "perm=is:0,0,0,0",
	    NULL);
	mb_output(b, "z");
	write_model(&b->m, "name-control-characters");
	/* a layer too large for the U55 (h4h sim names file and node) */
	b = mb_new(13);
	mb_input(b, "x", 4, (const int64_t[]){ 1, 70000, 2, 2 });
	mb_w(b, "w", 8, 70000, 1, 1);
	mb_node(b, "Conv", "/wide/Conv", "x,w", "y", NULL);
	mb_output(b, "y");
	write_model(&b->m, "u55-channels-70000");
}

/* ---- structure-aware mutants ------------------------------------------- */

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

static const int64_t interesting[] = { 0, 1, -1, 2, 3, 7, 8, 9, 64, 65,
	-2, 255, 65535, 65536, INT32_MAX, (int64_t)INT32_MAX + 1,
	4294967296LL, INT64_MAX, INT64_MIN, INT64_MIN + 1, -9 };

static int64_t
pick(void)
{
	return interesting[rnd(sizeof interesting / sizeof interesting[0])];
}

/* A dim of a graph input or an initializer. */
static void
mut_dims(Onnx__GraphProto *g)
{
	if (rnd(2) && g->n_input > 0) {
		Onnx__ValueInfoProto *vi = g->input[rnd((uint32_t)g->n_input)];

		if (vi->type && vi->type->tensor_type &&
		    vi->type->tensor_type->shape &&
		    vi->type->tensor_type->shape->n_dim > 0) {
			Onnx__TensorShapeProto *sh =
			    vi->type->tensor_type->shape;
			Onnx__TensorShapeProto__Dimension *d =
			    sh->dim[rnd((uint32_t)sh->n_dim)];

			d->value_case = rnd(8) ?
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
			    :
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			/* dim_value and dim_param share a union (oneof) */
			if (d->value_case ==
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
				d->dim_value = pick();
			else
				d->dim_param = sdup("s");
			if (rnd(6) == 0) {	/* rank 9 */
				Onnx__TensorShapeProto__Dimension **nd =
				    zalloc(9 * sizeof *nd);

				for (int i = 0; i < 9; i++)
					nd[i] = sh->dim[(size_t)i % sh->n_dim];
				sh->dim = nd;
				sh->n_dim = 9;
			}
		}
		return;
	}
	if (g->n_initializer > 0) {
		Onnx__TensorProto *t = g->initializer[rnd(
		    (uint32_t)g->n_initializer)];

		if (t->n_dims > 0 && rnd(3) == 0) {
			t->dims[rnd((uint32_t)t->n_dims)] = pick();
		} else if (t->n_int64_data > 0 && t->n_dims == 1 && rnd(2)) {
			/* a shape, axes or sizes constant 9 or 70 long */
			size_t len = rnd(2) ? 9 : 70;
			int64_t *v = zalloc(len * sizeof *v);

			for (size_t i = 0; i < len; i++)
				v[i] = t->int64_data[i % t->n_int64_data];
			t->int64_data = v;
			t->n_int64_data = len;
			t->dims[0] = (int64_t)len;
		} else if (t->n_int64_data > 0) {
			t->int64_data[rnd((uint32_t)t->n_int64_data)] = pick();
		}
	}
}

static Onnx__NodeProto *
any_node(Onnx__GraphProto *g)
{
	return g->n_node ? g->node[rnd((uint32_t)g->n_node)] : NULL;
}

/* An attribute's value, length or type. */
static void
mut_attr(Onnx__GraphProto *g)
{
	Onnx__NodeProto *n = any_node(g);
	Onnx__AttributeProto *a;

	if (n == NULL)
		return;
	if (n->n_attribute == 0 || rnd(5) == 0) {
		/* add one of the attributes h4h reads, of some type */
		static const char *const names[] = { "axis", "axes", "perm",
			"strides", "pads", "group", "split", "kernel_shape",
			"keepdims", "starts", "ends", "transB", "dilations" };
		Onnx__AttributeProto **na = zalloc((n->n_attribute + 1) *
		    sizeof *na);

		memcpy(na, n->attribute, n->n_attribute * sizeof *na);
		a = attr_new(names[rnd(sizeof names / sizeof names[0])]);
		if (rnd(2)) {
			a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
			a->has_i = 1;
			a->i = pick();
		} else {
			a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
			a->n_ints = 1 + rnd(4);
			a->ints = zalloc(a->n_ints * sizeof *a->ints);
			for (size_t i = 0; i < a->n_ints; i++)
				a->ints[i] = rnd(3) ? (int64_t)rnd(5) : pick();
		}
		na[n->n_attribute++] = a;
		n->attribute = na;
		return;
	}
	a = n->attribute[rnd((uint32_t)n->n_attribute)];
	switch (rnd(6)) {
	case 0:		/* a value */
		if (a->n_ints > 0)
			a->ints[rnd((uint32_t)a->n_ints)] = pick();
		else
			a->i = pick();
		break;
	case 1: {	/* many values: 9, 65, 300 */
		static const size_t lens[] = { 9, 65, 300 };
		size_t len = lens[rnd(3)];
		int64_t *v = zalloc(len * sizeof *v);

		for (size_t i = 0; i < len; i++)
			v[i] = a->n_ints ? a->ints[i % a->n_ints] : (int64_t)i;
		a->ints = v;
		a->n_ints = len;
		a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
		break;
	}
	case 2:		/* the same value twice (perm, axes) */
		if (a->n_ints >= 2)
			a->ints[1] = a->ints[0];
		break;
	case 3: {	/* another type */
		static const Onnx__AttributeProto__AttributeType types[] = {
			ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
			ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
			ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
			ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
			ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
			ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED,
		};

		a->type = types[rnd(6)];
		if (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) {
			a->has_f = 1;
			a->f = 2.0f;
		}
		break;
	}
	case 4:		/* empty */
		a->n_ints = 0;
		a->has_i = 0;
		break;
	default:	/* negative axes, perms */
		for (size_t i = 0; i < a->n_ints; i++)
			a->ints[i] = -a->ints[i] - (int64_t)rnd(2);
		break;
	}
}

/* The graph's shape: order, wiring, outputs, op types, names. */
static void
mut_graph(Onnx__GraphProto *g)
{
	static const char *const ops[] = { "Relu", "Conv", "MatMul", "Add",
		"Mul", "Reshape", "Transpose", "Split", "Concat", "Slice",
		"Squeeze", "Unsqueeze", "Where", "Gather", "Softmax",
		"GlobalAveragePool", "ReduceMean", "Flatten", "Expand",
		"Sigmoid", "Div", "Sub", "Pow", "Sqrt", "Erf", "Shape" };
	Onnx__NodeProto *n = any_node(g), *m = any_node(g);

	if (n == NULL)
		return;
	switch (rnd(9)) {
	case 0: {	/* swap two nodes */
		size_t i = rnd((uint32_t)g->n_node), j = rnd((uint32_t)g->n_node);
		Onnx__NodeProto *t = g->node[i];

		g->node[i] = g->node[j];
		g->node[j] = t;
		break;
	}
	case 1:		/* drop a node */
		if (g->n_node > 1) {
			size_t i = rnd((uint32_t)g->n_node);

			memmove(&g->node[i], &g->node[i + 1],
			    (g->n_node - i - 1) * sizeof *g->node);
			g->n_node--;
		}
		break;
	case 2:		/* rewire an input to another node's output */
		if (n->n_input > 0 && m->n_output > 0)
			n->input[rnd((uint32_t)n->n_input)] =
			    m->output[rnd((uint32_t)m->n_output)];
		break;
	case 3:		/* another op */
		n->op_type = sdup(ops[rnd(sizeof ops / sizeof ops[0])]);
		break;
	case 4:		/* every node the same name */
		for (size_t i = 0; i < g->n_node; i++)
			g->node[i]->name = n->name;
		break;
	case 5: {	/* a long name, or one with control characters */
		size_t len = rnd(2) ? 3000 : 6;
		char *s = zalloc(len + 1);

		for (size_t i = 0; i < len; i++)
			s[i] = rnd(3) ? (char)('a' + rnd(26)) : rnd(2) ? '/' :
			    (char)(1 + rnd(31));
		n->name = s;
		break;
	}
	case 6: {	/* more outputs */
		size_t k = rnd(2) ? 3 : 70;
		char **o = zalloc((n->n_output + k) * sizeof *o);

		memcpy(o, n->output, n->n_output * sizeof *o);
		for (size_t i = 0; i < k; i++) {
			char buf[32];

			snprintf(buf, sizeof buf, "extra%zu", i);
			o[n->n_output + i] = sdup(buf);
		}
		n->output = o;
		n->n_output += k;
		break;
	}
	case 7:		/* an output that is also an earlier tensor */
		if (m->n_output > 0 && n->n_output > 0)
			n->output[0] = m->output[0];
		break;
	default: {	/* a node repeated */
		Onnx__NodeProto **nn = zalloc((g->n_node + 1) * sizeof *nn);
		size_t i = rnd((uint32_t)g->n_node);

		memcpy(nn, g->node, (i + 1) * sizeof *nn);
		memcpy(nn + i + 1, g->node + i, (g->n_node - i) * sizeof *nn);
		g->node = nn;
		g->n_node++;
		break;
	}
	}
}

static void
mutants(const uint8_t *buf, size_t len, const char *stem, int count)
{
	for (int k = 0; k < count; k++) {
		Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
		int steps = 1 + (int)rnd(3);

		if (m == NULL || m->graph == NULL) {
			fprintf(stderr, "mkonnx: %s does not parse\n", stem);
			exit(1);
		}
		for (int s = 0; s < steps; s++) {
			switch (rnd(3)) {
			case 0: mut_dims(m->graph); break;
			case 1: mut_attr(m->graph); break;
			default: mut_graph(m->graph); break;
			}
		}
		write_model(m, "mut-%s-%03d", stem, k);
	}
}

static void
mutate_built(mb *b, const char *stem, int count)
{
	size_t n = onnx__model_proto__get_packed_size(&b->m);
	uint8_t *buf = zalloc(n);

	onnx__model_proto__pack(&b->m, buf);
	write_model(&b->m, "seed-%s", stem);
	mutants(buf, n, stem, count);
	free(buf);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mkonnx DIR [MODEL.onnx...]\n");
		return 2;
	}
	outdir = argv[1];
	findings();
	mutate_built(seed_cnn(), "cnn", 60);
	mutate_built(seed_attn(), "attn", 60);
	mutate_built(seed_shapes(), "shapes", 60);
	for (int i = 2; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf;
		long len;
		const char *base = strrchr(argv[i], '/');
		char stem[64];

		if (f == NULL || fseek(f, 0, SEEK_END) != 0 ||
		    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
			fprintf(stderr, "mkonnx: cannot read %s\n", argv[i]);
			return 1;
		}
		buf = zalloc((size_t)len);
		if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
			fprintf(stderr, "mkonnx: cannot read %s\n", argv[i]);
			return 1;
		}
		fclose(f);
		snprintf(stem, sizeof stem, "%s", base ? base + 1 : argv[i]);
		if (strchr(stem, '.'))
			*strchr(stem, '.') = '\0';
		mutants(buf, (size_t)len, stem, len < 20000 ? 30 : 8);
		free(buf);
	}
	printf("mkonnx: %d models in %s\n", written, outdir);
	return 0;
}
