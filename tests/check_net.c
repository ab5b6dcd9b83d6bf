/*
 * check_net.c - the JSON layer list (front/net_json.c over spec/net.c) and
 * the H4H architecture lowering (front/arch.c): hand-computed shapes, MACs
 * and weight bytes, the shipped nets under nets/ (found through
 * $H4H_SRCDIR, default "."), and one case per documented error, each
 * checking the code and the words of the message.
 */
#include "check_util.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/front/arch.h"
#include "sim/spec/net.h"
#include "sim/front/net_json.h"

static long long
net_macs(const sim_net *net)
{
	long long s = 0;

	for (int i = 0; i < net->n_layers; i++)
		s += sim_layer_macs(&net->layers[i]);
	return s;
}

static long long
net_weight_bytes(const sim_net *net)
{
	long long s = 0;

	for (int i = 0; i < net->n_layers; i++)
		s += sim_layer_weight_bytes(&net->layers[i]);
	return s;
}

static const sim_layer *
find(const sim_net *net, const char *name)
{
	for (int i = 0; i < net->n_layers; i++)
		if (strcmp(net->layers[i].name, name) == 0)
			return &net->layers[i];
	ck_abort_msg("no layer '%s' in '%s'", name, net->name);
	return NULL;
}

#define CK_SHAPE(l, h, w, c, oh, ow, oc) do {				\
	ck_assert_int_eq((l)->in_h, (h));				\
	ck_assert_int_eq((l)->in_w, (w));				\
	ck_assert_int_eq((l)->in_c, (c));				\
	ck_assert_int_eq((l)->out_h, (oh));				\
	ck_assert_int_eq((l)->out_w, (ow));				\
	ck_assert_int_eq((l)->out_c, (oc));				\
} while (0)

static sim_net *
parse_ok(const char *json)
{
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc = sim_net_parse(json, "t.json", &net, &err);

	ck_assert_msg(rc == 0, "parse failed: %s", err.msg);
	ck_assert_ptr_nonnull(net);
	return net;
}

static sim_net *
arch_ok(const char *json)
{
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc = sim_arch_parse(json, "a.json", &net, &err);

	ck_assert_msg(rc == 0, "lowering failed: %s", err.msg);
	ck_assert_ptr_nonnull(net);
	return net;
}

/* ---- Core ---------------------------------------------------------------- */

