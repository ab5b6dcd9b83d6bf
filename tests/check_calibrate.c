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
 * Memory: on a table simulated at a hidden memory system (Shared_Sram,
 * U55-128, slower flash and NoC, an operator overhead: cal_memtable.h)
 * with 1 % noise, the memory knobs come back within 10 % (latencies 25 %)
 * and the 40 held-out rows within 3 % MAPE, where the default knobs alone
 * miss it; a knob no row depends on, and a block overhead beside an
 * operator overhead on one-block layers (only their sum counts), are
 * reported undetermined and kept at their start; the shipped Vela Shared_Sram table fits on the
 * shared_sram system with the default knobs and lowers the error.
 * Errors: bad CSV lines, NaN and non-positive measurements, unknown ops,
 * rows the simulator rejects (all with the line number), unknown knobs,
 * a fit stopped by the iteration limit (says so, keeps the best point), a
 * knob the table sets per row.
 */
#define _POSIX_C_SOURCE 200809L
#include "check_util.h"
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cal_memtable.h"
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
	double pred[4], cost = 0;

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
	/* The real reason, and the error did fall: the value returned is the
	 * point whose error is fit.cost. */
	ck_assert_msg(strstr(fit.status, "iteration limit") != NULL, "%s",
	    fit.status);
	ck_assert(fit.cost < fit.cost0);
	ck_assert(sim_cal_predict(t, fit.ids, fit.value, 1, rows, 4, pred, NULL,
	    &err) == 0);
	for (int i = 0; i < 4; i++) {
		double e = (pred[i] - t->rows[i].measured) /
		    t->rows[i].measured;

		cost += e * e;
	}
	ck_assert_msg(fabs(cost - fit.cost) <= 1e-12 * fit.cost, "%g != %g",
	    cost, fit.cost);
	/* A knob the table fixes per row cannot be fitted: it would
	 * override the condition the row was measured under. */
	{
		sim_cal_table *tb;
		int r2[2] = { 0, 1 };

		ck_assert_msg(try_table("op,in_h,in_w,in_c,out_c,kernel,stride,"
		    "act,bandwidth_gbps,measured_cycles\n"
		    "conv,14,14,32,32,3,1,relu,,3000\n"
		    "conv,14,14,32,32,3,1,relu,2,3500\n", &tb, &err) == 0,
		    "%s", err.msg);
		set_knobs(&fit, "npu.cycle_scale_conv,noc.bandwidth_gbps",
		    &base);
		ck_assert(sim_cal_fit_run(tb, r2, 2, &o, &fit, &err) ==
		    H4H_EINPUT);
		ck_assert_msg(strstr(err.msg, "knob noc.bandwidth_gbps cannot "
		    "be fitted: table '") != NULL && strstr(err.msg, "sets it "
		    "per row (column bandwidth_gbps, line 3)") != NULL, "%s",
		    err.msg);
		sim_cal_table_destroy(tb);
	}
	/* Fewer measurements than knobs is an input error. */
	set_knobs(&fit, "npu.cycle_scale_conv,npu.op_overhead_cycles,"
	    "npu.block_overhead_cycles", &base);
	ck_assert(sim_cal_fit_run(t, rows, 2, &o, &fit, &err) == H4H_EINPUT);
	ck_assert(strstr(err.msg, "cannot fit 3 knobs") != NULL);
	sim_cal_table_destroy(t);
}
END_TEST

/* ---- the memory system -------------------------------------------------- */

#define MEM_ROWS 120
#define MEM_FIT 80

/* The hidden-memory table of cal_memtable.h (seed 1, 1 % noise), loaded on
 * the shipped Shared_Sram profile with npu.macs = 128 (the board's known
 * configuration); *base gets that profile. */
