/*
 * check_onnx.c - the ONNX front end (src/sim/front/onnx/).
 *
 * Core: the torchvision fixtures under nets/onnx/ (found through
 * $H4H_SRCDIR) give PyTorch's MAC counts, recorded by nets/onnx/export.py
 * in nets/onnx/pytorch_macs.tsv; mobilenet_v2.onnx costs what the
 * hand-written nets/mobilenet_v2.json costs; the ViT lowers to fc, matmul,
 * softmax and layernorm layers with the heads of its attention.
 * Lowering: small graphs built here with protobuf-c, one per rule (BN
 * folding, padding, Gelu's Erf pattern, LayerNormalization, squeeze-excite
 * broadcast, layout ops).  Errors: truncated, empty and non-ONNX files, an
 * unsupported op named with its node, a symbolic input, and the hostile
 * models of tests/fuzz/regress/onnx/ (issue 19), each with its message.
 */
#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "src/sim/front/onnx/gen/onnx.pb-c.h"	/* generated into the build tree */
#include "sim/front/onnx.h"
#include "cost/oracle.h"
#include "sim/spec/profile.h"
#include "sim/sim.h"
#include "sim/front/net_json.h"

static sim_net *
load_fixture(const char *name)
{
	char path[512], rel[128];
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc;

	snprintf(rel, sizeof rel, "nets/onnx/%s.onnx", name);
	tu_src_path(path, sizeof path, rel);
	rc = sim_onnx_load(path, &net, &err);
	ck_assert_msg(rc == 0, "%s: %s", name, err.msg);
	return net;
}

/* MACs of the layers PyTorch's hooks count: conv, dwconv, fc, matmul. */
static long long
weighted_macs(const sim_net *net)
{
	long long s = 0;

	for (int i = 0; i < net->n_layers; i++) {
		sim_op op = net->layers[i].op;

		if (op == SIM_OP_CONV || op == SIM_OP_DWCONV ||
		    op == SIM_OP_FC || op == SIM_OP_MATMUL)
			s += sim_layer_macs(&net->layers[i]);
	}
	return s;
}

static int
count_op(const sim_net *net, sim_op op)
{
	int n = 0;

	for (int i = 0; i < net->n_layers; i++)
		n += net->layers[i].op == op;
	return n;
}

/* PyTorch's total for `model` from pytorch_macs.tsv. */
static long long
pytorch_macs(const char *model)
{
	char path[512], line[512];
	long long total = -1;
	FILE *f;

	tu_src_path(path, sizeof path, "nets/onnx/pytorch_macs.tsv");
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while (fgets(line, sizeof line, f) != NULL) {
		char name[64];
		long long conv, lin, att, tot;

		if (line[0] == '#')
			continue;
		if (sscanf(line, "%63s %lld %lld %lld %lld", name, &conv, &lin,
		    &att, &tot) == 5 && strcmp(name, model) == 0)
			total = tot;
	}
	fclose(f);
	ck_assert_msg(total > 0, "%s not in pytorch_macs.tsv", model);
	return total;
}

static const char *const fixtures[] = {
	"mobilenet_v2", "resnet18", "mobilenet_v3_small", "efficientnet_b0",
	"vit_b_16",
};

START_TEST(test_fixture_macs)
{
	const char *name = fixtures[_i];
	sim_net *net = load_fixture(name);
	long long want = pytorch_macs(name), got = weighted_macs(net);

	ck_assert_msg(fabs((double)got - want) <= 0.01 * want,
	    "%s: h4h %lld MACs, PyTorch %lld", name, got, want);
	ck_assert_int_eq(net->in_h, 224);
	ck_assert_int_eq(net->in_c, 3);
	ck_assert_int_eq(net->layers[net->n_layers - 1].out_c, 1000);
	sim_net_destroy(net);
}
END_TEST

