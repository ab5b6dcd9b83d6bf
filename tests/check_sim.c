/*
 * check_sim.c - whole-simulator tests (engine.c with every model).
 *
 * Vela: single-op networks on the NPU alone at 500 MHz, 4 GB/s, 32-cycle
 * latency against Vela 3.10's estimates (hwprofiles/reference/): median
 * error <= 5 %, worst <= 15 % (the acceptance bound).
 * Invariants: zero macros is the NPU-only result; more macros, CUs or
 * bandwidth never make the latency objective worse; equal input gives
 * byte-identical JSON; one engine runs many networks.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/arch.h"
#include "sim/sim.h"

static char path_buf[1024];

static const char *
src_path(const char *rel)
{
	const char *dir = getenv("H4H_SRCDIR");

	snprintf(path_buf, sizeof path_buf, "%s/%s", dir ? dir : ".", rel);
	return path_buf;
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

START_TEST(test_vela_single_ops)
{
	FILE *fp = fopen(src_path("hwprofiles/reference/"
	    "u55-vela-sram-only.csv"), "r");
	char line[1024], json[1024];
	double *errs = NULL, worst = 0;
	int n = 0, worst_line = 0, lineno = 0;

	ck_assert_msg(fp != NULL, "cannot open the Vela table");
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
		load_system("hwprofiles/system-npu-only.ini", &p);
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
		if (e > 0.15)
			fprintf(stderr, "vela line %d: %s %sx%sx%s->%s k%s: "
			    "sim %.0f vela %.0f (%+.1f%%)\n", lineno, f[2],
			    f[3], f[4], f[5], f[6], f[7], got, est,
			    100 * (got - est) / est);
		sim_result_destroy(r);
		sim_net_destroy(net);
	}
	fclose(fp);
	qsort(errs, (size_t)n, sizeof *errs, cmp_double);
	fprintf(stderr, "vela: %d single-op networks, median error %.2f%%, "
	    "worst %.2f%% (line %d)\n", n, 100 * errs[n / 2], 100 * worst,
	    worst_line);
	ck_assert_int_ge(n, 250);
	ck_assert_msg(errs[n / 2] <= 0.05, "median error %.2f%% > 5%%",
	    100 * errs[n / 2]);
	ck_assert_msg(worst <= 0.15, "worst error %.2f%% > 15%% (line %d)",
	    100 * worst, worst_line);
	free(errs);
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

/* Latency under `key` = each value in turn never increases. */
static void
check_monotone(const char *net_rel, const char *base, const char *key,
    const char *const *values, int n, const char *extra)
{
	sim_net *net = load_net(net_rel);
	double prev = INFINITY;

	for (int i = 0; i < n; i++) {
		sim_profile p;
		h4h_err err = { "" };
		char set[128];
		sim_result *r;

		load_system(base, &p);
		if (extra != NULL)
			ck_assert_msg(sim_profile_set(&p, extra, &err) == 0,
			    "%s", err.msg);
		snprintf(set, sizeof set, "%s=%s", key, values[i]);
		ck_assert_msg(sim_profile_set(&p, set, &err) == 0, "%s",
		    err.msg);
		r = run(&p, net);
		ck_assert_msg(r->latency_s <= prev * (1 + 1e-12),
		    "%s: %s=%s gives %.6g s, worse than %.6g s", net_rel, key,
		    values[i], r->latency_s, prev);
		prev = r->latency_s;
		sim_result_destroy(r);
	}
	sim_net_destroy(net);
}

static const char *const NETS[] = { "nets/hybrid_example.json",
    "nets/mobilenet_v2.json", "nets/h4h-min.json" };

START_TEST(test_more_macros_never_slower)
{
	static const char *const v[] = { "0", "1", "2", "4", "8" };

	check_monotone(NETS[_i], "hwprofiles/system-npu-only.ini",
	    "cim.macros", v, 5, NULL);
}
END_TEST

START_TEST(test_more_cus_never_slower)
{
	static const char *const v[] = { "1", "2", "4", "8" };

	check_monotone(NETS[_i], "hwprofiles/system-npu-1cim.ini",
	    "cim.cus_per_macro", v, 4, NULL);
}
END_TEST

START_TEST(test_more_bandwidth_never_slower)
{
	static const char *const v[] = { "2", "4", "6", "8", "16" };

	check_monotone(NETS[_i], "hwprofiles/system-npu-4cim.ini",
	    "noc.bandwidth_gbps", v, 5, NULL);
	check_monotone(NETS[_i], "hwprofiles/system-npu-only.ini",
	    "noc.bandwidth_gbps", v, 5, NULL);
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
	suite_add_tcase(s, tc);
	tc = tcase_create("Invariants");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_zero_macros_is_npu_only);
	tcase_add_loop_test(tc, test_more_macros_never_slower, 0, 3);
	tcase_add_loop_test(tc, test_more_cus_never_slower, 0, 3);
	tcase_add_loop_test(tc, test_more_bandwidth_never_slower, 0, 3);
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