START_TEST(test_cnn_shapes_macs)
{
	/* 7x7 with stride 2 under SAME padding gives ceil(7/2) = 4. */
	sim_net *net = parse_ok("{\"name\": \"tiny\", \"input\": [7, 7, 4], "
	    "\"layers\": ["
	    "{\"name\": \"c1\", \"op\": \"conv\", \"kernel\": 3, \"stride\": 2,"
	    " \"out\": 8, \"act\": \"relu\"},"
	    "{\"name\": \"dw\", \"op\": \"dwconv\", \"kernel\": 3},"
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 8,"
	    " \"groups\": 2},"
	    "{\"name\": \"sum\", \"op\": \"add\", \"inputs\": [\"c1\", \"pw\"],"
	    " \"act\": \"relu6\"},"
	    "{\"name\": \"mp\", \"op\": \"maxpool\", \"kernel\": 2, \"stride\": 2},"
	    "{\"name\": \"gp\", \"op\": \"avgpool\", \"global\": true},"
	    "{\"name\": \"f\", \"op\": \"fc\", \"out\": 10},"
	    "{\"name\": \"r\", \"op\": \"hswish\"},"
	    "{\"name\": \"r2\", \"op\": \"act\", \"act\": \"gelu\"}]}");
	const sim_layer *l = net->layers;

	ck_assert_str_eq(net->name, "tiny");
	ck_assert_int_eq(net->n_layers, 9);
	ck_assert_int_eq(net->in_h, 7);
	CK_SHAPE(&l[0], 7, 7, 4, 4, 4, 8);
	ck_assert_int_eq(l[0].kh, 3);
	ck_assert_int_eq(l[0].kw, 3);
	ck_assert_int_eq(l[0].stride, 2);
	ck_assert_int_eq(l[0].groups, 1);
	ck_assert_int_eq(l[0].act, SIM_ACT_RELU);
	ck_assert_int_eq(l[0].n_inputs, 1);
	ck_assert_int_eq(l[0].inputs[0], -1);
	ck_assert_int_eq(sim_layer_macs(&l[0]), 9 * 4 * 16 * 8);
	ck_assert_int_eq(sim_layer_weight_bytes(&l[0]), 9 * 4 * 8);

	CK_SHAPE(&l[1], 4, 4, 8, 4, 4, 8);
	ck_assert_int_eq(l[1].op, SIM_OP_DWCONV);
	ck_assert_int_eq(l[1].groups, 8);
	ck_assert_int_eq(l[1].stride, 1);
	ck_assert_int_eq(l[1].inputs[0], 0);
	ck_assert_int_eq(sim_layer_macs(&l[1]), 9 * 16 * 8);
	ck_assert_int_eq(sim_layer_weight_bytes(&l[1]), 9 * 8);

	/* Grouped pointwise: each output sees in_c / groups = 4 inputs. */
	CK_SHAPE(&l[2], 4, 4, 8, 4, 4, 8);
	ck_assert_int_eq(sim_layer_macs(&l[2]), 4 * 16 * 8);
	ck_assert_int_eq(sim_layer_weight_bytes(&l[2]), 4 * 8);

	ck_assert_int_eq(l[3].op, SIM_OP_ADD);
	ck_assert_int_eq(l[3].act, SIM_ACT_RELU6);
	ck_assert_int_eq(l[3].n_inputs, 2);
	ck_assert_int_eq(l[3].inputs[0], 0);
	ck_assert_int_eq(l[3].inputs[1], 2);
	ck_assert_int_eq(sim_layer_macs(&l[3]), 0);

	CK_SHAPE(&l[4], 4, 4, 8, 2, 2, 8);
	ck_assert_int_eq(sim_layer_macs(&l[4]), 4 * 4 * 8);
	CK_SHAPE(&l[5], 2, 2, 8, 1, 1, 8);
	ck_assert_int_eq(l[5].global, 1);
	ck_assert_int_eq(sim_layer_macs(&l[5]), 2 * 2 * 8);
	CK_SHAPE(&l[6], 1, 1, 8, 1, 1, 10);
	ck_assert_int_eq(l[6].kh, 1);
	ck_assert_int_eq(sim_layer_macs(&l[6]), 80);
	ck_assert_int_eq(sim_layer_weight_bytes(&l[6]), 80);
	ck_assert_int_eq(l[7].op, SIM_OP_ACT);
	ck_assert_int_eq(l[7].act, SIM_ACT_HSWISH);
	ck_assert_int_eq(l[8].op, SIM_OP_ACT);
	ck_assert_int_eq(l[8].act, SIM_ACT_GELU);
	CK_SHAPE(&l[8], 1, 1, 10, 1, 1, 10);
	for (int i = 0; i < net->n_layers; i++) {
		ck_assert_int_eq(l[i].heads, 1);
		ck_assert_int_eq(l[i].mm_m, 0);
	}
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_attention_shapes_macs)
{
	/* 4x4 tokens of 16 channels, 2 heads of 8. */
	sim_net *net = parse_ok("{\"input\": [4, 4, 16], \"layers\": ["
	    "{\"name\": \"qkv\", \"op\": \"fc\", \"out\": 48},"
	    "{\"name\": \"qk\", \"op\": \"matmul\", \"heads\": 2, \"m\": 16,"
	    " \"k\": 8, \"n\": 16},"
	    "{\"name\": \"sm\", \"op\": \"softmax\"},"
	    "{\"name\": \"av\", \"op\": \"matmul\", \"heads\": 2, \"m\": 16,"
	    " \"k\": 16, \"n\": 8, \"inputs\": [\"sm\", \"qkv\"]},"
	    "{\"name\": \"proj\", \"op\": \"fc\", \"out\": 16},"
	    "{\"name\": \"res\", \"op\": \"add\", \"inputs\": [\"input\","
	    " \"proj\"]},"
	    "{\"name\": \"ln\", \"op\": \"layernorm\"}]}");
	const sim_layer *l = net->layers;

	ck_assert_str_eq(net->name, "t");	/* the label's stem */
	CK_SHAPE(&l[0], 4, 4, 16, 4, 4, 48);
	ck_assert_int_eq(sim_layer_macs(&l[0]), 16 * 16 * 48);
	CK_SHAPE(&l[1], 4, 4, 48, 4, 4, 32);
	ck_assert_int_eq(l[1].heads, 2);
	ck_assert_int_eq(l[1].mm_m, 16);
	ck_assert_int_eq(l[1].mm_k, 8);
	ck_assert_int_eq(l[1].mm_n, 16);
	ck_assert_int_eq(sim_layer_macs(&l[1]), 2 * 16 * 8 * 16);
	ck_assert_int_eq(sim_layer_weight_bytes(&l[1]), 0);
	CK_SHAPE(&l[2], 4, 4, 32, 4, 4, 32);
	CK_SHAPE(&l[3], 4, 4, 32, 4, 4, 16);
	ck_assert_int_eq(l[3].n_inputs, 2);
	ck_assert_int_eq(l[3].inputs[0], 2);
	ck_assert_int_eq(l[3].inputs[1], 0);
	ck_assert_int_eq(sim_layer_macs(&l[3]), 2 * 16 * 16 * 8);
	CK_SHAPE(&l[5], 4, 4, 16, 4, 4, 16);
	ck_assert_int_eq(l[5].inputs[0], -1);
	ck_assert_int_eq(l[5].inputs[1], 4);
	ck_assert_int_eq(sim_layer_macs(&l[6]), 0);
	sim_net_destroy(net);

	/* A [rows, 1, C] token tensor through fc. */
	net = parse_ok("{\"input\": [10, 1, 32], \"layers\": ["
	    "{\"name\": \"f\", \"op\": \"fc\", \"out\": 5, \"act\": \"gelu\"}]}");
	CK_SHAPE(&net->layers[0], 10, 1, 32, 10, 1, 5);
	ck_assert_int_eq(sim_layer_macs(&net->layers[0]), 10 * 32 * 5);
	ck_assert_int_eq(sim_layer_weight_bytes(&net->layers[0]), 32 * 5);
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_cim_capable)
{
	sim_net *net = parse_ok("{\"input\": [8, 8, 8], \"layers\": ["
	    "{\"name\": \"k3\", \"op\": \"conv\", \"kernel\": 3, \"out\": 8},"
	    "{\"name\": \"pw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 8},"
	    "{\"name\": \"gpw\", \"op\": \"conv\", \"kernel\": 1, \"out\": 8,"
	    " \"groups\": 2},"
	    "{\"name\": \"dw5\", \"op\": \"dwconv\", \"kernel\": 5},"
	    "{\"name\": \"f\", \"op\": \"fc\", \"out\": 8},"
	    "{\"name\": \"mm\", \"op\": \"matmul\", \"m\": 64, \"k\": 8,"
	    " \"n\": 64},"
	    "{\"name\": \"p\", \"op\": \"avgpool\", \"kernel\": 3}]}");
	const int want[] = { 0, 1, 0, 1, 1, 0, 0 };

	ck_assert_int_eq(net->n_layers, 7);
	for (int i = 0; i < net->n_layers; i++)
		ck_assert_msg(sim_layer_cim_capable(&net->layers[i]) == want[i],
		    "layer '%s'", net->layers[i].name);
	ck_assert_int_eq(sim_layer_weight_bytes(&net->layers[3]), 25 * 8);
	ck_assert_int_eq(sim_layer_macs(&net->layers[3]), 25 * 64 * 8);
	ck_assert_int_eq(sim_layer_cim_capable(NULL), 0);
	ck_assert_int_eq(sim_layer_macs(NULL), 0);
	sim_net_destroy(net);
	sim_net_destroy(NULL);
}
END_TEST

