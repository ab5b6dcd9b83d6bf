/*
 * check_sim.c - whole-simulator tests (engine.c with every model).
 *
 * Vela: single-op networks on the NPU alone at 500 MHz, 4 GB/s, 32-cycle
 * latency against Vela 3.10's estimates (hwprofiles/reference/): Sram_Only
 * median error <= 5 %, worst <= 15 %; Shared_Sram (weights in flash)
 * median <= 5 %, worst <= 20 %.
 * Invariants: zero macros is the NPU-only result; more macros, CUs or
 * bandwidth never make the latency objective worse and make it better at
 * least once per network; more macros never raise the energy under the
 * energy objective (idle macros are gated); the softmax falls with NoC
 * bandwidth; heads run one by one; dedup and fc-across-CUs save time;
 * equal input gives byte-identical JSON; one engine runs many networks.
 */
#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/front/arch.h"
#include "sim/report/report.h"
#include "sim/sim.h"
#include "sim/front/net_json.h"

static char path_buf[1024];

static const char *
src_path(const char *rel)
{
	return tu_src_path(path_buf, sizeof path_buf, rel);
}

static void
load_system(const char *rel, sim_profile *p)
{
	h4h_err err = { "" };

	ck_assert_msg(sim_profile_load(src_path(rel), p, &err) == 0, "%s",
	    err.msg);
}

static sim_net *
load_net(const char *rel)
{
	h4h_err err = { "" };
	sim_net *net = NULL;
	int rc;

	if (strstr(rel, "h4h-") != NULL)
		rc = sim_arch_load(src_path(rel), &net, &err);
	else
		rc = sim_net_load(src_path(rel), &net, &err);
	ck_assert_msg(rc == 0, "%s", err.msg);
	return net;
}

