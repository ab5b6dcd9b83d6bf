/*
 * check_breakdown.c - where the time goes (breakdown.c): the shares add up
 * to the totals, the top list is the slowest layers in order, and the
 * bounds are the ones a hand calculation expects (a big conv on the NPU is
 * MAC-bound; the same conv on a 1 GB/s NoC is link-bound; a depthwise conv
 * on a macro is CIM-bound; a softmax is elementwise, output-stage or
 * link-bound, never MAC-bound).
 */
#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim/report/breakdown.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"
#include "sim/report/report.h"
#include "sim/sim.h"
#include "sim/front/net_json.h"

static void
load(const char *ini, const char *const *sets, int n_sets, sim_profile *p)
{
	char path[512];
	h4h_err err = { "" };

	tu_src_path(path, sizeof path, ini);
	ck_assert_msg(sim_profile_open(path, sets, n_sets, NULL, p, &err) == 0,
	    "%s", err.msg);
}

static sim_result *
run(const sim_profile *p, const sim_net *net)
{
	sim_result *r = NULL;
	h4h_err err = { "" };

	ck_assert_msg(sim_run(p, net, NULL, &r, &err) == 0, "%s", err.msg);
	return r;
}

static sim_breakdown *
breakdown(const sim_profile *p, const sim_result *r)
{
	sim_breakdown *b = NULL;
	h4h_err err = { "" };

	ck_assert_msg(sim_breakdown_make(p, r, &b, &err) == 0, "%s", err.msg);
	return b;
}

START_TEST(test_sums_and_top)
{
	char path[512];
	sim_profile p;
	sim_net *net = NULL;
	sim_result *r;
	sim_breakdown *b;
	h4h_err err = { "" };
	double lat = 0, en = 0, blat = 0;
	int layers = 0;

	load("hwprofiles/system-npu-8cim.ini", NULL, 0, &p);
	tu_src_path(path, sizeof path, "nets/hybrid_example.json");
	ck_assert_int_eq(sim_net_load(path, &net, &err), 0);
	r = run(&p, net);
	b = breakdown(&p, r);
	for (int op = 0; op < SIM_OP_COUNT; op++) {
		lat += b->by_op[op].latency_s;
		en += b->by_op[op].energy_j;
		layers += b->by_op[op].layers;
	}
	for (int k = 0; k < SIM_BOUND_COUNT; k++)
		blat += b->by_bound[k].latency_s;
	ck_assert_int_eq(layers, net->n_layers);
	ck_assert(fabs(lat - r->latency_s) <= 1e-9 * r->latency_s);
	ck_assert(fabs(en - r->energy_j) <= 1e-9 * r->energy_j);
	ck_assert(fabs(blat - r->latency_s) <= 1e-9 * r->latency_s);
	ck_assert(fabs(b->lat_npu_s + b->lat_cim_s + b->lat_split_s -
	    r->latency_s) <= 1e-9 * r->latency_s);
	/* The top 5 are the 5 slowest, slowest first. */
	ck_assert_int_eq(b->n_top, 5);
	for (int t = 1; t < b->n_top; t++)
		ck_assert(r->layers[b->top[t - 1]].latency_s >=
		    r->layers[b->top[t]].latency_s);
	for (int i = 0; i < r->n_layers; i++) {
		int in_top = 0;

		for (int t = 0; t < b->n_top; t++)
			in_top |= b->top[t] == i;
		if (!in_top)
			ck_assert(r->layers[i].latency_s <=
			    r->layers[b->top[b->n_top - 1]].latency_s);
	}
	/* The softmax is the slowest layer of this net (74% on npu-8cim). */
	ck_assert_str_eq(r->layers[b->top[0]].layer->name, "vit.softmax");
	ck_assert(b->by_op[SIM_OP_SOFTMAX].latency_s > 0.7 * r->latency_s);
	ck_assert_int_ne(b->bound[b->top[0]], SIM_BOUND_NPU_MAC);
	ck_assert_int_ne(b->bound[b->top[0]], SIM_BOUND_CIM);
	sim_breakdown_destroy(b);
	sim_result_destroy(r);
	sim_net_destroy(net);
}
END_TEST