START_TEST(test_names)
{
	for (int i = 0; i < SIM_OP_COUNT; i++)
		ck_assert_int_eq(sim_op_from_name(sim_op_name((sim_op)i)), i);
	for (int i = 0; i < SIM_ACT_COUNT; i++)
		ck_assert_int_eq(sim_act_from_name(sim_act_name((sim_act)i)), i);
	ck_assert_str_eq(sim_op_name(SIM_OP_DWCONV), "dwconv");
	ck_assert_str_eq(sim_act_name(SIM_ACT_HSWISH), "hswish");
	ck_assert_int_eq(sim_op_from_name("relu"), -1);
	ck_assert_int_eq(sim_act_from_name("swish"), -1);
}
END_TEST

/* A global pool over a map beyond 14x14 is lowered as the ONNX importer
 * lowers one (gpool.h): strided pools first, named POOL~pre1, ...; layers
 * that name the pool still read the pool. */
START_TEST(test_global_pool_large)
{
	sim_net *net = parse_ok("{\"input\": [224, 224, 8], \"layers\": ["
	    "{\"name\": \"gap\", \"op\": \"avgpool\", \"global\": true},"
	    "{\"name\": \"fc\", \"op\": \"fc\", \"out\": 10},"
	    "{\"name\": \"skip\", \"op\": \"fc\", \"out\": 10, "
	    "\"inputs\": [\"gap\"]},"
	    "{\"name\": \"sum\", \"op\": \"add\", \"inputs\": [\"fc\", "
	    "\"skip\"]}]}");

	/* 224 -> 28 (kernel 8) -> 14 (kernel 2) -> 1 */
	ck_assert_int_eq(net->n_layers, 6);
	ck_assert_str_eq(net->layers[0].name, "gap~pre1");
	ck_assert_int_eq(net->layers[0].kh, 8);
	ck_assert_int_eq(net->layers[0].out_h, 28);
	ck_assert_str_eq(net->layers[1].name, "gap~pre2");
	ck_assert_int_eq(net->layers[1].stride, 2);
	ck_assert_int_eq(net->layers[1].out_h, 14);
	ck_assert_str_eq(net->layers[2].name, "gap");
	ck_assert_int_eq(net->layers[2].global, 1);
	ck_assert_int_eq(net->layers[2].in_h, 14);
	ck_assert_int_eq(net->layers[2].out_c, 8);
	ck_assert_int_eq(net->layers[3].inputs[0], 2);	/* fc reads gap */
	ck_assert_int_eq(net->layers[4].inputs[0], 2);	/* skip too */
	ck_assert_int_eq(net->layers[5].inputs[0], 3);
	ck_assert_int_eq(net->layers[5].inputs[1], 4);
	sim_net_destroy(net);
	/* 14x14 and below: one global pool, as before */
	net = parse_ok("{\"input\": [14, 14, 8], \"layers\": ["
	    "{\"name\": \"gap\", \"op\": \"maxpool\", \"global\": true}]}");
	ck_assert_int_eq(net->n_layers, 1);
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_mobilenet_v2)
{
	char path[1024];
	sim_net *net = NULL;
	h4h_err err = { "" };
	long long macs, wb;
	const sim_layer *last;

	tu_src_path(path, sizeof path, "nets/mobilenet_v2.json");
	ck_assert_msg(sim_net_load(path, &net, &err) == 0, "%s", err.msg);
	macs = net_macs(net);
	wb = net_weight_bytes(net);
	printf("mobilenet_v2: %d layers, %.2fM MACs, %.3fM weight bytes\n",
	    net->n_layers, macs / 1e6, wb / 1e6);
	/* Sandler et al. 2018: 300M multiply-adds, 3.4M parameters. */
	ck_assert_msg(macs > 294000000LL && macs < 306000000LL, "%lld", macs);
	ck_assert_msg(wb > 3332000LL && wb < 3468000LL * 102 / 100, "%lld", wb);
	/* stem + 17 blocks (the first without expand) + 10 adds + head */
	ck_assert_int_eq(net->n_layers, 1 + 2 + 16 * 3 + 10 + 3);
	last = &net->layers[net->n_layers - 1];
	CK_SHAPE(last, 1, 1, 1280, 1, 1, 1000);
	CK_SHAPE(find(net, "conv_last"), 7, 7, 320, 7, 7, 1280);
	CK_SHAPE(find(net, "b17.dw"), 7, 7, 960, 7, 7, 960);
	ck_assert_int_eq(find(net, "b2.dw")->stride, 2);
	ck_assert_int_eq(find(net, "b1.dw")->act, SIM_ACT_RELU6);
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_hybrid_example)
{
	char path[1024];
	sim_net *net = NULL;
	h4h_err err = { "" };
	int mm = 0;

	tu_src_path(path, sizeof path, "nets/hybrid_example.json");
	ck_assert_msg(sim_net_load(path, &net, &err) == 0, "%s", err.msg);
	printf("hybrid_example: %d layers, %.2fM MACs, %.3fM weight bytes\n",
	    net->n_layers, net_macs(net) / 1e6, net_weight_bytes(net) / 1e6);
	ck_assert_int_eq(net->n_layers, 36);
	for (int i = 0; i < net->n_layers; i++)
		mm += net->layers[i].op == SIM_OP_MATMUL;
	ck_assert_int_eq(mm, 2);
	CK_SHAPE(find(net, "vit.add2"), 14, 14, 48, 14, 14, 48);
	CK_SHAPE(&net->layers[net->n_layers - 1], 1, 1, 1024, 1, 1, 1000);
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_h4h_max_min)
{
	char path[1024];
	sim_net *max = NULL, *min = NULL;
	h4h_err err = { "" };
	int mm = 0;
	const sim_layer *l;

	tu_src_path(path, sizeof path, "nets/h4h-max.json");
	ck_assert_msg(sim_arch_load(path, &max, &err) == 0, "%s", err.msg);
	tu_src_path(path, sizeof path, "nets/h4h-min.json");
	ck_assert_msg(sim_arch_load(path, &min, &err) == 0, "%s", err.msg);
	printf("h4h-max: %d layers, %.2fM MACs, %.3fM weight bytes\n",
	    max->n_layers, net_macs(max) / 1e6, net_weight_bytes(max) / 1e6);
	printf("h4h-min: %d layers, %.2fM MACs, %.3fM weight bytes\n",
	    min->n_layers, net_macs(min) / 1e6, net_weight_bytes(min) / 1e6);
	ck_assert_int_eq(max->in_h, 224);
	ck_assert_int_eq(min->in_h, 224);
	/* Counted by hand from the stage lists (see the files). */
	ck_assert_int_eq(max->n_layers, 325);
	ck_assert_int_eq(min->n_layers, 46);
	CK_SHAPE(&max->layers[max->n_layers - 1], 1, 1, 1984, 1, 1, 1000);
	CK_SHAPE(&min->layers[min->n_layers - 1], 1, 1, 1792, 1, 1, 1000);
	CK_SHAPE(find(max, "s19.expand"), 7, 7, 240, 7, 7, 1440);
	CK_SHAPE(find(min, "s8.expand"), 7, 7, 224, 7, 7, 1344);
	/* ViT-3 at 28x28 tokens of 64 channels, 8 heads. */
	l = find(max, "s4.vit0.qkv");
	CK_SHAPE(l, 28, 28, 64, 28, 28, 192);
	l = find(max, "s4.vit0.qk");
	ck_assert_int_eq(l->heads, 8);
	ck_assert_int_eq(l->mm_m, 784);
	ck_assert_int_eq(l->mm_n, 784);
	for (int i = 0; i < min->n_layers; i++)
		mm += min->layers[i].op == SIM_OP_MATMUL;
	ck_assert_int_eq(mm, 0);
	ck_assert(net_macs(min) < net_macs(max));
	sim_net_destroy(max);
	sim_net_destroy(min);
}
END_TEST