static sim_cal_table *
memory_table(sim_profile *base)
{
	const char *dir = getenv("TMPDIR");
	char path[4096], set[128];
	sim_profile hidden;
	sim_cal_table *t = NULL;
	h4h_err err = { "" };
	int fd;

	ck_assert_msg(sim_profile_load(src_path("hwprofiles/"
	    "system-npu-only-shared-sram.ini"), base, &err) == 0, "%s",
	    err.msg);
	ck_assert(sim_profile_set(base, "npu.macs=128", &err) == 0);
	hidden = *base;
	for (int i = 0; i < CAL_MEM_N_HIDDEN; i++) {
		snprintf(set, sizeof set, "%s=%.17g", cal_mem_hidden[i].key,
		    cal_mem_hidden[i].value);
		ck_assert_msg(sim_profile_set(&hidden, set, &err) == 0, "%s",
		    err.msg);
	}
	snprintf(path, sizeof path, "%s/h4h-calmem-XXXXXX", dir ? dir : "/tmp");
	ck_assert((fd = mkstemp(path)) >= 0);
	close(fd);
	ck_assert_msg(cal_mem_table_write(path, &hidden, MEM_ROWS, 0.01, 1,
	    &err) == 0, "%s", err.msg);
	ck_assert_msg(sim_cal_table_load(path, base, NULL, &t, &err) == 0,
	    "%s", err.msg);
	unlink(path);
	return t;
}

/* MAPE of the held-out rows (MEM_FIT..MEM_ROWS) with fit's values. */
static double
held_out_mape(const sim_cal_table *t, const sim_cal_fit *fit)
{
	int val[MEM_ROWS - MEM_FIT];
	double pred[MEM_ROWS - MEM_FIT];
	sim_cal_stats st;
	h4h_err err = { "" };

	for (int i = 0; i < MEM_ROWS - MEM_FIT; i++)
		val[i] = MEM_FIT + i;
	ck_assert_msg(sim_cal_predict(t, fit->ids, fit->value, fit->n_knobs,
	    val, MEM_ROWS - MEM_FIT, pred, NULL, &err) == 0, "%s", err.msg);
	sim_cal_stats_compute(t, val, MEM_ROWS - MEM_FIT, pred, 0, &st);
	return st.mape[CAL_KIND_COUNT];
}

START_TEST(test_memory_recovers_hidden)
{
	sim_profile base;
	sim_cal_table *t = memory_table(&base);
	int rows[MEM_FIT];
	sim_cal_fit_opts o;
	sim_cal_fit fit, dflt;
	h4h_err err = { "" };
	double mape, mape_dflt;

	for (int i = 0; i < MEM_FIT; i++)
		rows[i] = i;
	sim_cal_fit_opts_default(&o);
	/* The default knobs alone cannot follow the memory system: the
	 * issue's 5.7 % held-out MAPE, here above the 3 % target. */
	memset(&dflt, 0, sizeof dflt);
	sim_cal_knobs_default(t, rows, MEM_FIT, dflt.ids, &dflt.n_knobs);
	for (int j = 0; j < dflt.n_knobs; j++)
		dflt.start[j] = sim_cal_knob_get(&base, dflt.ids[j]);
	ck_assert_msg(sim_cal_fit_run(t, rows, MEM_FIT, &o, &dflt, &err) == 0,
	    "%s", err.msg);
	mape_dflt = held_out_mape(t, &dflt);
	set_knobs(&fit, CAL_MEM_FIT, &base);
	ck_assert_msg(sim_cal_fit_run(t, rows, MEM_FIT, &o, &fit, &err) == 0,
	    "%s", err.msg);
	ck_assert(fit.cost < fit.cost0);
	ck_assert(fit.simplex_iterations == 0);
	mape = held_out_mape(t, &fit);
	fprintf(stderr, "memory: %s; held-out MAPE %.2f%% (default knobs "
	    "%.2f%%)\n", fit.status, 100 * mape, 100 * mape_dflt);
	for (int j = 0; j < fit.n_knobs; j++) {
		const char *k = sim_cal_knob_name(fit.ids[j]);
		double truth = 1, tol = 0.10, e;

		for (int i = 0; i < CAL_MEM_N_HIDDEN; i++)
			if (strcmp(cal_mem_hidden[i].key, k) == 0) {
				truth = cal_mem_hidden[i].value;
				tol = cal_mem_hidden[i].tol;
			}
		e = (fit.value[j] - truth) / truth;
		fprintf(stderr, "memory: %-28s hidden %-6g fitted %-10.6g "
		    "(%+.2f%%) +- %.3g%s%s\n", k, truth, fit.value[j], 100 * e,
		    fit.sigma[j], fit.undetermined[j] ? ", undetermined: " :
		    "", fit.undetermined[j] ? fit.why[j] : "");
		ck_assert_msg(fabs(e) <= tol, "%s: fitted %g, hidden %g", k,
		    fit.value[j], truth);
		/* Every knob the board hides is determined by this table,
		 * and its reported uncertainty covers the miss (3 sigma). */
		if (truth != 1) {
			ck_assert_msg(!fit.undetermined[j], "%s: %s", k,
			    fit.why[j]);
			ck_assert_msg(isfinite(fit.sigma[j]) && fit.sigma[j] >
			    0 && fabs(fit.value[j] - truth) <= 3 *
			    fit.sigma[j] + (fit.value[j] == round(fit.value[j])
			    ? 1 : 0), "%s: miss %g, sigma %g", k,
			    fit.value[j] - truth, fit.sigma[j]);
		}
	}
	ck_assert_msg(mape <= 0.03, "held-out MAPE %.2f%% > 3%%", 100 * mape);
	ck_assert_msg(mape_dflt > 0.03, "default knobs: held-out MAPE %.2f%%",
	    100 * mape_dflt);
	sim_cal_table_destroy(t);
}
END_TEST

