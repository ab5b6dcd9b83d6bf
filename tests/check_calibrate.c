/*
 * check_calibrate.c - calibration against measured tables (src/cost/calibrate/).
 *
 * Core: the fit recovers the known knob values of the synthetic table
 * (hwprofiles/tables/synthetic-u55.csv, made by gen_synthetic.sh with +-1 %
 * noise) within 2 %; fitted on the U55-256 rows of the shipped Vela table
 * it predicts the U55-128 rows within 10 % MAPE (the acceptance
 * bound); a profile dumped with the fitted knobs and loaded back predicts
 * every row bit for bit as the fit did; a cycle scale only moves its own op
 * kind (the Jacobian's sparsity relies on it); cross-validation is
 * deterministic for a seed.
 * Limits: unknown columns kept, quoted fields, CRLF and blank lines,
 * per-row conditions, latency tables.
 * Errors: bad CSV lines, NaN and non-positive measurements, unknown ops,
 * rows the simulator rejects (all with the line number), unknown knobs,
 * a fit that cannot converge.
 */
#define _POSIX_C_SOURCE 200809L
#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic.h"
#include "cost/calibrate/calibrate.h"
#include "sim/sim.h"

static char path_buf[1024];

static const char *
src_path(const char *rel)
{
	return tu_src_path(path_buf, sizeof path_buf, rel);
}

static void
load_system(sim_profile *p)
{
	h4h_err err = { "" };

	ck_assert_msg(sim_profile_load(src_path("hwprofiles/"
	    "system-npu-only.ini"), p, &err) == 0, "%s", err.msg);
}

static sim_cal_table *
load_table(const char *rel)
{
	sim_profile base;
	sim_cal_table *t = NULL;
	h4h_err err = { "" };

	load_system(&base);
	ck_assert_msg(sim_cal_table_load(src_path(rel), &base, NULL, &t,
	    &err) == 0, "%s", err.msg);
	return t;
}