/* The activations fold into the layer before them. */
START_TEST(test_fixture_fusions)
{
	sim_net *r18 = load_fixture("resnet18");
	sim_net *mv2 = load_fixture("mobilenet_v2");
	sim_net *mv3 = load_fixture("mobilenet_v3_small");
	sim_net *eff = load_fixture("efficientnet_b0");
	int relu = 0, relu6 = 0, hswish = 0, silu = 0, sigmoid = 0;

	ck_assert_int_eq(count_op(r18, SIM_OP_ACT), 0);
	ck_assert_int_eq(r18->layers[0].act, SIM_ACT_RELU);
	ck_assert_int_eq(r18->layers[1].op, SIM_OP_MAXPOOL);
	ck_assert_int_eq(r18->layers[1].out_h, 56);
	for (int i = 0; i < r18->n_layers; i++)
		relu += r18->layers[i].act == SIM_ACT_RELU;
	ck_assert_int_eq(relu, 17);		/* the graph's 17 Relu */
	for (int i = 0; i < mv2->n_layers; i++)
		relu6 += mv2->layers[i].act == SIM_ACT_RELU6;
	ck_assert_int_eq(relu6, 35);		/* its 35 Clip(0, 6) */
	ck_assert_int_eq(count_op(mv2, SIM_OP_DWCONV), 17);
	for (int i = 0; i < mv3->n_layers; i++) {
		hswish += mv3->layers[i].act == SIM_ACT_HSWISH;
		sigmoid += mv3->layers[i].act == SIM_ACT_SIGMOID;
	}
	/* 28 HardSigmoid: 19 inside x * hsig(x) (HardSwish), 9 SE gates. */
	ck_assert_int_eq(hswish, 19);
	ck_assert_int_eq(sigmoid, 9);
	for (int i = 0; i < eff->n_layers; i++) {
		silu += eff->layers[i].act == SIM_ACT_SILU;
		sigmoid += eff->layers[i].act == SIM_ACT_SIGMOID;
	}
	/* 65 Sigmoid: 49 SiLU, 16 SE gates. */
	ck_assert_int_eq(silu, 49);
	ck_assert_int_eq(sigmoid - 9, 16);
	ck_assert_int_eq(count_op(eff, SIM_OP_ACT), 0);
	sim_net_destroy(r18);
	sim_net_destroy(mv2);
	sim_net_destroy(mv3);
	sim_net_destroy(eff);
}
END_TEST

static sim_result *
run_net(const char *system, const sim_net *net)
{
	char path[512];
	sim_profile p;
	sim_result *r = NULL;
	h4h_err err = { "" };
	int rc;

	tu_src_path(path, sizeof path, system);
	rc = sim_profile_load(path, &p, &err);
	ck_assert_msg(rc == 0, "%s", err.msg);
	rc = sim_run(&p, net, NULL, &r, &err);
	ck_assert_msg(rc == 0, "%s", err.msg);
	return r;
}

START_TEST(test_mobilenet_v2_cost)
{
	static const char *const systems[] = {
		"hwprofiles/system-npu-only.ini",
		"hwprofiles/system-npu-8cim.ini",
	};
	char path[512];
	sim_net *onnx = load_fixture("mobilenet_v2"), *json = NULL;
	h4h_err err = { "" };
	int rc;

	tu_src_path(path, sizeof path, "nets/mobilenet_v2.json");
	rc = sim_net_load(path, &json, &err);
	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_int_eq(onnx->n_layers, json->n_layers);
	for (int s = 0; s < 2; s++) {
		sim_result *a = run_net(systems[s], onnx);
		sim_result *b = run_net(systems[s], json);

		ck_assert_msg(fabs(a->latency_s - b->latency_s) <=
		    0.02 * b->latency_s, "%s: latency %g vs %g", systems[s],
		    a->latency_s, b->latency_s);
		ck_assert_msg(fabs(a->energy_j - b->energy_j) <=
		    0.02 * b->energy_j, "%s: energy %g vs %g", systems[s],
		    a->energy_j, b->energy_j);
		sim_result_destroy(a);
		sim_result_destroy(b);
	}
	sim_net_destroy(onnx);
	sim_net_destroy(json);
}
END_TEST

START_TEST(test_vit_lowering)
{
	sim_net *net = load_fixture("vit_b_16");
	int qk = 0, av = 0;

	ck_assert_int_eq(count_op(net, SIM_OP_CONV), 1);	/* patches */
	ck_assert_int_eq(count_op(net, SIM_OP_SOFTMAX), 12);
	ck_assert_int_eq(count_op(net, SIM_OP_MATMUL), 24);
	ck_assert_int_eq(count_op(net, SIM_OP_LAYERNORM), 25);
	/* Per block: qkv, out-projection, two MLP layers; then the head. */
	ck_assert_int_eq(count_op(net, SIM_OP_FC), 4 * 12 + 1);
	ck_assert_int_eq(count_op(net, SIM_OP_ACT), 0);
	for (int i = 0; i < net->n_layers; i++) {
		const sim_layer *l = &net->layers[i];

		if (l->op == SIM_OP_FC && l->act == SIM_ACT_GELU)
			ck_assert_int_eq(l->out_c, 3072);
		if (l->op == SIM_OP_SOFTMAX)
			ck_assert_int_eq(l->heads, 12);
		if (l->op != SIM_OP_MATMUL)
			continue;
		ck_assert_int_eq(l->heads, 12);
		ck_assert_int_eq(l->mm_m, 197);	/* 196 patches + class */
		if (l->n_inputs == 1) {		/* q.k^T */
			ck_assert_int_eq(l->mm_k, 64);
			ck_assert_int_eq(l->mm_n, 197);
			ck_assert_int_eq(net->layers[l->inputs[0]].out_c,
			    3 * 768);
			qk++;
		} else {			/* softmax.v */
			ck_assert_int_eq(l->mm_k, 197);
			ck_assert_int_eq(l->mm_n, 64);
			ck_assert_int_eq(net->layers[l->inputs[0]].op,
			    SIM_OP_SOFTMAX);
			ck_assert_int_eq(net->layers[l->inputs[1]].out_c,
			    3 * 768);
			av++;
		}
	}
	ck_assert_int_eq(qk, 12);
	ck_assert_int_eq(av, 12);
	/* The head reads the class token alone. */
	ck_assert_int_eq(net->layers[net->n_layers - 1].in_h, 1);
	ck_assert_int_eq(net->layers[net->n_layers - 1].in_c, 768);
	sim_net_destroy(net);
}
END_TEST