typedef struct want_layer {
	const char *name;
	sim_op op;
	sim_act act;
	int in_h, in_c, out_h, out_c, kh, stride, n_inputs, in0, in1;
} want_layer;

static void
check_layers(const sim_net *net, const want_layer *w, int n)
{
	ck_assert_int_eq(net->n_layers, n);
	for (int i = 0; i < n; i++) {
		const sim_layer *l = &net->layers[i];

		ck_assert_str_eq(l->name, w[i].name);
		ck_assert_msg(l->op == w[i].op && l->act == w[i].act &&
		    l->in_h == w[i].in_h && l->in_w == w[i].in_h &&
		    l->in_c == w[i].in_c && l->out_h == w[i].out_h &&
		    l->out_w == w[i].out_h && l->out_c == w[i].out_c &&
		    l->kh == w[i].kh && l->kw == w[i].kh &&
		    l->stride == w[i].stride &&
		    l->n_inputs == w[i].n_inputs &&
		    l->inputs[0] == w[i].in0 &&
		    (l->n_inputs < 2 || l->inputs[1] == w[i].in1),
		    "layer %d '%s': %s/%s %dx%dx%d -> %dx%dx%d k%d s%d "
		    "inputs %d [%d %d]", i, l->name, sim_op_name(l->op),
		    sim_act_name(l->act), l->in_h, l->in_w, l->in_c, l->out_h,
		    l->out_w, l->out_c, l->kh, l->stride, l->n_inputs,
		    l->inputs[0], l->inputs[1]);
	}
}