/* One 3x3 conv, 56x56x64 -> 64: 115.6 M MACs. */
static sim_net *
conv_net(void)
{
	sim_net *net = sim_net_new("c", 56, 56, 64);
	sim_layer l;
	h4h_err err = { "" };

	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "relu");
	l.op = SIM_OP_ACT;
	l.act = SIM_ACT_RELU;
	l.n_inputs = 1;
	l.inputs[0] = -1;
	ck_assert_int_eq(sim_net_append(net, &l, &err), 0);
	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "conv");
	l.op = SIM_OP_CONV;
	l.kh = 3;
	l.stride = 1;
	l.out_c = 64;
	l.groups = 1;
	l.n_inputs = 1;
	l.inputs[0] = 0;
	ck_assert_msg(sim_net_append(net, &l, &err) == 0, "%s", err.msg);
	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "dw");
	l.op = SIM_OP_DWCONV;
	l.kh = 3;
	l.stride = 1;
	l.n_inputs = 1;
	l.inputs[0] = 1;
	ck_assert_int_eq(sim_net_append(net, &l, &err), 0);
	return net;
}

START_TEST(test_bounds)
{
	static const char *const slow_noc[] = { "noc.bandwidth_gbps=0.25" };
	sim_net *net = conv_net();
	sim_profile p;
	sim_result *r;
	sim_breakdown *b;

	/* The U55-256 at 500 MHz: 115.6 M MACs need >= 0.9 ms in the MAC
	 * stage; the conv's 0.4 MB of feature maps need 0.1 ms at 4 GB/s. */
	load("hwprofiles/system-npu-only.ini", NULL, 0, &p);
	r = run(&p, net);
	b = breakdown(&p, r);
	ck_assert_int_eq(b->bound[1], SIM_BOUND_NPU_MAC);
	ck_assert(b->busy_s[1][SIM_BOUND_NPU_MAC] >= 115.6e6 / 256 / 500e6);
	ck_assert(b->busy_s[1][SIM_BOUND_NPU_MAC] <= r->layers[1].latency_s);
	ck_assert_double_eq(b->busy_s[1][SIM_BOUND_CIM], 0);
	sim_breakdown_destroy(b);
	sim_result_destroy(r);

	/* At 0.25 GB/s the same conv waits on the link. */
	load("hwprofiles/system-npu-only.ini", slow_noc, 1, &p);
	r = run(&p, net);
	b = breakdown(&p, r);
	ck_assert_int_eq(b->bound[1], SIM_BOUND_NOC);
	ck_assert_int_eq(b->bound[0], SIM_BOUND_NOC);
	sim_breakdown_destroy(b);
	sim_result_destroy(r);

	/* With macros the depthwise conv runs there: a macro bound. */
	load("hwprofiles/system-npu-8cim.ini", NULL, 0, &p);
	r = run(&p, net);
	b = breakdown(&p, r);
	if (r->layers[2].npu_channels == 0) {
		ck_assert(b->busy_s[2][SIM_BOUND_CIM] > 0);
		ck_assert_double_eq(b->busy_s[2][SIM_BOUND_NPU_MAC], 0);
	}
	ck_assert(b->lat_cim_s + b->lat_split_s > 0);
	sim_breakdown_destroy(b);
	sim_result_destroy(r);
	sim_net_destroy(net);
}
END_TEST

static const char *
jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	ck_assert_msg(v != NULL, "no string '%s'", key);
	return v;
}

static double
jnum(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_number(v), "no number '%s'", key);
	return json_number_value(v);
}

static void
near(double got, double want)
{
	ck_assert_msg(fabs(got - want) <= 1e-11 * fabs(want) + 1e-300,
	    "%.17g != %.17g", got, want);
}