/* The oracle costs an imported network like any layer list, and a second
 * query of the same network is a memo hit. */
START_TEST(test_oracle)
{
	char path[512], db[64];
	sim_net *net = load_fixture("resnet18");
	sim_profile p;
	h4h_oracle *o;
	h4h_oracle_stats st;
	h4h_cost c1, c2;
	h4h_err err = { "" };
	int rc;

	tu_src_path(path, sizeof path, "hwprofiles/system-npu-8cim.ini");
	ck_assert_int_eq(sim_profile_load(path, &p, &err), 0);
	snprintf(db, sizeof db, "/tmp/check_onnx_%d.db", (int)getpid());
	remove(db);
	rc = h4h_oracle_open(db, &p, &o, &err);
	ck_assert_msg(rc == 0, "%s", err.msg);
	ck_assert_int_eq(h4h_oracle_cost_net(o, net, &c1, NULL, &err), 0);
	ck_assert_int_eq(h4h_oracle_cost_net(o, net, &c2, NULL, &err), 0);
	h4h_oracle_get_stats(o, &st);
	ck_assert_int_eq(st.memo_hits, 1);
	ck_assert(c1.latency_s > 0 && c1.latency_s == c2.latency_s);
	h4h_oracle_close(o);
	remove(db);
	sim_net_destroy(net);
}
END_TEST

/* ---- graphs built here --------------------------------------------------- */

/* A tiny builder: everything allocated goes into one arena freed at the
 * end (protobuf-c's structs are plain C). */
typedef struct mb {
	void *ptrs[4096];
	int n;
	Onnx__ModelProto m;
	Onnx__GraphProto g;
	Onnx__OperatorSetIdProto opset;
	Onnx__OperatorSetIdProto *opsets[1];
	Onnx__NodeProto *nodes[64];
	Onnx__ValueInfoProto *inputs[64];
	Onnx__ValueInfoProto *outputs[4];
	Onnx__TensorProto *inits[64];
} mb;

static void *
arena(mb *b, size_t n)
{
	void *p = calloc(1, n);

	ck_assert(b->n < 4096);
	b->ptrs[b->n++] = p;
	return p;
}

static char *
sdup(mb *b, const char *s)
{
	char *p = arena(b, strlen(s) + 1);

	memcpy(p, s, strlen(s) + 1);
	return p;
}

static void
mb_init(mb *b, int opset)
{
	memset(b, 0, sizeof *b);
	onnx__model_proto__init(&b->m);
	onnx__graph_proto__init(&b->g);
	onnx__operator_set_id_proto__init(&b->opset);
	b->opset.has_version = 1;
	b->opset.version = opset;
	b->opset.domain = sdup(b, "");
	b->opsets[0] = &b->opset;
	b->m.n_opset_import = 1;
	b->m.opset_import = b->opsets;
	b->m.has_ir_version = 1;
	b->m.ir_version = 8;
	b->m.graph = &b->g;
	b->g.name = sdup(b, "test");
	b->g.node = b->nodes;
	b->g.input = b->inputs;
	b->g.output = b->outputs;
	b->g.initializer = b->inits;
}

/* A graph input of fixed dims (a dim of -1 is symbolic). */
static void
mb_input(mb *b, const char *name, int rank, const int64_t *dims)
{
	Onnx__ValueInfoProto *vi = arena(b, sizeof *vi);
	Onnx__TypeProto *tp = arena(b, sizeof *tp);
	Onnx__TypeProto__Tensor *tt = arena(b, sizeof *tt);
	Onnx__TensorShapeProto *sh = arena(b, sizeof *sh);
	Onnx__TensorShapeProto__Dimension **dm = arena(b, (size_t)rank *
	    sizeof *dm);

	onnx__value_info_proto__init(vi);
	onnx__type_proto__init(tp);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sh);
	for (int i = 0; i < rank; i++) {
		dm[i] = arena(b, sizeof *dm[i]);
		onnx__tensor_shape_proto__dimension__init(dm[i]);
		if (dims[i] >= 0) {
			dm[i]->value_case =
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			dm[i]->dim_value = dims[i];
		} else {
			dm[i]->value_case =
			    ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			dm[i]->dim_param = sdup(b, "height");
		}
	}
	sh->n_dim = (size_t)rank;
	sh->dim = dm;
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	vi->name = sdup(b, name);
	vi->type = tp;
	b->inputs[b->g.n_input++] = vi;
}