START_TEST(test_memory_flat_directions)
{
	sim_profile base;
	sim_cal_table *t = memory_table(&base);
	int rows[MEM_FIT], wb = -1, comp = -1, fl = -1;
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	h4h_err err = { "" };

	for (int i = 0; i < MEM_FIT; i++)
		rows[i] = i;
	sim_cal_fit_opts_default(&o);
	/* Shared_Sram: the Sram_Only weight port carries nothing. */
	set_knobs(&fit, "npu.op_overhead_cycles,npu.weight_bandwidth_gbps,"
	    "npu.flash_bandwidth_gbps,npu.weight_compression", &base);
	ck_assert_msg(sim_cal_fit_run(t, rows, MEM_FIT, &o, &fit, &err) == 0,
	    "%s", err.msg);
	for (int j = 0; j < fit.n_knobs; j++) {
		const char *k = sim_cal_knob_name(fit.ids[j]);

		fprintf(stderr, "flat: %-28s %g -> %g +- %.3g%s%s\n", k,
		    fit.start[j], fit.value[j], fit.sigma[j],
		    fit.undetermined[j] ? ": " : "", fit.why[j]);
		if (strcmp(k, "npu.weight_bandwidth_gbps") == 0)
			wb = j;
		else if (strcmp(k, "npu.weight_compression") == 0)
			comp = j;
		else if (strcmp(k, "npu.flash_bandwidth_gbps") == 0)
			fl = j;
	}
	ck_assert(fit.undetermined[wb]);
	ck_assert(fit.value[wb] == fit.start[wb]);
	ck_assert(isnan(fit.sigma[wb]));
	ck_assert_msg(strstr(fit.why[wb], "anywhere in its bounds [0.05, 100]: "
	    "the table does not exercise it") != NULL,
	    "%s", fit.why[wb]);
	/* With conv and depthwise rows, whose weights are DMA'd through SRAM
	 * in slices sized by their compressed bytes, the model tells the
	 * compression from the flash bandwidth: both come back (the board's
	 * compression is the profile's). */
	ck_assert(!fit.undetermined[comp] && !fit.undetermined[fl]);
	ck_assert_msg(fabs(fit.value[fl] - 0.3) <= 0.03, "%g", fit.value[fl]);
	ck_assert_msg(fabs(fit.value[comp] - 0.862) <= 0.0862, "%g",
	    fit.value[comp]);
	sim_cal_table_destroy(t);
}
END_TEST