/* A temporary table with the given text; the caller unlinks it. */
static char *
tmp_table(const char *text)
{
	const char *dir = getenv("TMPDIR");
	char *path = malloc(4096);
	FILE *f;
	int fd;

	snprintf(path, 4096, "%s/h4h-cal-XXXXXX", dir ? dir : "/tmp");
	fd = mkstemp(path);
	ck_assert(fd >= 0);
	f = fdopen(fd, "w");
	ck_assert(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as a table: returns the rc, err holds the message. */
static int
try_table(const char *text, sim_cal_table **t, h4h_err *err)
{
	char *path = tmp_table(text);
	sim_profile base;
	int rc;

	load_system(&base);
	*t = NULL;
	rc = sim_cal_table_load(path, &base, NULL, t, err);
	unlink(path);
	free(path);
	return rc;
}

static int *
all_rows(const sim_cal_table *t)
{
	int *rows = malloc((size_t)t->n_rows * sizeof *rows);

	for (int i = 0; i < t->n_rows; i++)
		rows[i] = i;
	return rows;
}

static void
set_knobs(sim_cal_fit *fit, const char *list, const sim_profile *base)
{
	h4h_err err = { "" };

	memset(fit, 0, sizeof *fit);
	ck_assert_msg(sim_cal_knobs_parse(list, fit->ids, &fit->n_knobs,
	    &err) == 0, "%s", err.msg);
	for (int j = 0; j < fit->n_knobs; j++)
		fit->start[j] = sim_cal_knob_get(base, fit->ids[j]);
}

#define HEADER "op,in_h,in_w,in_c,out_c,kernel,stride,act,measured_cycles\n"

START_TEST(test_synthetic_recovers_knobs)
{
	/* The values gen_synthetic.sh simulated with (README.md). */
	static const struct { const char *key; double truth; } truth[] = {
		{ "npu.cycle_scale_conv", 1.15 },
		{ "npu.cycle_scale_pwconv", 0.9 },
		{ "npu.cycle_scale_dwconv", 1.25 },
		{ "npu.cycle_scale_fc", 1.1 },
		{ "npu.cycle_scale_pool", 1.3 },
		{ "npu.cycle_scale_elementwise", 1.2 },
		{ "npu.op_overhead_cycles", 300 },
		{ "cim.mac_cycle_scale", 1.2 },
		{ "npu.e_mac_pj", 0.1 },
	};
	sim_cal_table *t = load_table("hwprofiles/tables/synthetic-u55.csv");
	int *rows = all_rows(t);
	char list[1024] = "";
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	sim_profile base;
	h4h_err err = { "" };

	load_system(&base);
	for (size_t i = 0; i < sizeof truth / sizeof truth[0]; i++) {
		strcat(list, i ? "," : "");
		strcat(list, truth[i].key);
	}
	set_knobs(&fit, list, &base);
	sim_cal_fit_opts_default(&o);
	ck_assert_msg(sim_cal_fit_run(t, rows, t->n_rows, &o, &fit, &err) == 0,
	    "%s", err.msg);
	ck_assert_msg(fit.converged, "%s", fit.status);
	ck_assert(fit.energy);
	ck_assert_int_eq(fit.n_residuals, 2 * t->n_rows);
	ck_assert(fit.cost < fit.cost0);
	for (int j = 0; j < fit.n_knobs; j++) {
		double e = (fit.value[j] - truth[j].truth) / truth[j].truth;

		fprintf(stderr, "synthetic: %-28s true %-6g fitted %-10.6g "
		    "(%+.2f%%)\n", sim_cal_knob_name(fit.ids[j]),
		    truth[j].truth, fit.value[j], 100 * e);
		ck_assert_msg(fabs(e) <= 0.02, "%s: fitted %g, true %g",
		    sim_cal_knob_name(fit.ids[j]), fit.value[j],
		    truth[j].truth);
	}
	free(rows);
	sim_cal_table_destroy(t);
}
END_TEST

/* Rows of t whose accel_config is `accel`. */
static int *
accel_rows(const sim_cal_table *t, const char *accel, int *n)
{
	int col = sim_cal_table_col(t, "accel_config");
	int *rows = malloc((size_t)t->n_rows * sizeof *rows);

	ck_assert_int_ge(col, 0);
	*n = 0;
	for (int i = 0; i < t->n_rows; i++)
		if (strcmp(t->rows[i].fields[col], accel) == 0)
			rows[(*n)++] = i;
	return rows;
}

START_TEST(test_vela_256_predicts_128)
{
	sim_cal_table *t = load_table("hwprofiles/reference/"
	    "u55-vela-sram-only.csv");
	int n_fit, n_val, *fit_rows, *val_rows;
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	sim_cal_stats s0, s1;
	sim_profile base;
	double *pred;
	h4h_err err = { "" };

	/* The Vela table's measurement is its estimate, picked by name. */
	ck_assert_str_eq(t->cols[t->measured_col], "est_cycles");
	ck_assert(!t->latency);
	load_system(&base);
	fit_rows = accel_rows(t, "ethos-u55-256", &n_fit);
	val_rows = accel_rows(t, "ethos-u55-128", &n_val);
	ck_assert_int_ge(n_fit, 100);
	ck_assert_int_ge(n_val, 100);
	memset(&fit, 0, sizeof fit);
	sim_cal_knobs_default(t, fit_rows, n_fit, fit.ids, &fit.n_knobs);
	ck_assert_int_ge(fit.n_knobs, 5);	/* conv pw dw fc add + overhead */
	for (int j = 0; j < fit.n_knobs; j++)
		fit.start[j] = sim_cal_knob_get(&base, fit.ids[j]);
	sim_cal_fit_opts_default(&o);
	ck_assert_msg(sim_cal_fit_run(t, fit_rows, n_fit, &o, &fit, &err) == 0,
	    "%s", err.msg);
	ck_assert_msg(fit.converged, "%s", fit.status);
	ck_assert(fit.cost <= fit.cost0);
	pred = malloc((size_t)n_val * sizeof *pred);
	ck_assert(sim_cal_predict(t, fit.ids, fit.start, fit.n_knobs, val_rows,
	    n_val, pred, NULL, &err) == 0);
	sim_cal_stats_compute(t, val_rows, n_val, pred, 0, &s0);
	ck_assert(sim_cal_predict(t, fit.ids, fit.value, fit.n_knobs, val_rows,
	    n_val, pred, NULL, &err) == 0);
	sim_cal_stats_compute(t, val_rows, n_val, pred, 0, &s1);
	fprintf(stderr, "vela: fitted %d knobs on %d U55-256 rows (%s, %d "
	    "iterations); U55-128 validation MAPE %.2f%% (before %.2f%%), "
	    "worst %.2f%% (line %d)\n", fit.n_knobs, n_fit, fit.status,
	    fit.iterations, 100 * s1.mape[CAL_KIND_COUNT],
	    100 * s0.mape[CAL_KIND_COUNT], 100 * s1.worst[CAL_KIND_COUNT],
	    s1.worst_line[CAL_KIND_COUNT]);
	ck_assert_int_eq(s1.n[CAL_KIND_COUNT], n_val);
	ck_assert_msg(s1.mape[CAL_KIND_COUNT] <= 0.10, "validation MAPE "
	    "%.2f%% > 10%%", 100 * s1.mape[CAL_KIND_COUNT]);
	free(pred);
	free(fit_rows);
	free(val_rows);
	sim_cal_table_destroy(t);
}
END_TEST

static void
dump_to(FILE *f, const void *ctx)
{
	fputs("; a calibrated profile: comment lines first\n", f);
	sim_profile_dump(ctx, f);
}

START_TEST(test_written_profile_reproduces)
{
	sim_cal_table *t = load_table("hwprofiles/tables/synthetic-u55.csv");
	int *rows = all_rows(t);
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	sim_profile base, prof, back;
	double *pred = malloc((size_t)t->n_rows * sizeof *pred);
	char *path = tmp_table("");
	h4h_err err = { "" };

	load_system(&base);
	set_knobs(&fit, "npu.cycle_scale_conv,npu.cycle_scale_fc,"
	    "npu.op_overhead_cycles", &base);
	sim_cal_fit_opts_default(&o);
	o.max_iter = 5;		/* converged or not, the values are what count */
	ck_assert(sim_cal_fit_run(t, rows, t->n_rows, &o, &fit, &err) == 0);
	ck_assert(sim_cal_predict(t, fit.ids, fit.value, fit.n_knobs, rows,
	    t->n_rows, pred, NULL, &err) == 0);
	prof = base;
	ck_assert(sim_cal_knobs_apply(&prof, fit.ids, fit.value, fit.n_knobs,
	    &err) == 0);
	ck_assert(h4h_write_atomic(path, "profile", dump_to, &prof, &err) == 0);
	ck_assert_msg(sim_profile_load(path, &back, &err) == 0, "%s", err.msg);
	for (int j = 0; j < fit.n_knobs; j++)
		ck_assert(sim_cal_knob_get(&back, fit.ids[j]) == fit.value[j]);
	/* Each row on the loaded profile, with the row's conditions. */
	for (int i = 0; i < t->n_rows; i++) {
		const sim_cal_row *r = &t->rows[i];
		sim_profile p = back;
		sim_result *res;
		char set[64];

		snprintf(set, sizeof set, "npu.macs=%d", r->profile.npu.macs);
		ck_assert(sim_profile_set(&p, set, &err) == 0);
		snprintf(set, sizeof set, "cim.macros=%d", r->profile.cim.macros);
		ck_assert(sim_profile_set(&p, set, &err) == 0);
		snprintf(set, sizeof set, "cim.cus_per_macro=%d",
		    r->profile.cim.cus_per_macro);
		ck_assert(sim_profile_set(&p, set, &err) == 0);
		ck_assert(sim_run(&p, r->net, NULL, &res, &err) == 0);
		ck_assert_msg(res->layers[res->n_layers - 1].cycles == pred[i],
		    "line %d: %.17g != %.17g", r->line,
		    res->layers[res->n_layers - 1].cycles, pred[i]);
		sim_result_destroy(res);
	}
	unlink(path);
	free(path);
	free(pred);
	free(rows);
	sim_cal_table_destroy(t);
}
END_TEST

/* fit.c re-simulates only a scale's own kind in the Jacobian. */
START_TEST(test_scale_moves_only_its_kind)
{
	sim_cal_table *t = load_table("hwprofiles/tables/synthetic-u55.csv");
	int *rows = all_rows(t), changed[CAL_KIND_COUNT];
	double *p0 = malloc((size_t)t->n_rows * sizeof *p0);
	double *p1 = malloc((size_t)t->n_rows * sizeof *p1);
	static const struct { const char *knob; int kind; } cases[] = {
		{ "npu.cycle_scale_conv", CAL_KIND_CONV },
		{ "npu.cycle_scale_pwconv", CAL_KIND_PW },
		{ "npu.cycle_scale_dwconv", CAL_KIND_DW },
		{ "npu.cycle_scale_fc", CAL_KIND_FC },
		{ "npu.cycle_scale_pool", CAL_KIND_POOL },
		{ "npu.cycle_scale_elementwise", CAL_KIND_ADD },
	};
	h4h_err err = { "" };

	ck_assert(sim_cal_predict(t, NULL, NULL, 0, rows, t->n_rows, p0, NULL,
	    &err) == 0);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		int id, n;
		double v = 3;

		ck_assert(sim_cal_knobs_parse(cases[c].knob, &id, &n, &err) ==
		    0);
		ck_assert(sim_cal_predict(t, &id, &v, 1, rows, t->n_rows, p1,
		    NULL, &err) == 0);
		memset(changed, 0, sizeof changed);
		for (int i = 0; i < t->n_rows; i++)
			if (p1[i] != p0[i])
				changed[t->rows[i].kind]++;
		for (int k = 0; k < CAL_KIND_COUNT; k++)
			if (k == cases[c].kind)
				ck_assert_msg(changed[k] > 0, "%s moves no %s "
				    "row", cases[c].knob, sim_cal_kind_name(k));
			else
				ck_assert_msg(changed[k] == 0, "%s moves %d %s "
				    "rows", cases[c].knob, changed[k],
				    sim_cal_kind_name(k));
	}
	free(p0);
	free(p1);
	free(rows);
	sim_cal_table_destroy(t);
}
END_TEST

START_TEST(test_cv_deterministic)
{
	sim_cal_table *t = load_table("hwprofiles/tables/synthetic-u55.csv");
	int *rows = all_rows(t), bad1, bad2;
	double f1[4], f2[4], m1, m2;
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	sim_profile base;
	h4h_err err = { "" };

	load_system(&base);
	set_knobs(&fit, "npu.cycle_scale_conv,npu.cycle_scale_dwconv", &base);
	sim_cal_fit_opts_default(&o);
	ck_assert(sim_cal_cv(t, rows, t->n_rows, &o, &fit, 4, 7, f1, &m1, &bad1,
	    &err) == 0);
	ck_assert(sim_cal_cv(t, rows, t->n_rows, &o, &fit, 4, 7, f2, &m2, &bad2,
	    &err) == 0);
	for (int i = 0; i < 4; i++)
		ck_assert(f1[i] == f2[i]);
	ck_assert(m1 == m2 && m1 > 0 && m1 < 1);
	ck_assert(sim_cal_cv(t, rows, t->n_rows, &o, &fit, 1, 7, f1, &m1, &bad1,
	    &err) != 0);
	ck_assert(strstr(err.msg, "2 <= k") != NULL);
	free(rows);
	sim_cal_table_destroy(t);
}
END_TEST

START_TEST(test_table_format)
{
	sim_cal_table *t;
	h4h_err err = { "" };
	double pred[3];
	int rows[3] = { 0, 1, 2 };

	/* Unknown columns are kept; quotes, CRLF and blank lines are fine;
	 * conditions apply per row. */
	ck_assert_msg(try_table("op,note,in_h,in_w,in_c,out_c,kernel,stride,"
	    "npu_macs,measured_cycles\r\n"
	    "conv,\"a, quoted note\",14,14,32,32,3,1,256,10000\r\n"
	    "\r\n"
	    "conv,x,14,14,32,32,3,1,64,10000\r\n"
	    "add,y,14,14,32,,0,0,256,800\r\n", &t, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(t->n_rows, 3);
	ck_assert_int_eq(t->rows[1].line, 4);
	ck_assert_str_eq(t->rows[0].fields[sim_cal_table_col(t, "note")],
	    "a, quoted note");
	ck_assert_int_eq(t->rows[0].profile.npu.macs, 256);
	ck_assert_int_eq(t->rows[1].profile.npu.macs, 64);
	ck_assert_int_eq(t->rows[2].kind, CAL_KIND_ADD);
	ck_assert(sim_cal_predict(t, NULL, NULL, 0, rows, 3, pred, NULL,
	    &err) == 0);
	ck_assert(pred[1] > 3 * pred[0]);	/* 64 MACs/cycle vs 256 */
	sim_cal_table_destroy(t);

	/* A latency table predicts seconds; a kernel-1 conv is a pw row. */
	ck_assert_msg(try_table("op,in_h,in_w,in_c,out_c,kernel,stride,"
	    "clock_mhz,measured_latency_s\n"
	    "conv,14,14,32,32,1,1,250,1e-5\n"
	    "conv,14,14,32,32,1,1,500,1e-5\n", &t, &err) == 0, "%s", err.msg);
	ck_assert(t->latency);
	ck_assert_int_eq(t->rows[0].kind, CAL_KIND_PW);
	ck_assert(sim_cal_predict(t, NULL, NULL, 0, rows, 2, pred, NULL,
	    &err) == 0);
	ck_assert(pred[0] > 1e-7 && pred[0] < 1e-3);
	ck_assert(pred[0] > 1.5 * pred[1]);	/* half the clock */
	sim_cal_table_destroy(t);
}
END_TEST

/* Each bad table and the words its message must hold. */
static const struct {
	const char *text;
	const char *want[3];
} bad_tables[] = {
	{ HEADER "conv,14,14,32,32,3,1,relu,100\nconv,14,14,32,32,3\n",
	  { "line 3", "6 fields", "header has 9" } },
	{ HEADER "conv,14,14,32,32,3,1,relu,nan\n",
	  { "line 2", "measured_cycles", "not a finite number" } },
	{ HEADER "conv,14,14,32,32,3,1,relu,100\nconv,14,14,32,32,3,1,relu,"
	  "-5\n", { "line 3", "measured_cycles", "> 0" } },
	{ HEADER "conv,14,14,32,32,3,1,relu,0\n", { "line 2", "> 0", "" } },
	{ HEADER "conv,14,14,32,32,3,1,relu,\n",
	  { "line 2", "no measurement", "" } },
	{ HEADER "conv,14,14,x,32,3,1,relu,100\n",
	  { "line 2", "in_c", "'x'" } },
	{ HEADER "gemm,14,14,32,32,3,1,relu,100\n",
	  { "line 2", "unknown op 'gemm'", "" } },
	{ HEADER "conv,14,14,32,32,3,1,tanh,100\n",
	  { "line 2", "unknown act 'tanh'", "" } },
	{ HEADER "pw,14,14,32,32,3,1,relu,100\n",
	  { "line 2", "kernel 1", "" } },
	{ "op,in_h,in_w,in_c,out_c,kernel,stride,npu_macs,measured_cycles\n"
	  "conv,14,14,32,32,3,1,96,100\n", { "line 2", "npu.macs", "96" } },
	{ "op,in_h,in_w,in_c,out_c,kernel,stride,accel_config,est_cycles\n"
	  "conv,14,14,32,32,3,1,ethos-u65-256,100\n",
	  { "line 2", "accel_config", "ethos-u65-256" } },
	{ "op,in_h,in_w,in_c,out_c,kernel,stride,npu.bogus,measured_cycles\n"
	  "conv,14,14,32,32,3,1,1,100\n", { "line 2", "npu.bogus", "" } },
	{ "op,in_h,in_w,in_c,out_c,kernel,measured_cycles\n"
	  "conv,14,14,32,32,3,100\n", { "no 'stride' column", "", "" } },
	{ "op,in_h,in_w,in_c,out_c,kernel,stride,cycles\n"
	  "conv,14,14,32,32,3,1,100\n", { "no measured_cycles", "", "" } },
	{ HEADER "conv,14,14,32,32,3,1,\"relu,100\n",
	  { "line 2", "unterminated quote", "" } },
	{ HEADER, { "no rows", "", "" } },
	{ "", { "empty", "", "" } },
	{ HEADER "conv,14,14,32,32,99,1,relu,100\n",
	  { "line 2", "kernel", "99" } },
};

START_TEST(test_bad_table)
{
	sim_cal_table *t;
	h4h_err err = { "" };
	int rc = try_table(bad_tables[_i].text, &t, &err);

	ck_assert_msg(rc == H4H_EINPUT, "table %d: rc %d", _i, rc);
	ck_assert(t == NULL);
	for (int w = 0; w < 3; w++)
		ck_assert_msg(strstr(err.msg, bad_tables[_i].want[w]) != NULL,
		    "table %d: '%s' lacks '%s'", _i, err.msg,
		    bad_tables[_i].want[w]);
	ck_assert(strstr(err.msg, "h4h-cal-") != NULL);	/* names the file */
}
END_TEST

START_TEST(test_bad_knobs)
{
	int ids[CAL_MAX_KNOBS], n;
	h4h_err err = { "" };

	ck_assert(sim_cal_knobs_parse("npu.cycle_scale_conv,npu.warp_factor",
	    ids, &n, &err) == H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "unknown knob 'npu.warp_factor'") !=
	    NULL, "%s", err.msg);
	ck_assert(sim_cal_knobs_parse("npu.clock_mhz", ids, &n, &err) ==
	    H4H_EINPUT);
	ck_assert_msg(strstr(err.msg, "'npu.clock_mhz' is a profile key but "
	    "not a calibration knob") != NULL, "%s", err.msg);
	ck_assert(sim_cal_knobs_parse("cim.mac_cycle_scale,cim.mac_cycle_scale",
	    ids, &n, &err) == H4H_EINPUT);
	ck_assert(strstr(err.msg, "twice") != NULL);
	ck_assert(sim_cal_knobs_parse("npu.cycle_scale_fc,", ids, &n, &err) ==
	    H4H_EINPUT);
	ck_assert(sim_cal_knobs_parse(" npu.cycle_scale_fc , npu.e_mac_pj", ids,
	    &n, &err) == 0);
	ck_assert_int_eq(n, 2);
	ck_assert(!sim_cal_knob_is_energy(ids[0]));
	ck_assert(sim_cal_knob_is_energy(ids[1]));
}
END_TEST

START_TEST(test_fit_does_not_converge)
{
	sim_cal_table *t;
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	sim_profile base;
	h4h_err err = { "" };
	int rows[4] = { 0, 1, 2, 3 };

	/* Equal layers "measured" 10x apart: one iteration cannot settle
	 * the compromise. */
	ck_assert_msg(try_table(HEADER
	    "conv,14,14,32,32,3,1,relu,3000\n"
	    "conv,14,14,32,32,3,1,relu,30000\n"
	    "conv,28,28,32,32,3,1,relu,12000\n"
	    "conv,28,28,32,32,3,1,relu,120000\n", &t, &err) == 0, "%s",
	    err.msg);
	load_system(&base);
	set_knobs(&fit, "npu.cycle_scale_conv", &base);
	sim_cal_fit_opts_default(&o);
	o.max_iter = 1;
	ck_assert(sim_cal_fit_run(t, rows, 4, &o, &fit, &err) == 0);
	ck_assert_msg(!fit.converged, "%s", fit.status);
	ck_assert(fit.status[0] != '\0');
	/* Fewer measurements than knobs is an input error. */
	set_knobs(&fit, "npu.cycle_scale_conv,npu.op_overhead_cycles,"
	    "npu.block_overhead_cycles", &base);
	ck_assert(sim_cal_fit_run(t, rows, 2, &o, &fit, &err) == H4H_EINPUT);
	ck_assert(strstr(err.msg, "cannot fit 3 knobs") != NULL);
	sim_cal_table_destroy(t);
}
END_TEST

static Suite *
calibrate_suite(void)
{
	Suite *s = suite_create("calibrate");
	TCase *tc = tcase_create("Core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_synthetic_recovers_knobs);
	tcase_add_test(tc, test_vela_256_predicts_128);
	tcase_add_test(tc, test_written_profile_reproduces);
	tcase_add_test(tc, test_scale_moves_only_its_kind);
	tcase_add_test(tc, test_cv_deterministic);
	suite_add_tcase(s, tc);
	tc = tcase_create("Limits");
	tcase_add_test(tc, test_table_format);
	suite_add_tcase(s, tc);
	tc = tcase_create("Errors");
	tcase_add_loop_test(tc, test_bad_table, 0,
	    (int)(sizeof bad_tables / sizeof bad_tables[0]));
	tcase_add_test(tc, test_bad_knobs);
	tcase_add_test(tc, test_fit_does_not_converge);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(calibrate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