/* An int64 initializer with values. */
static void
mb_ints(mb *b, const char *name, int n, const int64_t *v)
{
	Onnx__TensorProto *t = arena(b, sizeof *t);

	onnx__tensor_proto__init(t);
	t->name = sdup(b, name);
	t->n_dims = 1;
	t->dims = arena(b, sizeof *t->dims);
	t->dims[0] = n;
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	t->n_int64_data = (size_t)n;
	t->int64_data = arena(b, (size_t)n * sizeof *t->int64_data);
	memcpy(t->int64_data, v, (size_t)n * sizeof *v);
	b->inits[b->g.n_initializer++] = t;
}

/* A float scalar initializer. */
static void
mb_scalar(mb *b, const char *name, float v)
{
	Onnx__TensorProto *t = arena(b, sizeof *t);

	onnx__tensor_proto__init(t);
	t->name = sdup(b, name);
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	t->n_float_data = 1;
	t->float_data = arena(b, sizeof *t->float_data);
	t->float_data[0] = v;
	b->inits[b->g.n_initializer++] = t;
}

/* A node: "in1,in2" -> "out"; attrs as "name=i:3", "name=is:1,1,1,1",
 * "name=s:SAME_UPPER" or "name=f:0.5", NULL-terminated. */
static Onnx__NodeProto *
mb_node(mb *b, const char *op, const char *name, const char *ins,
    const char *outs, ...)
{
	Onnx__NodeProto *n = arena(b, sizeof *n);
	const char *a;
	va_list ap;
	char buf[256], *tok, *save;

	onnx__node_proto__init(n);
	n->op_type = sdup(b, op);
	n->name = sdup(b, name);
	n->input = arena(b, 8 * sizeof *n->input);
	n->output = arena(b, 4 * sizeof *n->output);
	snprintf(buf, sizeof buf, "%s", ins);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save))
		n->input[n->n_input++] = sdup(b, strcmp(tok, "-") ? tok : "");
	snprintf(buf, sizeof buf, "%s", outs);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save))
		n->output[n->n_output++] = sdup(b, tok);
	n->attribute = arena(b, 8 * sizeof *n->attribute);
	va_start(ap, outs);
	while ((a = va_arg(ap, const char *)) != NULL) {
		Onnx__AttributeProto *at = arena(b, sizeof *at);
		const char *eq = strchr(a, '='), *col = strchr(a, ':');

		onnx__attribute_proto__init(at);
		at->name = arena(b, (size_t)(eq - a) + 1);
		memcpy(at->name, a, (size_t)(eq - a));
		if (col[-1] == 'i' && col[-2] == '=') {
			at->has_i = 1;
			at->i = atoll(col + 1);
			at->has_type = 1;
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
		} else if (col[-1] == 'f') {
			at->has_f = 1;
			at->f = (float)atof(col + 1);
			at->has_type = 1;
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
		} else if (col[-1] == 's' && col[-2] == 'i') {
			char v[128], *t2, *s2;

			at->ints = arena(b, 8 * sizeof *at->ints);
			snprintf(v, sizeof v, "%s", col + 1);
			for (t2 = strtok_r(v, ",", &s2); t2; t2 = strtok_r(NULL,
			    ",", &s2))
				at->ints[at->n_ints++] = atoll(t2);
			at->has_type = 1;
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
		} else {
			at->has_s = 1;
			at->s.data = (uint8_t *)sdup(b, col + 1);
			at->s.len = strlen(col + 1);
			at->has_type = 1;
			at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
		}
		n->attribute[n->n_attribute++] = at;
	}
	va_end(ap);
	b->nodes[b->g.n_node++] = n;
	return n;
}

static void
mb_output(mb *b, const char *name)
{
	Onnx__ValueInfoProto *vi = arena(b, sizeof *vi);

	onnx__value_info_proto__init(vi);
	vi->name = sdup(b, name);
	b->outputs[b->g.n_output++] = vi;
}

/* Packs and lowers; frees the arena. */
static int
mb_lower(mb *b, sim_net **net, h4h_err *err)
{
	size_t n = onnx__model_proto__get_packed_size(&b->m);
	uint8_t *buf = malloc(n + 1);
	int rc;

	onnx__model_proto__pack(&b->m, buf);
	rc = sim_onnx_parse(buf, n, "t.onnx", net, err);
	free(buf);
	for (int i = 0; i < b->n; i++)
		free(b->ptrs[i]);
	return rc;
}