START_TEST(test_arch_mbconv)
{
	sim_net *net = arch_ok("{\"name\": \"one\", \"resolution\": 16, "
	    "\"in_channels\": 8, \"stages\": [{\"block\": \"mbconv\", "
	    "\"width\": 8, \"depth\": 2, \"expand\": 4, \"stride\": 2}]}");
	const want_layer w[] = {
		{ "s0.b0.expand", SIM_OP_CONV, SIM_ACT_HSWISH,
		    16, 8, 16, 32, 1, 1, 1, -1, 0 },
		{ "s0.b0.dw", SIM_OP_DWCONV, SIM_ACT_HSWISH,
		    16, 32, 8, 32, 3, 2, 1, 0, 0 },
		{ "s0.b0.project", SIM_OP_CONV, SIM_ACT_NONE,
		    8, 32, 8, 8, 1, 1, 1, 1, 0 },
		{ "s0.b1.expand", SIM_OP_CONV, SIM_ACT_HSWISH,
		    8, 8, 8, 32, 1, 1, 1, 2, 0 },
		{ "s0.b1.dw", SIM_OP_DWCONV, SIM_ACT_HSWISH,
		    8, 32, 8, 32, 3, 1, 1, 3, 0 },
		{ "s0.b1.project", SIM_OP_CONV, SIM_ACT_NONE,
		    8, 32, 8, 8, 1, 1, 1, 4, 0 },
		{ "s0.b1.add", SIM_OP_ADD, SIM_ACT_NONE,
		    8, 8, 8, 8, 1, 1, 2, 2, 5 },
	};

	ck_assert_str_eq(net->name, "one");
	check_layers(net, w, 7);
	/* 16*16*8*32 + 9*8*8*32 + 8*8*32*8 + 8*8*8*32 + 9*8*8*32 + 8*8*32*8 */
	ck_assert_int_eq(net_macs(net), 65536 + 18432 + 16384 + 16384 +
	    18432 + 16384);
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_arch_vit_head)
{
	sim_net *net = arch_ok("{\"resolution\": 8, \"in_channels\": 4, "
	    "\"classes\": 10, \"stages\": ["
	    "{\"block\": \"conv\", \"width\": 16},"
	    "{\"block\": \"mbconv\", \"width\": 16, \"depth\": 0, "
	    "\"expand\": 6},"
	    "{\"block\": \"vit\", \"width\": 16, \"depth\": 1, "
	    "\"mlp_ratio\": 1.5},"
	    "{\"block\": \"mbpool\", \"width\": 32, \"expand\": 2}]}");
	const want_layer w[] = {
		{ "s0.conv", SIM_OP_CONV, SIM_ACT_HSWISH,
		    8, 4, 8, 16, 3, 1, 1, -1, 0 },
		{ "s2.vit0.ln1", SIM_OP_LAYERNORM, SIM_ACT_NONE,
		    8, 16, 8, 16, 1, 1, 1, 0, 0 },
		{ "s2.vit0.qkv", SIM_OP_FC, SIM_ACT_NONE,
		    8, 16, 8, 48, 1, 1, 1, 1, 0 },
		{ "s2.vit0.qk", SIM_OP_MATMUL, SIM_ACT_NONE,
		    8, 48, 8, 128, 1, 1, 1, 2, 0 },
		{ "s2.vit0.softmax", SIM_OP_SOFTMAX, SIM_ACT_NONE,
		    8, 128, 8, 128, 1, 1, 1, 3, 0 },
		{ "s2.vit0.av", SIM_OP_MATMUL, SIM_ACT_NONE,
		    8, 128, 8, 16, 1, 1, 2, 4, 2 },
		{ "s2.vit0.proj", SIM_OP_FC, SIM_ACT_NONE,
		    8, 16, 8, 16, 1, 1, 1, 5, 0 },
		{ "s2.vit0.add1", SIM_OP_ADD, SIM_ACT_NONE,
		    8, 16, 8, 16, 1, 1, 2, 0, 6 },
		{ "s2.vit0.ln2", SIM_OP_LAYERNORM, SIM_ACT_NONE,
		    8, 16, 8, 16, 1, 1, 1, 7, 0 },
		{ "s2.vit0.mlp1", SIM_OP_FC, SIM_ACT_GELU,
		    8, 16, 8, 24, 1, 1, 1, 8, 0 },
		{ "s2.vit0.mlp2", SIM_OP_FC, SIM_ACT_NONE,
		    8, 24, 8, 16, 1, 1, 1, 9, 0 },
		{ "s2.vit0.add2", SIM_OP_ADD, SIM_ACT_NONE,
		    8, 16, 8, 16, 1, 1, 2, 7, 10 },
		{ "s3.expand", SIM_OP_CONV, SIM_ACT_HSWISH,
		    8, 16, 8, 32, 1, 1, 1, 11, 0 },
		{ "s3.pool", SIM_OP_AVGPOOL, SIM_ACT_NONE,
		    8, 32, 1, 32, 8, 8, 1, 12, 0 },
		{ "s3.mix", SIM_OP_FC, SIM_ACT_HSWISH,
		    1, 32, 1, 32, 1, 1, 1, 13, 0 },
		{ "s3.classifier", SIM_OP_FC, SIM_ACT_NONE,
		    1, 32, 1, 10, 1, 1, 1, 14, 0 },
	};
	const sim_layer *qk = &net->layers[3], *av = &net->layers[5];

	ck_assert_str_eq(net->name, "a");
	check_layers(net, w, 16);
	ck_assert_int_eq(qk->heads, 2);
	ck_assert_int_eq(qk->mm_m, 64);
	ck_assert_int_eq(qk->mm_k, 8);
	ck_assert_int_eq(qk->mm_n, 64);
	ck_assert_int_eq(sim_layer_macs(qk), 2 * 64 * 8 * 64);
	ck_assert_int_eq(av->mm_k, 64);
	ck_assert_int_eq(av->mm_n, 8);
	ck_assert_int_eq(sim_layer_macs(av), 2 * 64 * 64 * 8);
	ck_assert_int_eq(net->layers[13].global, 1);
	ck_assert_int_eq(sim_layer_macs(&net->layers[13]), 64 * 32);
	sim_net_destroy(net);
}
END_TEST

/* ---- Errors -------------------------------------------------------------- */

typedef struct bad_case {
	const char *json;
	const char *want;	/* a substring of the message */
} bad_case;

#define NET(layers) "{\"input\": [8, 8, 4], \"layers\": [" layers "]}"
#define RELU(n) "{\"name\": \"" n "\", \"op\": \"relu\"}"

