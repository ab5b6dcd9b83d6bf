/*
 * bench_calibrate.c - `make bench-calibrate`: how well `h4h calibrate`
 * recovers a hidden memory system (doc/calibration.md, "Fitting the memory
 * system").
 *
 * For each seed, a 120-row table is simulated on the hidden board of
 * tests/cal_memtable.h (Shared_Sram, U55-128, slower flash and NoC, an
 * operator overhead) with 1 % Gaussian noise; the first 80 rows are
 * fitted from the shipped profile's values, the last 40 are held out.
 * Five fits are compared: the default knobs alone (what calibrate did
 * before the memory knobs), the memory knobs with the trust region and its
 * probes alone (the default), and with the derivative-free stage first
 * (--simplex on); then both again from a far start, every memory value 4x
 * off the board's.  Printed: each knob's error against its
 * hidden value and its reported standard deviation, the fitted and
 * held-out MAPE, the worst held-out error, row simulations and time.
 *
 * Reads hwprofiles/ under $H4H_SRCDIR (default ".").  Never fails on a
 * figure: the targets are held by tests/check_calibrate.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tests/cal_memtable.h"
#include "core/clock.h"
#include "sim/sim.h"

#define N_ROWS 120
#define N_FIT 80
#define NOISE 0.01

static char path_buf[1024];

static const char *
src(const char *rel)
{
	const char *dir = getenv("H4H_SRCDIR");

	snprintf(path_buf, sizeof path_buf, "%s/%s", dir ? dir : ".", rel);
	return path_buf;
}

static void
die(const char *what, const h4h_err *err)
{
	fprintf(stderr, "bench_calibrate: %s: %s\n", what, err->msg);
	exit(1);
}

static double
hidden_value(const char *key, int *found, double *tol)
{
	for (int i = 0; i < CAL_MEM_N_HIDDEN; i++)
		if (strcmp(cal_mem_hidden[i].key, key) == 0) {
			*found = 1;
			*tol = cal_mem_hidden[i].tol;
			return cal_mem_hidden[i].value;
		}
	*found = 0;
	*tol = 0.10;
	return 1;	/* the cycle scales: neutral on the board */
}

static void
run(const char *label, const sim_cal_table *t, const sim_profile *base,
    const char *knobs, int simplex)
{
	int rows[N_ROWS], val[N_ROWS - N_FIT], miss = 0;
	double pred[N_ROWS], t0;
	sim_cal_fit_opts o;
	sim_cal_fit fit;
	sim_cal_stats sf, sv;
	h4h_err err = { "" };

	for (int i = 0; i < N_ROWS; i++)
		rows[i] = i;
	for (int i = 0; i < N_ROWS - N_FIT; i++)
		val[i] = N_FIT + i;
	memset(&fit, 0, sizeof fit);
	if (knobs == NULL)
		sim_cal_knobs_default(t, rows, N_FIT, fit.ids, &fit.n_knobs);
	else if (sim_cal_knobs_parse(knobs, fit.ids, &fit.n_knobs, &err) != 0)
		die("knobs", &err);
	for (int j = 0; j < fit.n_knobs; j++)
		fit.start[j] = sim_cal_knob_get(base, fit.ids[j]);
	sim_cal_fit_opts_default(&o);
	o.simplex = simplex;
	t0 = h4h_now_s();
	if (sim_cal_fit_run(t, rows, N_FIT, &o, &fit, &err) != 0)
		die("fit", &err);
	t0 = h4h_now_s() - t0;
	if (sim_cal_predict(t, fit.ids, fit.value, fit.n_knobs, rows, N_FIT,
	    pred, NULL, &err) != 0)
		die("predict", &err);
	sim_cal_stats_compute(t, rows, N_FIT, pred, 0, &sf);
	if (sim_cal_predict(t, fit.ids, fit.value, fit.n_knobs, val,
	    N_ROWS - N_FIT, pred, NULL, &err) != 0)
		die("predict", &err);
	sim_cal_stats_compute(t, val, N_ROWS - N_FIT, pred, 0, &sv);
	printf("  %s: %s\n", label, fit.status);
	for (int j = 0; j < fit.n_knobs; j++) {
		const char *k = sim_cal_knob_name(fit.ids[j]);
		int hid;
		double tol, h = hidden_value(k, &hid, &tol);
		double e = (fit.value[j] - h) / h;

		miss += fabs(e) > tol;
		printf("    %-28s hidden %-6g fitted %-10.5g error %+7.2f%%  "
		    "sigma %s%.3g%s\n", k, h, fit.value[j], 100 * e,
		    fit.undetermined[j] ? "(undetermined) " : "",
		    fit.sigma[j], fabs(e) > tol ? "  MISSED" : "");
	}
	for (int j = 0; j < fit.n_knobs; j++)
		if (fit.undetermined[j])
			printf("    %s undetermined: %s\n",
			    sim_cal_knob_name(fit.ids[j]), fit.why[j]);
	printf("    fit MAPE %.2f%%, held-out MAPE %.2f%% (worst %.2f%%), "
	    "%d knob%s outside the target, %d simplex + %d trust-region "
	    "iterations, %ld row simulations, %.1f s\n",
	    100 * sf.mape[CAL_KIND_COUNT], 100 * sv.mape[CAL_KIND_COUNT],
	    100 * sv.worst[CAL_KIND_COUNT], miss, miss == 1 ? "" : "s",
	    fit.simplex_iterations, fit.iterations, fit.evaluations, t0);
}