START_TEST(test_flat_combination)
{
	char *path = tmp_table(HEADER);
	sim_profile base, truth;
	sim_cal_table *t = NULL;
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	h4h_err err = { "" };
	int rows[24];
	double pred[24];
	FILE *f;
	int n = 0;

	/* Layers of one block each, measured (noise-free) with an operator
	 * overhead of 200 cycles: there a block overhead adds to each row
	 * exactly what an operator overhead does, so started with both at 0
	 * the trust region stops where only their sum is determined. */
	f = fopen(path, "w");
	ck_assert(f != NULL);
	fputs(HEADER, f);
	for (int c = 8; c <= 16; c += 8)
		for (int oc = 8; oc <= 16; oc += 8)
			for (int h = 2; h <= 6; h += 2) {
				fprintf(f, "conv,%d,%d,%d,%d,3,1,relu,1\n", h, h,
				    c, oc);
				fprintf(f, "pw,%d,%d,%d,%d,1,1,relu,1\n", h, h,
				    c, oc);
				n += 2;
			}
	fclose(f);
	load_system(&base);
	truth = base;
	ck_assert(sim_profile_set(&truth, "npu.op_overhead_cycles=200",
	    &err) == 0);
	ck_assert_msg(sim_cal_table_load(path, &truth, NULL, &t, &err) == 0,
	    "%s", err.msg);
	for (int i = 0; i < n; i++)
		rows[i] = i;
	ck_assert(sim_cal_predict(t, NULL, NULL, 0, rows, n, pred, NULL,
	    &err) == 0);
	for (int i = 0; i < n; i++)
		t->rows[i].measured = pred[i];
	set_knobs(&fit, "npu.block_overhead_cycles,npu.op_overhead_cycles",
	    &base);
	sim_cal_fit_opts_default(&o);
	o.simplex = 0;
	ck_assert_msg(sim_cal_fit_run(t, rows, n, &o, &fit, &err) == 0, "%s",
	    err.msg);
	fprintf(stderr, "combination: block %g (%s), op %g +- %.3g\n",
	    fit.value[0], fit.why[0], fit.value[1], fit.sigma[1]);
	ck_assert(fit.undetermined[0]);
	ck_assert(fit.value[0] == 0);
	ck_assert_msg(strstr(fit.why[0], "only a combination with "
	    "npu.op_overhead_cycles") != NULL, "%s", fit.why[0]);
	ck_assert(!fit.undetermined[1]);
	ck_assert_msg(fabs(fit.value[1] - 200) <= 2, "%g", fit.value[1]);
	unlink(path);
	free(path);
	sim_cal_table_destroy(t);
}
END_TEST

START_TEST(test_vela_shared_sram_fits)
{
	sim_profile base;
	sim_cal_table *t = NULL;
	int *rows;
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	h4h_err err = { "" };

	/* The issue: this stopped with "no step from the start reduces the
	 * error (0.1952 -> 0.1728)" and wrote nothing. */
	ck_assert_msg(sim_profile_load(src_path("hwprofiles/"
	    "system-npu-only-shared-sram.ini"), &base, &err) == 0, "%s",
	    err.msg);
	ck_assert_msg(sim_cal_table_load(src_path("hwprofiles/reference/"
	    "u55-vela-shared-sram-256.csv"), &base, NULL, &t, &err) == 0, "%s",
	    err.msg);
	rows = all_rows(t);
	memset(&fit, 0, sizeof fit);
	sim_cal_knobs_default(t, rows, t->n_rows, fit.ids, &fit.n_knobs);
	for (int j = 0; j < fit.n_knobs; j++)
		fit.start[j] = sim_cal_knob_get(&base, fit.ids[j]);
	sim_cal_fit_opts_default(&o);
	ck_assert_msg(sim_cal_fit_run(t, rows, t->n_rows, &o, &fit, &err) == 0,
	    "%s", err.msg);
	fprintf(stderr, "vela shared_sram: %s (%.4g -> %.4g)\n", fit.status,
	    fit.cost0, fit.cost);
	ck_assert(fit.cost < fit.cost0);
	ck_assert(strstr(fit.status, "from the start") == NULL);
	ck_assert(fit.converged || strstr(fit.status, "stopped") != NULL);
	free(rows);
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
	tc = tcase_create("Memory");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_memory_recovers_hidden);
	tcase_add_test(tc, test_memory_flat_directions);
	tcase_add_test(tc, test_flat_combination);
	tcase_add_test(tc, test_vela_shared_sram_fits);
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