static const bad_case net_bad[] = {
	{ NET("{\"name\": \"x\", \"op\": \"foo\"}"),
	    "'t.json' layer 'x': unknown op 'foo'" },
	{ NET("{\"name\": \"x\", \"op\": \"none\"}"), "unknown op 'none'" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 3, \"out\": 4,"
	    " \"kernal\": 3}"), "layer 'c': unknown key 'kernal' for op 'conv'" },
	{ NET("{\"name\": \"f\", \"op\": \"fc\", \"out\": 4, \"kernel\": 1}"),
	    "unknown key 'kernel' for op 'fc'" },
	{ NET("{\"name\": \"d\", \"op\": \"dwconv\", \"kernel\": 3,"
	    " \"out\": 4}"), "unknown key 'out' for op 'dwconv'" },
	{ NET("{\"name\": \"r\", \"op\": \"relu\", \"act\": \"gelu\"}"),
	    "unknown key 'act' for op 'relu'" },
	{ NET("{\"name\": \"s\", \"op\": \"softmax\", \"act\": \"relu\"}"),
	    "unknown key 'act' for op 'softmax'" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 3}"),
	    "layer 'c': missing key 'out'" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"out\": 3}"),
	    "layer 'c': missing key 'kernel'" },
	{ NET("{\"name\": \"c\", \"kernel\": 3}"), "layer 'c': missing key 'op'" },
	{ NET(RELU("a") ", {\"op\": \"relu\"}"),
	    "'t.json' layers[1]: missing key 'name'" },
	{ NET("{\"name\": \"\", \"op\": \"relu\"}"), "layers[0]: 'name' is empty" },
	{ NET("{\"name\": 7, \"op\": \"relu\"}"),
	    "layers[0]: 'name' must be a string (got an integer)" },
	{ NET("{\"name\": \"0123456789012345678901234567890123456789012345678901"
	    "234567890123\", \"op\": \"relu\"}"), "longer than 63 characters" },
	{ NET(RELU("r") ", " RELU("r")), "layer 'r': duplicate name" },
	{ NET(RELU("input")), "'input' is reserved" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": \"3\", \"out\": 4}"),
	    "layer 'c': 'kernel' must be an integer (got a string)" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 3.0, \"out\": 4}"),
	    "'kernel' must be an integer (got a real)" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 0, \"out\": 4}"),
	    "layer 'c': 'kernel' must be in 1..64 (got 0)" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 3, \"stride\": 0,"
	    " \"out\": 4}"), "'stride' must be in 1..64 (got 0)" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 3, \"out\": -4}"),
	    "'out' must be in 1..1048576 (got -4)" },
	{ NET("{\"name\": \"f\", \"op\": \"fc\", \"out\": 0}"),
	    "'out' must be in 1..1048576 (got 0)" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 1, \"out\": 4,"
	    " \"act\": \"swish\"}"), "layer 'c': unknown act 'swish'" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 1, \"out\": 6,"
	    " \"groups\": 3}"), "'groups' 3 does not divide the 4 input channels" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 1, \"out\": 6,"
	    " \"groups\": 4}"), "'groups' 4 does not divide 'out' 6" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 1, \"out\": 4,"
	    " \"groups\": 0}"), "'groups' must be in 1..1048576 (got 0)" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 3, \"stride\": 2,"
	    " \"out\": 4}, {\"name\": \"s\", \"op\": \"add\", \"inputs\":"
	    " [\"input\", \"c\"]}"), "layer 's': 'inputs' differ in shape: "
	    "'input' is 8x8x4, 'c' is 4x4x4" },
	{ NET("{\"name\": \"s\", \"op\": \"add\"}"),
	    "layer 's': missing key 'inputs'" },
	{ NET("{\"name\": \"s\", \"op\": \"add\", \"inputs\": [\"input\"]}"),
	    "'inputs' must name 2 layers for op 'add' (got 1)" },
	{ NET(RELU("a") ", " RELU("b") ", {\"name\": \"s\", \"op\": \"relu\","
	    " \"inputs\": [\"a\", \"b\"]}"),
	    "'inputs' must name 1 layer for op 'act' (got 2)" },
	{ NET("{\"name\": \"a\", \"op\": \"relu\", \"inputs\": [\"b\"]}, "
	    RELU("b")), "layer 'a': 'inputs' names 'b', a later layer" },
	{ NET("{\"name\": \"a\", \"op\": \"relu\", \"inputs\": [\"zz\"]}"),
	    "layer 'a': 'inputs' names unknown layer 'zz'" },
	{ NET("{\"name\": \"a\", \"op\": \"relu\", \"inputs\": [\"a\"]}"),
	    "'inputs' names the layer itself" },
	{ NET("{\"name\": \"a\", \"op\": \"relu\", \"inputs\": \"input\"}"),
	    "'inputs' must be an array of layer names (got a string)" },
	{ NET("{\"name\": \"a\", \"op\": \"add\", \"inputs\": [\"input\","
	    " \"input\", \"input\"]}"), "'inputs' must name 1 or 2 layers (got 3)" },
	{ NET("{\"name\": \"a\", \"op\": \"relu\", \"inputs\": []}"),
	    "'inputs' must name 1 or 2 layers (got 0)" },
	{ NET("{\"name\": \"mm\", \"op\": \"matmul\", \"m\": 10, \"k\": 4,"
	    " \"n\": 10}"), "layer 'mm': 'm' 10 does not match input 'input' "
	    "(8x8x4 has 64 rows)" },
	{ NET("{\"name\": \"mm\", \"op\": \"matmul\", \"heads\": 2, \"m\": 64,"
	    " \"k\": 4, \"n\": 64}"), "'heads' x 'k' = 2 x 4 exceeds the 4 "
	    "channels of input 'input'" },
	{ NET("{\"name\": \"mm\", \"op\": \"matmul\", \"m\": 64, \"k\": 4,"
	    " \"n\": 8}"), "'n' 8 must equal 'm' 64" },
	{ NET("{\"name\": \"mm\", \"op\": \"matmul\", \"m\": 64, \"k\": 4,"
	    " \"n\": 2, \"inputs\": [\"input\", \"input\"]}"),
	    "'k' 4 does not match second input 'input' (8x8x4 has 64 rows)" },
	{ NET("{\"name\": \"c\", \"op\": \"conv\", \"kernel\": 1, \"out\": 64},"
	    " {\"name\": \"mm\", \"op\": \"matmul\", \"m\": 64, \"k\": 64,"
	    " \"n\": 8, \"inputs\": [\"c\", \"input\"]}"),
	    "'heads' x 'n' = 1 x 8 exceeds the 4 channels of second input" },
	{ NET("{\"name\": \"mm\", \"op\": \"matmul\", \"m\": 64, \"n\": 64}"),
	    "layer 'mm': missing key 'k'" },
	{ NET("{\"name\": \"mm\", \"op\": \"matmul\", \"heads\": 0, \"m\": 64,"
	    " \"k\": 4, \"n\": 64}"), "'heads' must be in 1..1048576 (got 0)" },
	{ NET("{\"name\": \"p\", \"op\": \"avgpool\", \"global\": true,"
	    " \"kernel\": 2}"), "do not go with 'global': true" },
	{ NET("{\"name\": \"p\", \"op\": \"maxpool\"}"),
	    "layer 'p': missing key 'kernel'" },
	{ NET("{\"name\": \"p\", \"op\": \"avgpool\", \"global\": 1}"),
	    "'global' must be true or false (got an integer)" },
	{ NET("{\"name\": \"a\", \"op\": \"act\"}"), "missing key 'act'" },
	{ NET("{\"name\": \"a\", \"op\": \"act\", \"act\": \"none\"}"),
	    "'act' must not be 'none'" },
	{ NET("7"), "layers[0]: a layer must be an object (got an integer)" },
	{ NET(""), "'t.json': 'layers' is empty" },
	{ "{\"input\": [8, 8, 4]}", "'t.json': missing key 'layers'" },
	{ "{\"input\": [8, 8, 4], \"layers\": {}}", "'layers'" },
	{ "{\"layers\": [" RELU("a") "]}", "missing key 'input'" },
	{ "{\"input\": [8, 8], \"layers\": [" RELU("a") "]}",
	    "'input' must be 3 integers [H, W, C] in 1..1048576 (got [8,8])" },
	{ "{\"input\": [8, 0, 4], \"layers\": [" RELU("a") "]}",
	    "(got [8,0,4])" },
	{ "{\"input\": [8, 8, \"4\"], \"layers\": [" RELU("a") "]}",
	    "'input' must be 3 integers" },
	{ "{\"input\": [8, 8, 4], \"layer\": []}",
	    "'t.json': unknown key 'layer'" },
	{ "{\"input\": [8, 8, 4], \"name\": \"\", \"layers\": [" RELU("a") "]}",
	    "'name' must be a string of 1..63 characters" },
	{ "[1, 2]", "the top level must be an object (got an array)" },
	{ "{\"input\": [8, 8, 4],\n \"layers\": [\n  {\"name\": \"a\" \"op\": "
	    "\"relu\"}]}", "'t.json' line 3 column 19: '}' expected near '\"op\"'" },
	{ NET("{\"name\": \"a\", \"op\": \"relu\", \"op\": \"gelu\"}"),
	    "duplicate object key" },
	{ "", "'t.json' line 1 column 0: " },
	/* 65536 x 65536 x 1 is past INT_MAX elements. */
	{ "{\"input\": [65536, 65536, 1], \"layers\": [" RELU("a") "]}",
	    "has more than 2147483647 elements" },
	{ "{\"input\": [4096, 4096, 1], \"layers\": [{\"name\": \"f\", \"op\": "
	    "\"fc\", \"out\": 1048576}]}",
	    "layer 'f': output 4096x4096x1048576 has more than" },
	/* 64*64 * 2^20 inputs * 2047 * 2^20 outputs is about 2^63 MACs. */
	{ "{\"input\": [2047, 1, 1048576], \"layers\": [{\"name\": \"c\", "
	    "\"op\": \"conv\", \"kernel\": 64, \"out\": 1048576}]}",
	    "layer 'c': 9.22e+18 MACs exceed the 4.61e+18" },
};