static const int64_t in_8x16x16[4] = { 1, 8, 16, 16 };

static void
weight(mb *b, const char *name, int64_t a, int64_t c, int64_t h, int64_t w)
{
	int64_t d[4] = { a, c, h, w };

	mb_input(b, name, w > 0 ? 4 : c > 0 ? 2 : 1, d);
}

START_TEST(test_conv_bn_relu_pool)
{
	mb b;
	sim_net *net = NULL;
	h4h_err err = { "" };

	mb_init(&b, 13);
	mb_input(&b, "x", 4, in_8x16x16);
	weight(&b, "w1", 16, 8, 3, 3);
	weight(&b, "g", 16, 0, 0, 0);
	mb_node(&b, "Conv", "/c1/Conv", "x,w1", "c1", "strides=is:2,2",
	    "pads=is:1,1,1,1", NULL);
	mb_node(&b, "BatchNormalization", "/bn/BN", "c1,g,g,g,g", "bn", NULL);
	mb_node(&b, "Relu", "/r/Relu", "bn", "r", NULL);
	/* VALID 3x3 pool at stride 2: 8 -> 3, not SAME's 4: a view. */
	mb_node(&b, "MaxPool", "/p/MaxPool", "r", "p", "kernel_shape=is:3,3",
	    "strides=is:2,2", NULL);
	weight(&b, "w2", 16, 1, 3, 3);
	mb_node(&b, "Conv", "/dw/Conv", "p,w2", "dw", "group=i:16",
	    "pads=is:1,1,1,1", NULL);
	mb_node(&b, "Flatten", "/f/Flatten", "dw", "f", NULL);
	weight(&b, "w3", 10, 144, 0, 0);
	mb_node(&b, "Gemm", "/fc/Gemm", "f,w3", "y", "transB=i:1", NULL);
	mb_output(&b, "y");
	ck_assert_msg(mb_lower(&b, &net, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(net->n_layers, 4);
	ck_assert_str_eq(net->layers[0].name, "c1/Conv");
	ck_assert_int_eq(net->layers[0].op, SIM_OP_CONV);
	ck_assert_int_eq(net->layers[0].act, SIM_ACT_RELU);
	ck_assert_int_eq(net->layers[0].out_h, 8);
	ck_assert_int_eq(net->layers[1].op, SIM_OP_MAXPOOL);
	ck_assert_int_eq(net->layers[1].out_h, 3);
	ck_assert_int_eq(net->layers[2].op, SIM_OP_DWCONV);
	ck_assert_int_eq(net->layers[2].out_h, 3);
	ck_assert_int_eq(net->layers[3].op, SIM_OP_FC);
	ck_assert_int_eq(net->layers[3].in_c, 144);	/* 16 x 3 x 3 */
	ck_assert_int_eq(net->layers[3].out_c, 10);
	ck_assert_int_eq(sim_layer_macs(&net->layers[3]), 1440);
	sim_net_destroy(net);
}
END_TEST

/* Gelu as Erf, LayerNormalization, and a squeeze-excite broadcast Mul. */
START_TEST(test_patterns)
{
	static const int64_t tok[3] = { 1, 10, 32 };
	mb b;
	sim_net *net = NULL;
	h4h_err err = { "" };

	mb_init(&b, 17);
	mb_input(&b, "x", 3, tok);
	weight(&b, "w", 32, 64, 0, 0);
	weight(&b, "bias", 64, 0, 0, 0);
	weight(&b, "w2", 64, 32, 0, 0);
	weight(&b, "lnw", 32, 0, 0, 0);
	mb_scalar(&b, "sqrt2", 1.4142135f);
	mb_scalar(&b, "one", 1.0f);
	mb_scalar(&b, "half", 0.5f);
	mb_node(&b, "LayerNormalization", "/ln/LN", "x,lnw,lnw", "ln",
	    "axis=i:-1", NULL);
	mb_node(&b, "MatMul", "/fc1/MatMul", "ln,w", "m", NULL);
	mb_node(&b, "Add", "/fc1/Add", "bias,m", "mb", NULL);
	mb_node(&b, "Div", "/g/Div", "mb,sqrt2", "d", NULL);
	mb_node(&b, "Erf", "/g/Erf", "d", "e", NULL);
	mb_node(&b, "Add", "/g/Add", "e,one", "e1", NULL);
	mb_node(&b, "Mul", "/g/Mul", "mb,e1", "gx", NULL);
	mb_node(&b, "Mul", "/g/Mul_1", "gx,half", "g", NULL);
	mb_node(&b, "MatMul", "/fc2/MatMul", "g,w2", "y", NULL);
	mb_node(&b, "Add", "/res/Add", "y,x", "out", NULL);
	mb_output(&b, "out");
	ck_assert_msg(mb_lower(&b, &net, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(net->n_layers, 4);
	ck_assert_int_eq(net->layers[0].op, SIM_OP_LAYERNORM);
	ck_assert_int_eq(net->layers[0].in_h, 10);
	ck_assert_int_eq(net->layers[1].op, SIM_OP_FC);
	ck_assert_int_eq(net->layers[1].act, SIM_ACT_GELU);
	ck_assert_int_eq(net->layers[2].op, SIM_OP_FC);
	ck_assert_int_eq(net->layers[3].op, SIM_OP_ADD);
	ck_assert_int_eq(net->layers[3].inputs[1], -1);
	sim_net_destroy(net);

	/* Squeeze-excite: x * sigmoid(conv(pool(x))) broadcasts [1,C,1,1]. */
	mb_init(&b, 13);
	mb_input(&b, "x", 4, in_8x16x16);
	weight(&b, "w", 8, 8, 1, 1);
	mb_node(&b, "GlobalAveragePool", "/se/pool", "x", "p", NULL);
	mb_node(&b, "Conv", "/se/fc", "p,w", "c", NULL);
	mb_node(&b, "Sigmoid", "/se/sig", "c", "s", NULL);
	mb_node(&b, "Mul", "/se/mul", "x,s", "y", NULL);
	mb_output(&b, "y");
	ck_assert_msg(mb_lower(&b, &net, &err) == 0, "%s", err.msg);
	/* 16x16 > 14: one 2x2 pool first. */
	ck_assert_int_eq(net->n_layers, 4);
	ck_assert_str_eq(net->layers[0].name, "se/pool~pre1");
	ck_assert_int_eq(net->layers[1].global, 1);
	ck_assert_int_eq(net->layers[1].in_h, 8);
	ck_assert_int_eq(net->layers[2].act, SIM_ACT_SIGMOID);
	ck_assert_int_eq(net->layers[3].op, SIM_OP_ADD);
	ck_assert_int_eq(net->layers[3].in_h, 16);
	ck_assert_int_eq(net->layers[3].inputs[0], -1);
	ck_assert_int_eq(net->layers[3].inputs[1], 2);
	sim_net_destroy(net);
}
END_TEST

/* Layout ops between layers cost nothing and keep the MACs. */
START_TEST(test_layout)
{
	static const int64_t shp[3] = { 1, 8, 64 };	/* [1, C, HW] */
	static const int64_t perm_in[4] = { 1, 8, 8, 8 };
	mb b;
	sim_net *net = NULL;
	h4h_err err = { "" };

	mb_init(&b, 13);
	mb_input(&b, "x", 4, perm_in);
	mb_ints(&b, "shape", 3, shp);
	weight(&b, "w", 8, 8, 1, 1);
	weight(&b, "w2", 8, 16, 0, 0);
	mb_node(&b, "Conv", "/c/Conv", "x,w", "c", NULL);
	mb_node(&b, "Reshape", "/r/Reshape", "c,shape", "r", NULL);
	mb_node(&b, "Transpose", "/t/Transpose", "r", "t", "perm=is:0,2,1",
	    NULL);
	mb_node(&b, "Identity", "/i", "t", "i", NULL);
	mb_node(&b, "MatMul", "/fc/MatMul", "i,w2", "y", NULL);
	mb_node(&b, "Softmax", "/sm", "y", "z", "axis=i:-1", NULL);
	mb_output(&b, "z");
	ck_assert_msg(mb_lower(&b, &net, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(net->n_layers, 3);
	ck_assert_int_eq(net->layers[1].op, SIM_OP_FC);
	ck_assert_int_eq(net->layers[1].in_h, 64);	/* tokens */
	ck_assert_int_eq(net->layers[1].in_c, 8);
	ck_assert_int_eq(net->layers[1].view, 1);
	ck_assert_int_eq(sim_layer_macs(&net->layers[1]), 64 * 8 * 16);
	ck_assert_int_eq(net->layers[2].op, SIM_OP_SOFTMAX);
	sim_net_destroy(net);
}
END_TEST

/* ---- errors --------------------------------------------------------------- */

static void
expect_error(int rc, const h4h_err *err, const char *words)
{
	ck_assert_int_eq(rc, H4H_EINPUT);
	ck_assert_msg(strstr(err->msg, words) != NULL, "'%s' lacks '%s'",
	    err->msg, words);
	ck_assert_msg(strchr(err->msg, '\n') == NULL, "two lines: %s",
	    err->msg);
}

START_TEST(test_errors_files)
{
	char path[512];
	char *buf;
	size_t len;
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc;

	tu_src_path(path, sizeof path, "nets/onnx/resnet18.onnx");
	ck_assert_int_eq(h4h_file_read(path, H4H_FILE_PATH_LAST, &buf, &len,
	    &err), 0);
	rc = sim_onnx_parse(buf, len / 2, "half.onnx", &net, &err);
	expect_error(rc, &err, "'half.onnx': not an ONNX model");
	ck_assert_ptr_null(net);
	rc = sim_onnx_parse(buf, 0, "empty.onnx", &net, &err);
	expect_error(rc, &err, "'empty.onnx': not an ONNX model");
	free(buf);
	rc = sim_onnx_parse("{\"name\": \"x\"}", 13, "n.json", &net, &err);
	expect_error(rc, &err, "'n.json': not an ONNX model");
	rc = sim_onnx_load("/nonexistent/m.onnx", &net, &err);
	expect_error(rc, &err, "/nonexistent/m.onnx");
}
END_TEST

START_TEST(test_errors_graphs)
{
	static const int64_t sym[4] = { 1, 8, -1, 16 };
	mb b;
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc;

	mb_init(&b, 13);
	mb_input(&b, "x", 4, in_8x16x16);
	mb_node(&b, "LeakyRelu", "/act/LeakyRelu", "x", "y", NULL);
	mb_output(&b, "y");
	rc = mb_lower(&b, &net, &err);
	expect_error(rc, &err, "'t.onnx' node '/act/LeakyRelu' (LeakyRelu): "
	    "unsupported op 'LeakyRelu' (use Relu)");

	mb_init(&b, 13);
	mb_input(&b, "x", 4, in_8x16x16);
	mb_node(&b, "Relu", "/r", "missing", "y", NULL);
	mb_output(&b, "y");
	expect_error(mb_lower(&b, &net, &err), &err, "reads 'missing'");

	mb_init(&b, 13);
	mb_input(&b, "x", 4, sym);
	mb_node(&b, "Relu", "/r", "x", "y", NULL);
	mb_output(&b, "y");
	expect_error(mb_lower(&b, &net, &err), &err, "dimension 2 is "
	    "symbolic ('height')");

	mb_init(&b, 13);
	mb_input(&b, "x", 4, in_8x16x16);
	weight(&b, "w", 8, 8, 3, 1);
	mb_node(&b, "Conv", "/c", "x,w", "y", NULL);
	mb_output(&b, "y");
	expect_error(mb_lower(&b, &net, &err), &err, "kernel 3x1 is not "
	    "square");

	mb_init(&b, 13);
	mb_input(&b, "x", 4, in_8x16x16);
	mb_scalar(&b, "lo", -1.0f);
	mb_scalar(&b, "hi", 1.0f);
	mb_node(&b, "Clip", "/clip", "x,lo,hi", "y", NULL);
	mb_output(&b, "y");
	expect_error(mb_lower(&b, &net, &err), &err, "Clip to [-1, 1]");

	mb_init(&b, 13);
	mb_input(&b, "x", 4, in_8x16x16);
	mb_node(&b, "BatchNormalization", "/bn", "x,x,x,x,x", "y", NULL);
	mb_output(&b, "y");
	expect_error(mb_lower(&b, &net, &err), &err, "cannot be folded");
}
END_TEST

/* The models of tests/fuzz/regress/onnx/ that tests/fuzz/mkonnx.c writes,
 * one per class of hostile input of issue 19: each is refused with one
 * line that names the file, the node or tensor and the value (the fuzz
 * replay checks that none crashes; this checks what they say). */
static const struct {
	const char *file, *words;
} hostile[] = {
	{ "slice-9-values", "node '/slice' (Slice): 'starts' has 9 values "
	    "(at most 8)" },
	{ "reducemean-9-axes", "node '/mean' (ReduceMean): 'axes' has 9 "
	    "values (at most 8)" },
	{ "reducemean-12-axes-attr", "'axes' has 12 values (at most 8)" },
	{ "squeeze-9-axes", "node '/sq' (Squeeze): 'axes' has 9 values" },
	{ "unsqueeze-9-axes", "node '/us' (Unsqueeze): 'axes' has 9 values" },
	{ "reshape-9-dims", "node '/rs' (Reshape): the shape has 9 values" },
	{ "split-100-outputs", "node '/split' (Split): 100 outputs (at most "
	    "64)" },
	{ "split-sizes-60-of-32", "sizes that add up to 60 for an axis of "
	    "32" },
	{ "split-size-negative", "size 40 for an axis of 32" },
	{ "split-5-of-3", "5 outputs for an axis of 3" },
	{ "fc-weight-0x0", "node '/fc' (MatMul): the weight is 0x0" },
	{ "where-empty-operand", "node '/sq' (Squeeze): axis 0 has size 0" },
	{ "numel-overflow", "tensor 'huge' has more than 2147483647 "
	    "elements" },
	{ "conv-pads-int64-max", "node '/conv' (Conv): pad "
	    "9223372036854775807 is outside 0..2" },
	{ "conv-pads-negative", "pad -5 is outside 0..2" },
	{ "conv-group-overflow", "group 4611686018427387906 and weight" },
	{ "reshape-overflow", "node '/rs' (Reshape): dimension 4294967296 in "
	    "the shape" },
	{ "reshape-overflow-minus1", "dimension 3037000500 in the shape" },
	{ "matmul-heads-overflow", "tensor 'a' has more than 2147483647 "
	    "elements" },
	{ "transpose-perm-twice", "node '/t' (Transpose): 'perm' names axis "
	    "1 twice" },
	{ "squeeze-non-unit", "node '/sq' (Squeeze): axis 1 has size 8" },
	{ "input-2pow32-elements", "tensor 'x' has more than 2147483647 "
	    "elements" },
	{ "input-dim-0", "graph input 'x' dimension 2 is 0 (a size must be "
	    "at least 1)" },
	{ "input-dim-negative", "graph input 'x' dimension 2 is -7" },
	{ "input-batch-0", "graph input 'x' dimension 0 is 0" },
	{ "attr-strides-floats", "node '/conv' (Conv): attribute 'strides' "
	    "is FLOATS (expected INTS)" },
	{ "attr-group-float", "attribute 'group' is FLOAT (expected INT)" },
	{ "attr-kernel-string", "attribute 'kernel_shape' is STRING "
	    "(expected INTS)" },
	{ "attr-axis-ints", "attribute 'axis' is INTS (expected INT)" },
	{ "attr-int-no-value", "attribute 'group' is INT but has no value" },
	{ "name-long-unsupported-op", "node 'nnnnnnnnnn" },
	{ "name-control-characters", "node '\\x1b]0;t\\x07' (Transpose): "
	    "'perm' names axis 0 twice" },
};

START_TEST(test_hostile)
{
	char rel[256], path[512];
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc;

	snprintf(rel, sizeof rel, "tests/fuzz/regress/onnx/%s",
	    hostile[_i].file);
	tu_src_path(path, sizeof path, rel);
	rc = sim_onnx_load(path, &net, &err);
	expect_error(rc, &err, hostile[_i].words);
	ck_assert_msg(strncmp(err.msg, "'", 1) == 0 && strstr(err.msg,
	    hostile[_i].file) != NULL, "no file in '%s'", err.msg);
	ck_assert_ptr_null(net);
}
END_TEST

/* What lowered badly before: 10,000 nodes of one name get ~2..~10000 (in
 * linear time: the replay would time out otherwise), and a name of 8,191
 * bytes keeps its tail instead of becoming "empty name". */
START_TEST(test_hostile_names)
{
	char path[512];
	sim_net *net = NULL;
	h4h_err err = { "" };

	tu_src_path(path, sizeof path,
	    "tests/fuzz/regress/onnx/same-name-10000-nodes");
	ck_assert_msg(sim_onnx_load(path, &net, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(net->n_layers, 10000);
	ck_assert_str_eq(net->layers[0].name, "same/Relu");
	ck_assert_str_eq(net->layers[1].name, "same/Relu~2");
	ck_assert_str_eq(net->layers[9999].name, "same/Relu~10000");
	sim_net_destroy(net);
	tu_src_path(path, sizeof path,
	    "tests/fuzz/regress/onnx/name-8191-bytes");
	ck_assert_msg(sim_onnx_load(path, &net, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(net->n_layers, 1);
	ck_assert_int_eq((int)strlen(net->layers[0].name), SIM_NAME_MAX - 5);
	ck_assert_int_eq(net->layers[0].name[0], 'n');
	sim_net_destroy(net);
}
END_TEST

static Suite *
onnx_suite(void)
{
	Suite *s = suite_create("onnx");
	TCase *tc = tcase_create("Core");
	TCase *tl = tcase_create("Lowering");
	TCase *te = tcase_create("Errors");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_fixture_macs, 0,
	    (int)(sizeof fixtures / sizeof fixtures[0]));
	tcase_add_test(tc, test_fixture_fusions);
	tcase_add_test(tc, test_mobilenet_v2_cost);
	tcase_add_test(tc, test_vit_lowering);
	tcase_add_test(tc, test_oracle);
	suite_add_tcase(s, tc);
	tcase_add_test(tl, test_conv_bn_relu_pool);
	tcase_add_test(tl, test_patterns);
	tcase_add_test(tl, test_layout);
	suite_add_tcase(s, tl);
	tcase_add_test(te, test_errors_files);
	tcase_add_test(te, test_errors_graphs);
	tcase_add_loop_test(te, test_hostile, 0,
	    (int)(sizeof hostile / sizeof hostile[0]));
	tcase_add_test(te, test_hostile_names);
	suite_add_tcase(s, te);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(onnx_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