START_TEST(test_json)
{
	sim_net *net = conv_net();
	sim_profile p;
	sim_result *r;
	sim_breakdown *b;
	json_t *root, *bd;
	char *s;

	load("hwprofiles/system-npu-8cim.ini", NULL, 0, &p);
	r = run(&p, net);
	b = breakdown(&p, r);
	s = sim_breakdown_json(&r, &b, 1);
	ck_assert_ptr_nonnull(s);
	root = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(root);
	bd = json_object_get(root, "breakdown");
	ck_assert_ptr_nonnull(bd);
	ck_assert_int_eq(json_array_size(json_object_get(bd, "layers")), 3);
	ck_assert_int_eq(json_array_size(json_object_get(bd, "top")), 3);
	/* Values, not only keys: each layer's bound and busy times are the
	 * breakdown's, the devices' figures the result's, the top list is
	 * the layers slowest first, and the per-op rows add up to the
	 * layers' latencies.  (JSON_REAL_PRECISION(12): 1e-11 relative.) */
	for (int i = 0; i < 3; i++) {
		json_t *l = json_array_get(json_object_get(bd, "layers"),
		    (size_t)i), *busy = json_object_get(l, "busy_s");

		ck_assert_str_eq(jstr(l, "name"), r->layers[i].layer->name);
		ck_assert_str_eq(jstr(l, "bound"), sim_bound_name(b->bound[i]));
		near(jnum(busy, "npu_mac"), b->busy_s[i][SIM_BOUND_NPU_MAC]);
		near(jnum(busy, "npu_out"), b->busy_s[i][SIM_BOUND_NPU_OUT]);
		near(jnum(busy, "weight_port"), b->busy_s[i][SIM_BOUND_WEIGHT]);
		near(jnum(busy, "noc"), b->busy_s[i][SIM_BOUND_NOC]);
		near(jnum(busy, "cim"), b->busy_s[i][SIM_BOUND_CIM]);
		near(jnum(busy, "ifmp"), b->busy_s[i][SIM_BOUND_IFMP]);
	}
	{
		json_t *dev = json_object_get(bd, "by_device");
		json_t *top = json_object_get(bd, "top");
		json_t *ops = json_object_get(bd, "by_op");
		double prev = INFINITY, sum = 0, want = 0, slowest = 0;
		int layers = 0;

		near(jnum(json_object_get(dev, "npu"), "busy_s"), r->npu_busy_s);
		near(jnum(json_object_get(dev, "npu"), "energy_j"), r->e_npu_j);
		near(jnum(json_object_get(dev, "cim"), "busy_s"), r->cim_busy_s);
		near(jnum(json_object_get(dev, "noc"), "busy_s"), r->noc_busy_s);
		near(jnum(json_object_get(dev, "noc"), "energy_j"), r->e_noc_j);
		near(jnum(json_object_get(dev, "static"), "energy_j"),
		    r->e_static_j);
		for (int i = 0; i < r->n_layers; i++) {
			want += r->layers[i].latency_s;
			if (r->layers[i].latency_s > slowest)
				slowest = r->layers[i].latency_s;
		}
		for (size_t t = 0; t < json_array_size(top); t++) {
			double lat = jnum(json_array_get(top, t), "latency_s");

			ck_assert(lat <= prev);
			prev = lat;
		}
		near(jnum(json_array_get(top, 0), "latency_s"), slowest);
		for (size_t k = 0; k < json_array_size(ops); k++) {
			sum += jnum(json_array_get(ops, k), "latency_s");
			layers += (int)json_integer_value(json_object_get(
			    json_array_get(ops, k), "layers"));
		}
		ck_assert_int_eq(layers, r->n_layers);
		near(sum, want);
	}
	/* The rest of the object is sim_result_json's, key for key. */
	near(jnum(root, "latency_s"), r->latency_s);
	near(jnum(root, "energy_j"), r->energy_j);
	json_decref(root);
	free(s);
	sim_breakdown_destroy(b);
	sim_result_destroy(r);
	sim_net_destroy(net);
}
END_TEST

static Suite *
breakdown_suite(void)
{
	Suite *s = suite_create("breakdown");
	TCase *tc = tcase_create("Core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sums_and_top);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(breakdown_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