START_TEST(test_net_errors)
{
	const bad_case *c = &net_bad[_i];
	sim_net *net = (sim_net *)&c;	/* must be reset to NULL */
	h4h_err err = { "" };
	int rc = sim_net_parse(c->json, "t.json", &net, &err);

	ck_assert_msg(rc == H4H_EINPUT, "case %d: rc %d for %s", _i, rc,
	    c->json);
	ck_assert_ptr_null(net);
	ck_assert_msg(strstr(err.msg, c->want) != NULL,
	    "case %d: message \"%s\" lacks \"%s\"", _i, err.msg, c->want);
	ck_assert_msg(strchr(err.msg, '\n') == NULL, "case %d: two lines", _i);
	ck_assert_msg(strncmp(err.msg, "h4h:", 4) != 0, "case %d", _i);
}
END_TEST

START_TEST(test_missing_files)
{
	sim_net *net = NULL;
	h4h_err err = { "" };

	ck_assert_int_eq(sim_net_load("/nonexistent/x.json", &net, &err),
	    H4H_EINPUT);
	ck_assert_ptr_null(net);
	ck_assert_str_eq(err.msg, "cannot open '/nonexistent/x.json': "
	    "No such file or directory");
	ck_assert_int_eq(sim_arch_load("/nonexistent/a.json", &net, &err),
	    H4H_EINPUT);
	ck_assert_str_eq(err.msg, "cannot open '/nonexistent/a.json': "
	    "No such file or directory");
}
END_TEST

#define ARCH(stages) "{\"resolution\": 32, \"stages\": [" stages "]}"
#define CONV "{\"block\": \"conv\", \"width\": 16, \"stride\": 2}"