static sim_result *
run(const sim_profile *p, const sim_net *net)
{
	h4h_err err = { "" };
	sim_result *r = NULL;

	ck_assert_msg(sim_run(p, net, NULL, &r, &err) == 0, "%s", err.msg);
	return r;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One CSV row of the Vela table as a one-layer JSON net. */
static int
row_net(char **f, char *json, size_t n)
{
	const char *op = f[2];
	int h = atoi(f[3]), w = atoi(f[4]), c = atoi(f[5]), oc = atoi(f[6]);
	int k = atoi(f[7]), s = atoi(f[8]);
	const char *act = f[9];

	if (strcmp(op, "conv") == 0 || strcmp(op, "pw") == 0)
		return snprintf(json, n, "{\"name\":\"r\",\"input\":[%d,%d,%d],"
		    "\"layers\":[{\"name\":\"l\",\"op\":\"conv\",\"kernel\":%d,"
		    "\"stride\":%d,\"out\":%d,\"act\":\"%s\"}]}", h, w, c, k, s,
		    oc, act);
	if (strcmp(op, "dw") == 0)
		return snprintf(json, n, "{\"name\":\"r\",\"input\":[%d,%d,%d],"
		    "\"layers\":[{\"name\":\"l\",\"op\":\"dwconv\",\"kernel\":%d,"
		    "\"stride\":%d,\"act\":\"%s\"}]}", h, w, c, k, s, act);
	if (strcmp(op, "fc") == 0)
		return snprintf(json, n, "{\"name\":\"r\",\"input\":[%d,%d,%d],"
		    "\"layers\":[{\"name\":\"l\",\"op\":\"fc\",\"out\":%d,"
		    "\"act\":\"%s\"}]}", h, w, c, oc, act);
	if (strcmp(op, "add") == 0)
		return snprintf(json, n, "{\"name\":\"r\",\"input\":[%d,%d,%d],"
		    "\"layers\":[{\"name\":\"a\",\"op\":\"relu\"},"
		    "{\"name\":\"l\",\"op\":\"add\",\"inputs\":[\"input\",\"a\"]}"
		    "]}", h, w, c);
	return -1;
}

/* Every row of a Vela table through the whole simulator on `system`, with
 * npu.macs set to the row's configuration; the layer's cycles against
 * Vela's Op Cycles.  Returns the median error, *worst the largest. */
static double
vela_table(const char *table, const char *system, int min_rows,
    double *worst_out, int *worst_line_out)
{
	FILE *fp = fopen(src_path(table), "r");
	char line[1024], json[1024];
	double *errs = NULL, worst = 0, median;
	int n = 0, worst_line = 0, lineno = 0;

	ck_assert_msg(fp != NULL, "cannot open %s", table);
	while (fgets(line, sizeof line, fp) != NULL) {
		char *f[32], *save = NULL, *tok;
		int nf = 0, macs;
		sim_profile p;
		sim_net *net;
		sim_result *r;
		h4h_err err = { "" };
		double est, got, e;
		char set[64];

		if (++lineno == 1)
			continue;
		for (tok = strtok_r(line, ",\n", &save); tok && nf < 32;
		    tok = strtok_r(NULL, ",\n", &save))
			f[nf++] = tok;
		ck_assert_int_ge(nf, 12);
		ck_assert(sscanf(f[0], "ethos-u55-%d", &macs) == 1);
		est = atof(f[11]);
		ck_assert(row_net(f, json, sizeof json) > 0);
		ck_assert_msg(sim_net_parse(json, "row", &net, &err) == 0,
		    "line %d: %s", lineno, err.msg);
		load_system(system, &p);
		snprintf(set, sizeof set, "npu.macs=%d", macs);
		ck_assert(sim_profile_set(&p, set, &err) == 0);
		/* An add row is the add alone: drop the helper relu. */
		r = run(&p, net);
		got = r->layers[r->n_layers - 1].cycles;
		e = fabs(got - est) / est;
		errs = realloc(errs, (size_t)(n + 1) * sizeof *errs);
		errs[n++] = e;
		if (e > worst) {
			worst = e;
			worst_line = lineno;
		}
		if (e > 0.15 || getenv("H4H_VELA_VERBOSE") != NULL)
			fprintf(stderr, "vela %s line %d: %s %sx%sx%s->%s k%s: "
			    "sim %.0f vela %.0f (%+.1f%%)\n", table, lineno,
			    f[2], f[3], f[4], f[5], f[6], f[7], got, est,
			    100 * (got - est) / est);
		sim_result_destroy(r);
		sim_net_destroy(net);
	}
	fclose(fp);
	qsort(errs, (size_t)n, sizeof *errs, cmp_double);
	median = errs[n / 2];
	fprintf(stderr, "vela %s: %d single-op networks, median error %.2f%%, "
	    "worst %.2f%% (line %d)\n", table, n, 100 * median, 100 * worst,
	    worst_line);
	ck_assert_int_ge(n, min_rows);
	free(errs);
	*worst_out = worst;
	*worst_line_out = worst_line;
	return median;
}

START_TEST(test_vela_single_ops)
{
	double worst, median;
	int line;

	median = vela_table("hwprofiles/reference/u55-vela-sram-only.csv",
	    "hwprofiles/system-npu-only.ini", 250, &worst, &line);
	ck_assert_msg(median <= 0.05, "median error %.2f%% > 5%%",
	    100 * median);
	ck_assert_msg(worst <= 0.15, "worst error %.2f%% > 15%% (line %d)",
	    100 * worst, line);
}
END_TEST

/* Shared_Sram (weights in flash, conv weights DMA'd): U55-256 rows. */
START_TEST(test_vela_shared_sram)
{
	double worst, median;
	int line;

	median = vela_table("hwprofiles/reference/"
	    "u55-vela-shared-sram-256.csv",
	    "hwprofiles/system-npu-only-shared-sram.ini", 120, &worst, &line);
	ck_assert_msg(median <= 0.05, "median error %.2f%% > 5%%",
	    100 * median);
	ck_assert_msg(worst <= 0.20, "worst error %.2f%% > 20%% (line %d)",
	    100 * worst, line);
}
END_TEST

START_TEST(test_zero_macros_is_npu_only)
{
	sim_profile a, b;
	sim_net *net = load_net("nets/hybrid_example.json");
	h4h_err err = { "" };
	sim_result *ra, *rb;

	load_system("hwprofiles/system-npu-only.ini", &a);
	load_system("hwprofiles/system-npu-8cim.ini", &b);
	ck_assert(sim_profile_set(&b, "cim.macros=0", &err) == 0);
	ra = run(&a, net);
	rb = run(&b, net);
	ck_assert_double_eq(ra->latency_s, rb->latency_s);
	ck_assert_double_eq(ra->energy_j, rb->energy_j);
	for (int i = 0; i < ra->n_layers; i++) {
		ck_assert_int_eq(rb->layers[i].cim_channels, 0);
		ck_assert_double_eq(rb->layers[i].npu_fraction, 1.0);
	}
	sim_result_destroy(ra);
	sim_result_destroy(rb);
	sim_net_destroy(net);
}
END_TEST

/* The latency (or, with `energy`, the energy under the energy objective)
 * under `key` = each value in turn never increases, and strictly falls at
 * least once: a stub returning a constant fails. */
static void
check_monotone(const char *net_rel, const char *base, const char *key,
    const char *const *values, int n, const char *extra, int energy)
{
	sim_net *net = load_net(net_rel);
	double prev = INFINITY, first = 0, v = 0;

	for (int i = 0; i < n; i++) {
		sim_profile p;
		h4h_err err = { "" };
		char set[128];
		sim_result *r;

		load_system(base, &p);
		if (extra != NULL)
			ck_assert_msg(sim_profile_set(&p, extra, &err) == 0,
			    "%s", err.msg);
		if (energy)
			p.part.objective = SIM_OBJ_ENERGY;
		snprintf(set, sizeof set, "%s=%s", key, values[i]);
		ck_assert_msg(sim_profile_set(&p, set, &err) == 0, "%s",
		    err.msg);
		r = run(&p, net);
		v = energy ? r->energy_j : r->latency_s;
		ck_assert_msg(v <= prev * (1 + 1e-12),
		    "%s: %s=%s gives %s %.6g, worse than %.6g", net_rel, key,
		    values[i], energy ? "energy" : "latency", v, prev);
		if (i == 0)
			first = v;
		prev = v;
		sim_result_destroy(r);
	}
	ck_assert_msg(v < first * (1 - 1e-9), "%s: %s from %s to %s never "
	    "lowers the %s (%.6g)", net_rel, key, values[0], values[n - 1],
	    energy ? "energy" : "latency", v);
	sim_net_destroy(net);
}

static const char *const NETS[] = { "nets/hybrid_example.json",
    "nets/mobilenet_v2.json", "nets/h4h-min.json", "nets/h4h-max.json" };
#define N_NETS 4

START_TEST(test_more_macros_never_slower)
{
	static const char *const v[] = { "0", "1", "2", "4", "8" };

	check_monotone(NETS[_i], "hwprofiles/system-npu-only.ini",
	    "cim.macros", v, 5, NULL, 0);
}
END_TEST

START_TEST(test_more_cus_never_slower)
{
	static const char *const v[] = { "1", "2", "4", "8" };

	check_monotone(NETS[_i], "hwprofiles/system-npu-1cim.ini",
	    "cim.cus_per_macro", v, 4, NULL, 0);
}
END_TEST

START_TEST(test_more_bandwidth_never_slower)
{
	static const char *const v[] = { "2", "4", "6", "8", "16" };

	check_monotone(NETS[_i], "hwprofiles/system-npu-4cim.ini",
	    "noc.bandwidth_gbps", v, 5, NULL, 0);
	check_monotone(NETS[_i], "hwprofiles/system-npu-only.ini",
	    "noc.bandwidth_gbps", v, 5, NULL, 0);
}
END_TEST

/* Idle macros are gated: under the energy objective another macro can only
 * help, on every shipped network (and does, somewhere). */
START_TEST(test_more_macros_never_more_energy)
{
	static const char *const v[] = { "0", "1", "2", "4", "8" };

	check_monotone(NETS[_i], "hwprofiles/system-npu-only.ini",
	    "cim.macros", v, 5, NULL, 1);
}
END_TEST

/* Without gating every macro leaks, used or not: eight idle-heavy macros
 * cost more static energy than the gated ones on the same splits. */
START_TEST(test_gating_saves_static_energy)
{
	sim_net *net = load_net("nets/mobilenet_v2.json");
	sim_profile on, off;
	sim_result *r_on, *r_off;

	load_system("hwprofiles/system-npu-8cim.ini", &on);
	off = on;
	off.cim.power_gating = 0;
	r_on = run(&on, net);
	r_off = run(&off, net);
	ck_assert(r_on->e_static_j < r_off->e_static_j);
	ck_assert(r_on->energy_j < r_off->energy_j);
	sim_result_destroy(r_on);
	sim_result_destroy(r_off);
	sim_net_destroy(net);
}
END_TEST

/* Vela's softmax moves int32 tensors over the NoC: more bandwidth makes it
 * strictly faster at every step. */
START_TEST(test_softmax_falls_with_bandwidth)
{
	static const char *const v[] = { "2", "4", "8", "16" };
	sim_net *net = load_net("nets/hybrid_example.json");
	double prev = INFINITY;
	int k = -1;

	for (int i = 0; i < net->n_layers; i++)
		if (net->layers[i].op == SIM_OP_SOFTMAX)
			k = i;
	ck_assert_int_ge(k, 0);
	for (int i = 0; i < 4; i++) {
		sim_profile p;
		h4h_err err = { "" };
		char set[64];
		sim_result *r;

		load_system("hwprofiles/system-npu-only.ini", &p);
		snprintf(set, sizeof set, "noc.bandwidth_gbps=%s", v[i]);
		ck_assert(sim_profile_set(&p, set, &err) == 0);
		r = run(&p, net);
		ck_assert_msg(r->layers[k].latency_s < prev, "softmax at %s "
		    "GB/s: %.6g s, not below %.6g s", v[i],
		    r->layers[k].latency_s, prev);
		prev = r->layers[k].latency_s;
		sim_result_destroy(r);
	}
	sim_net_destroy(net);
}
END_TEST

static sim_net *
parse_net(const char *json)
{
	h4h_err err = { "" };
	sim_net *net = NULL;

	ck_assert_msg(sim_net_parse(json, "test", &net, &err) == 0, "%s",
	    err.msg);
	return net;
}

/* A matmul runs one FULLY_CONNECTED per head, each filling and draining
 * its own pipeline: six heads take six times one head, to the picosecond
 * rounding of each run. */
START_TEST(test_heads_run_one_by_one)
{
	sim_net *one = parse_net("{\"name\":\"m\",\"input\":[14,14,48],"
	    "\"layers\":[{\"name\":\"qk\",\"op\":\"matmul\",\"heads\":1,"
	    "\"m\":196,\"k\":8,\"n\":196}]}");
	sim_net *six = parse_net("{\"name\":\"m\",\"input\":[14,14,48],"
	    "\"layers\":[{\"name\":\"qk\",\"op\":\"matmul\",\"heads\":6,"
	    "\"m\":196,\"k\":8,\"n\":196}]}");
	sim_profile p;
	sim_result *r1, *r6;

	load_system("hwprofiles/system-npu-only.ini", &p);
	r1 = run(&p, one);
	r6 = run(&p, six);
	ck_assert_msg(fabs(r6->latency_s - 6 * r1->latency_s) <=
	    6 * 2e-12, "6 heads %.9g s, one %.9g s", r6->latency_s,
	    r1->latency_s);
	sim_result_destroy(r1);
	sim_result_destroy(r6);
	sim_net_destroy(one);
	sim_net_destroy(six);
}
END_TEST

/* One layer on the single macro of a 4-CU system. */
static double
cim_latency(const char *json, const char *set)
{
	sim_net *net = parse_net(json);
	sim_profile p;
	h4h_err err = { "" };
	sim_result *r;
	double t;

	load_system("hwprofiles/system-npu-1cim-4cu.ini", &p);
	ck_assert(sim_profile_set(&p, "partition.granularity=4096", &err) ==
	    0);
	/* comma-separated key=value overrides */
	for (const char *s = set; s != NULL && *s != '\0';) {
		const char *comma = strchr(s, ',');
		char one[128];

		snprintf(one, sizeof one, "%.*s", comma ? (int)(comma - s) :
		    (int)strlen(s), s);
		ck_assert_msg(sim_profile_set(&p, one, &err) == 0, "%s",
		    err.msg);
		s = comma ? comma + 1 : NULL;
	}
	r = run(&p, net);
	ck_assert_msg(r->layers[0].cim_channels > 0, "%s ran on the NPU",
	    json);
	ck_assert_int_eq(r->layers[0].npu_channels, 0);
	t = r->layers[0].latency_s;
	sim_result_destroy(r);
	sim_net_destroy(net);
	return t;
}

#define DW_NET "{\"name\":\"d\",\"input\":[28,28,64],\"layers\":[{\"name\":" \
	"\"dw\",\"op\":\"dwconv\",\"kernel\":3}]}"
#define FC_NET "{\"name\":\"f\",\"input\":[1,1,1024],\"layers\":[{\"name\":" \
	"\"fc\",\"op\":\"fc\",\"out\":1024}]}"

/* With the IFMP read port the bottleneck, dedup saves time.  At 4 GB/s the
 * NoC hides any macro's depthwise compute, so the link is made fast enough
 * for the macro to show: 64 GB/s. */
START_TEST(test_dedup_off_slower_on_4cus)
{
	double on = cim_latency(DW_NET, "noc.bandwidth_gbps=64");
	double off = cim_latency(DW_NET,
	    "noc.bandwidth_gbps=64,cim.ifmp_dedup=false");

	ck_assert_msg(on < off, "dedup on %.6g s, off %.6g s", on, off);
}
END_TEST

/* An fc splits its output channels over the CUs. */
START_TEST(test_fc_faster_on_4cus)
{
	double four = cim_latency(FC_NET, NULL);
	double one = cim_latency(FC_NET, "cim.cus_per_macro=1");

	ck_assert_msg(four < one, "4 CUs %.6g s, 1 CU %.6g s", four, one);
}
END_TEST

START_TEST(test_json_byte_identical)
{
	sim_profile p;
	sim_net *net = load_net("nets/hybrid_example.json");
	sim_result *r1, *r2;
	char *j1, *j2;

	load_system("hwprofiles/system-npu-8cim.ini", &p);
	r1 = run(&p, net);
	r2 = run(&p, net);
	j1 = sim_result_json(&r1, 1);
	j2 = sim_result_json(&r2, 1);
	ck_assert_str_eq(j1, j2);
	ck_assert(strstr(j1, "\"latency_s\"") != NULL);
	ck_assert(strstr(j1, "\"npu_fraction\"") != NULL);
	free(j1);
	free(j2);
	sim_result_destroy(r1);
	sim_result_destroy(r2);
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_engine_reused)
{
	sim_profile p;
	sim_net *net = load_net("nets/hybrid_example.json");
	sim_engine *e;
	h4h_err err = { "" };
	double first = 0;

	load_system("hwprofiles/system-npu-4cim.ini", &p);
	ck_assert(sim_engine_create(&p, &e, &err) == 0);
	for (int i = 0; i < 20; i++) {
		sim_result *r;

		ck_assert_msg(sim_engine_run(e, net, NULL, NULL, &r, &err) == 0, "%s",
		    err.msg);
		if (i == 0)
			first = r->latency_s;
		ck_assert_double_eq(r->latency_s, first);
		ck_assert_int_gt(r->kernel_activations, 0);
		sim_result_destroy(r);
	}
	sim_engine_destroy(e);
	sim_net_destroy(net);
}
END_TEST

START_TEST(test_energy_components_add_up)
{
	sim_profile p;
	sim_net *net = load_net("nets/hybrid_example.json");
	sim_result *r;
	double sum = 0;

	load_system("hwprofiles/system-npu-8cim.ini", &p);
	r = run(&p, net);
	for (int i = 0; i < r->n_layers; i++) {
		const sim_layer_result *l = &r->layers[i];

		ck_assert(fabs(l->e_npu_j + l->e_cim_j + l->e_noc_j +
		    l->e_static_j - l->energy_j) <= 1e-12 * l->energy_j + 1e-18);
		ck_assert(l->npu_fraction >= 0 && l->npu_fraction <= 1);
		if (i > 0)
			ck_assert_uint_eq(l->start_ps, r->layers[i - 1].end_ps);
		sum += l->latency_s;
	}
	ck_assert(fabs(sum - r->latency_s) <= 1e-12 * r->latency_s);
	/* The paper's trend: 8 macros beat the NPU alone on this net. */
	{
		sim_profile q;
		sim_result *r0;

		load_system("hwprofiles/system-npu-only.ini", &q);
		r0 = run(&q, net);
		ck_assert(r->latency_s < r0->latency_s);
		sim_result_destroy(r0);
	}
	sim_result_destroy(r);
	sim_net_destroy(net);
}
END_TEST

static Suite *
sim_suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc = tcase_create("Vela");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_vela_single_ops);
	tcase_add_test(tc, test_vela_shared_sram);
	suite_add_tcase(s, tc);
	tc = tcase_create("Invariants");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_zero_macros_is_npu_only);
	tcase_add_loop_test(tc, test_more_macros_never_slower, 0, N_NETS);
	tcase_add_loop_test(tc, test_more_cus_never_slower, 0, N_NETS);
	tcase_add_loop_test(tc, test_more_bandwidth_never_slower, 0, N_NETS);
	tcase_add_loop_test(tc, test_more_macros_never_more_energy, 0, N_NETS);
	tcase_add_test(tc, test_gating_saves_static_energy);
	tcase_add_test(tc, test_softmax_falls_with_bandwidth);
	tcase_add_test(tc, test_heads_run_one_by_one);
	tcase_add_test(tc, test_dedup_off_slower_on_4cus);
	tcase_add_test(tc, test_fc_faster_on_4cus);
	tcase_add_test(tc, test_json_byte_identical);
	tcase_add_test(tc, test_engine_reused);
	tcase_add_test(tc, test_energy_components_add_up);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