int
main(int argc, char **argv)
{
	int seeds = argc > 1 ? atoi(argv[1]) : 3;
	const char *dir = getenv("TMPDIR");
	char path[4096];
	h4h_err err = { "" };

	printf("bench_calibrate: %ld online cores; %d rows (%d fitted, %d "
	    "held out), %.0f%% Gaussian noise\n", sysconf(_SC_NPROCESSORS_ONLN),
	    N_ROWS, N_FIT, N_ROWS - N_FIT, 100 * NOISE);
	for (int seed = 1; seed <= seeds; seed++) {
		sim_profile base, hidden, far;
		sim_cal_table *t = NULL;
		char set[128];
		int fd;

		if (sim_profile_load(src("hwprofiles/"
		    "system-npu-only-shared-sram.ini"), &base, &err) != 0 ||
		    sim_profile_set(&base, "npu.macs=128", &err) != 0)
			die("profile", &err);
		hidden = base;
		for (int i = 0; i < CAL_MEM_N_HIDDEN; i++) {
			snprintf(set, sizeof set, "%s=%.17g",
			    cal_mem_hidden[i].key, cal_mem_hidden[i].value);
			if (sim_profile_set(&hidden, set, &err) != 0)
				die("hidden profile", &err);
		}
		snprintf(path, sizeof path, "%s/h4h-bench-cal-XXXXXX",
		    dir ? dir : "/tmp");
		if ((fd = mkstemp(path)) < 0) {
			perror("bench_calibrate: mkstemp");
			return 1;
		}
		close(fd);
		if (cal_mem_table_write(path, &hidden, N_ROWS, NOISE,
		    (uint64_t)seed, &err) != 0)
			die("table", &err);
		if (sim_cal_table_load(path, &base, NULL, &t, &err) != 0)
			die("table", &err);
		unlink(path);
		printf("seed %d:\n", seed);
		run("default knobs", t, &base, NULL, 0);
		run("memory knobs, trust region (default)", t, &base,
		    CAL_MEM_FIT, 0);
		run("memory knobs, simplex then trust region", t, &base,
		    CAL_MEM_FIT, 1);
		/* A start far from the board: every memory value 4x off
		 * (bandwidths 4x too fast, latencies 4x too long). */
		far = base;
		for (int i = 0; i < CAL_MEM_N_HIDDEN - 1; i++) {
			double v = cal_mem_hidden[i].value;

			snprintf(set, sizeof set, "%s=%.17g",
			    cal_mem_hidden[i].key, strstr(cal_mem_hidden[i].key,
			    "latency") ? round(4 * v) : 4 * v);
			if (sim_profile_set(&far, set, &err) != 0)
				die("far profile", &err);
		}
		run("far start, trust region only", t, &far, CAL_MEM_FIT, 0);
		run("far start, simplex then trust region", t, &far,
		    CAL_MEM_FIT, 1);
		sim_cal_table_destroy(t);
	}
	return 0;
}