static const bad_case arch_bad[] = {
	{ ARCH("{\"block\": \"resnet\", \"width\": 8}"),
	    "'a.json' stages[0]: unknown block 'resnet'" },
	{ ARCH("{\"width\": 8}"), "stages[0]: missing key 'block'" },
	{ ARCH("{\"block\": 3}"), "'block' must be a string (got an integer)" },
	{ ARCH(CONV ", {\"block\": \"mbconv\", \"width\": 16, \"depth\": 1,"
	    " \"expand\": 4, \"kernel\": 5}"),
	    "stages[1]: unknown key 'kernel' for block 'mbconv'" },
	{ ARCH("{\"block\": \"vit\", \"width\": 16, \"depth\": 1, "
	    "\"mlp_ratio\": 2, \"stride\": 1}"),
	    "unknown key 'stride' for block 'vit'" },
	{ ARCH("{\"block\": \"conv\"}"), "stages[0]: missing key 'width'" },
	{ ARCH("{\"block\": \"conv\", \"width\": 0}"),
	    "stages[0]: 'width' must be in 1..65536 (got 0)" },
	{ ARCH("{\"block\": \"conv\", \"width\": \"16\"}"),
	    "'width' must be an integer (got a string)" },
	{ ARCH("{\"block\": \"conv\", \"width\": 16, \"stride\": 3}"),
	    "'stride' must be in 1..2 (got 3)" },
	{ ARCH(CONV ", {\"block\": \"mbconv\", \"width\": 16, \"depth\": -1,"
	    " \"expand\": 4}"), "stages[1]: 'depth' must be in 0..64 (got -1)" },
	{ ARCH(CONV ", {\"block\": \"mbconv\", \"width\": 16, \"depth\": 1,"
	    " \"expand\": 0}"), "'expand' must be in 1..16 (got 0)" },
	{ ARCH(CONV ", {\"block\": \"mbconv\", \"width\": 16, \"depth\": 1}"),
	    "stages[1]: missing key 'expand'" },
	{ ARCH(CONV ", {\"block\": \"mbconv\", \"width\": 16, \"expand\": 1}"),
	    "missing key 'depth'" },
	{ ARCH(CONV ", {\"block\": \"mbconv\", \"width\": 16, \"depth\": 1.5,"
	    " \"expand\": 1}"), "'depth' must be an integer (got a real)" },
	{ ARCH(CONV ", {\"block\": \"vit\", \"width\": 20, \"depth\": 1,"
	    " \"mlp_ratio\": 2}"),
	    "stages[1]: 'width' must be a multiple of 8 for block 'vit' "
	    "(got 20)" },
	{ ARCH(CONV ", {\"block\": \"vit\", \"width\": 16, \"depth\": 1}"),
	    "missing key 'mlp_ratio'" },
	{ ARCH(CONV ", {\"block\": \"vit\", \"width\": 16, \"depth\": 1,"
	    " \"mlp_ratio\": 0}"), "'mlp_ratio' must be in (0, 16] (got 0)" },
	{ ARCH(CONV ", {\"block\": \"vit\", \"width\": 16, \"depth\": 1,"
	    " \"mlp_ratio\": \"2\"}"),
	    "'mlp_ratio' must be a number (got a string)" },
	{ "{\"resolution\": 8, \"in_channels\": 1, \"stages\": [{\"block\": "
	    "\"vit\", \"width\": 8, \"depth\": 1, \"mlp_ratio\": 0.25}]}",
	    "stages[0]: 'mlp_ratio' 0.25 x 1 channels rounds to 0" },
	{ ARCH("{\"block\": \"mbpool\", \"width\": 64, \"expand\": 6}, " CONV),
	    "stages[0]: block 'mbpool' must be the last stage" },
	{ ARCH(CONV ", {\"block\": \"mbpool\", \"width\": 64}"),
	    "stages[1]: missing key 'expand'" },
	{ ARCH("7"), "stages[0]: a stage must be an object (got an integer)" },
	{ ARCH(""), "'a.json': 'stages' is empty" },
	{ "{\"resolution\": 32}", "missing key 'stages'" },
	{ "{\"stages\": [" CONV "]}", "'a.json': missing key 'resolution'" },
	{ "{\"resolution\": 4, \"stages\": [" CONV "]}",
	    "'resolution' must be in 8..4096 (got 4)" },
	{ "{\"resolution\": 32, \"classes\": 0, \"stages\": [" CONV "]}",
	    "'classes' must be in 1..1048576 (got 0)" },
	{ "{\"resolution\": 32, \"in_channels\": -3, \"stages\": [" CONV "]}",
	    "'in_channels' must be in 1..65536 (got -3)" },
	{ "{\"resolutoin\": 32, \"stages\": [" CONV "]}",
	    "'a.json': unknown key 'resolutoin'" },
	{ ARCH("{\"block\": \"mbconv\", \"width\": 16, \"depth\": 0,"
	    " \"expand\": 4}"), "every stage has depth 0" },
	{ "{\"resolution\": 32,\n\"stages\": [\n\n" CONV ",]}",
	    "'a.json' line 4 column " },
	{ "{\"resolution\": 4096, \"stages\": [{\"block\": \"conv\", "
	    "\"width\": 65536}]}", "'a.json' stages[0]: layer 's0.conv': "
	    "output 4096x4096x65536 has more than" },
	{ "[]", "the top level must be an object" },
};

START_TEST(test_arch_errors)
{
	const bad_case *c = &arch_bad[_i];
	sim_net *net = (sim_net *)&c;	/* must be reset to NULL */
	h4h_err err = { "" };
	int rc = sim_arch_parse(c->json, "a.json", &net, &err);

	ck_assert_msg(rc == H4H_EINPUT, "case %d: rc %d for %s", _i, rc,
	    c->json);
	ck_assert_ptr_null(net);
	ck_assert_msg(strstr(err.msg, c->want) != NULL,
	    "case %d: message \"%s\" lacks \"%s\"", _i, err.msg, c->want);
	ck_assert_msg(strchr(err.msg, '\n') == NULL, "case %d: two lines", _i);
}
END_TEST

/* The builder rejects what a front end should never pass. */
START_TEST(test_append_checks)
{
	sim_net *net = sim_net_new("b", 4, 4, 4);
	sim_layer l;
	h4h_err err = { "" };

	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "x");
	l.op = SIM_OP_SOFTMAX;
	l.n_inputs = 1;
	l.inputs[0] = 0;	/* not an earlier layer: there is none */
	ck_assert_int_eq(sim_net_append(net, &l, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "layer 'x': input 0 is not an "
	    "earlier layer"));
	l.inputs[0] = -1;
	l.act = SIM_ACT_RELU;
	ck_assert_int_eq(sim_net_append(net, &l, &err), H4H_EINPUT);
	ck_assert_ptr_nonnull(strstr(err.msg, "op 'softmax' takes no 'act'"));
	l.act = SIM_ACT_NONE;
	ck_assert_int_eq(sim_net_append(net, &l, &err), 0);
	ck_assert_int_eq(net->n_layers, 1);
	for (int i = 0; i < 40; i++) {
		snprintf(l.name, sizeof l.name, "y%d", i);
		l.inputs[0] = i;
		ck_assert_int_eq(sim_net_append(net, &l, &err), 0);
	}
	ck_assert_int_eq(net->n_layers, 41);
	ck_assert_str_eq(net->layers[40].name, "y39");
	ck_assert_int_eq(net->layers[40].inputs[0], 39);
	sim_net_destroy(net);
}
END_TEST

static Suite *
net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("Core");

	tcase_add_test(tc, test_cnn_shapes_macs);
	tcase_add_test(tc, test_attention_shapes_macs);
	tcase_add_test(tc, test_cim_capable);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_mobilenet_v2);
	tcase_add_test(tc, test_global_pool_large);
	tcase_add_test(tc, test_hybrid_example);
	tcase_add_test(tc, test_h4h_max_min);
	tcase_add_test(tc, test_arch_mbconv);
	tcase_add_test(tc, test_arch_vit_head);
	suite_add_tcase(s, tc);

	tc = tcase_create("Errors");
	tcase_add_loop_test(tc, test_net_errors, 0,
	    (int)(sizeof net_bad / sizeof net_bad[0]));
	tcase_add_loop_test(tc, test_arch_errors, 0,
	    (int)(sizeof arch_bad / sizeof arch_bad[0]));
	tcase_add_test(tc, test_missing_files);
	tcase_add_test(tc, test_append_checks);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(net_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
