/*
 * calibrate.h - fitting the NPU and CIM models to measured per-layer tables
 * (`h4h calibrate`, doc/calibration.md).
 *
 * A table is a CSV file with a header: one row per measured layer, the
 * conditions it was measured under and its measured cycles (or latency) and,
 * optionally, energy.  Loading turns every row into a one-layer net and the
 * profile it runs on (the base profile with the row's conditions applied),
 * and simulates it once, so a row that cannot be simulated is reported with
 * its line number before any fit starts.
 *
 * A fit adjusts a few calibration knobs (profile keys with neutral defaults,
 * see profile.c) by nonlinear least squares on the relative errors
 * (pred - meas) / meas, with GSL's gsl_multifit_nlinear (trust region,
 * Levenberg-Marquardt) and every knob kept inside its bounds by a smooth
 * change of variable.  Invariants: a table's rows all simulate under its
 * base profile; every prediction for knob values v is the simulator's result
 * for the row's profile with sim_profile_set("key=%.17g", v), so a profile
 * written with those values reproduces the predictions bit for bit.
 */
#ifndef H4H_SIM_CALIBRATE_H
#define H4H_SIM_CALIBRATE_H

#include <stdint.h>

#include "core/err.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"

/* Operator kinds a table's rows are reported by (the op column). */
enum {
	CAL_KIND_CONV,		/* conv kxk, k > 1 */
	CAL_KIND_PW,		/* conv 1x1 */
	CAL_KIND_DW,
	CAL_KIND_FC,
	CAL_KIND_ADD,
	CAL_KIND_POOL,
	CAL_KIND_COUNT
};

#define CAL_MAX_KNOBS 32

typedef struct sim_cal_row {
	int line;			/* 1-based line in the CSV file */
	int kind;			/* CAL_KIND_* */
	char desc[96];			/* "conv 7x7x16->16 k3 s1", for reports */
	double measured;		/* cycles, or seconds (table latency) */
	double measured_energy_j;	/* < 0: not measured */
	sim_profile profile;		/* base + the row's conditions */
	sim_net *net;			/* the one-layer net (add: two layers) */
	char **fields;			/* raw fields, one per column */
} sim_cal_row;

typedef struct sim_cal_table {
	char *path;
	int n_rows;
	sim_cal_row *rows;
	int n_cols;
	char **cols;			/* header names */
	int measured_col;		/* column index of the measurement */
	int latency;			/* measurement is seconds, not cycles */
	int has_energy;			/* some row has measured_energy_j */
	uint64_t hash;			/* FNV-1a 64 of the file's bytes */
} sim_cal_table;

/*
 * Load a table.  `measured` names the measurement column (NULL: auto-detect
 * measured_cycles, then measured_latency_s, then est_cycles, the Vela
 * table's).  A column ending in "_s" is a latency in seconds, anything else
 * cycles of the NPU clock.  Errors (H4H_EINPUT) name the file and, for a
 * row, its line: a missing required column, a malformed or non-finite
 * number, a non-positive measurement, an unknown op, a condition the profile
 * rejects, a row the simulator cannot run.
 */
int sim_cal_table_load(const char *path, const sim_profile *base,
    const char *measured, sim_cal_table **out, h4h_err *err);
void sim_cal_table_destroy(sim_cal_table *t);
/* Column index of `name`, -1 if the table has none. */
int sim_cal_table_col(const sim_cal_table *t, const char *name);

/* Knobs: the profile keys a fit may adjust, with their bounds. */
int sim_cal_knob_count(void);
const char *sim_cal_knob_name(int id);
/* Parse "key,key,..." into ids; an unknown name, a profile key that is not
 * a knob and a repeated knob are H4H_EINPUT naming it. */
int sim_cal_knobs_parse(const char *list, int *ids, int *n, h4h_err *err);
/* The knobs a fit uses when none are named: the cycle scale of every op
 * kind among `rows`, npu.op_overhead_cycles, and cim.mac_cycle_scale when
 * a row has CIM macros. */
void sim_cal_knobs_default(const sim_cal_table *t, const int *rows, int n,
    int *ids, int *n_ids);
int sim_cal_knob_is_energy(int id);
/* A knob fitted on ln x, whose uncertainty is relative (a scale factor, a
 * bandwidth, the compression), not in its unit (an overhead, a latency, an
 * energy). */
int sim_cal_knob_is_relative(int id);
void sim_cal_knob_bounds(int id, double *lo, double *hi);
/* Where knob id's bounds come from (a source or "assumed: ..."). */
const char *sim_cal_knob_bounds_why(int id);
double sim_cal_knob_get(const sim_profile *p, int id);
/* Set knob ids[i] to values[i] with "%.17g" (the value is clamped to the
 * knob's bounds first). */
int sim_cal_knobs_apply(sim_profile *p, const int *ids, const double *values,
    int n, h4h_err *err);

/*
 * Predict rows[0..n) with the knobs set to values: pred[i] in the table's
 * unit (cycles or seconds), pred_e[i] the energy in joules (pred_e may be
 * NULL).  An error names the row's line.
 */
int sim_cal_predict(const sim_cal_table *t, const int *ids,
    const double *values, int n_knobs, const int *rows, int n, double *pred,
    double *pred_e, h4h_err *err);

typedef struct sim_cal_stats {
	int n[CAL_KIND_COUNT + 1];	/* [CAL_KIND_COUNT]: all rows */
	double mape[CAL_KIND_COUNT + 1];	/* mean |rel. error|, fraction */
	double worst[CAL_KIND_COUNT + 1];	/* largest |rel. error| */
	int worst_line[CAL_KIND_COUNT + 1];
} sim_cal_stats;

/* Error statistics per kind of pred against the measurement (energy: 1 to
 * compare with measured_energy_j, rows without one are skipped). */
void sim_cal_stats_compute(const sim_cal_table *t, const int *rows, int n,
    const double *pred, int energy, sim_cal_stats *s);
const char *sim_cal_kind_name(int kind);

typedef struct sim_cal_fit_opts {
	int max_iter;			/* trust-region iterations */
	double xtol, gtol, ftol;	/* gsl_multifit_nlinear_test */
	int simplex;			/* derivative-free stage first (1;
					 * default 0: measured no better on
					 * the memory table, bench_calibrate) */
} sim_cal_fit_opts;

void sim_cal_fit_opts_default(sim_cal_fit_opts *o);

typedef struct sim_cal_fit {
	int n_knobs;
	int ids[CAL_MAX_KNOBS];
	double start[CAL_MAX_KNOBS];	/* values before the fit */
	double value[CAL_MAX_KNOBS];	/* values after it */
	int energy;			/* energy residuals were fitted too */
	int n_residuals;
	int iterations;			/* trust-region iterations */
	int simplex_iterations;		/* derivative-free stage */
	int converged;			/* a tolerance was met */
	char status[320];		/* "converged (small step)", ... */
	double cost0, cost;		/* sum of squared relative errors */
	long evaluations;		/* row simulations run */
	/* What the table determines, at the fitted point.  sigma: one
	 * standard deviation of each fitted knob (knob units) from the
	 * Jacobian, J'J^-1 scaled by the residual variance (NAN: not
	 * estimated).  undetermined: the table cannot pin the knob (a flat
	 * direction of the error, alone or with others); it is kept at its
	 * start value and why says so. */
	double sigma[CAL_MAX_KNOBS];
	int undetermined[CAL_MAX_KNOBS];
	char why[CAL_MAX_KNOBS][200];
	double noise;			/* residual std. deviation (relative) */
} sim_cal_fit;

/*
 * Fit fit->ids[0..n_knobs) on rows[0..n), starting from fit->start.  Energy
 * residuals enter when the table has energy and an energy knob is fitted.
 * The model is piecewise (a bandwidth moves a layer between compute- and
 * memory-bound), so the trust region is followed by probes around each
 * stop, down to small steps at a kink; a derivative-free stage
 * (Nelder-Mead) may run first (o->simplex).  A knob the table
 * cannot determine is kept at its start (fit->undetermined, fit->why).
 * A fit that stops without meeting a tolerance (max_iter reached, no step
 * reduces the error) returns 0 with fit->converged = 0 and fit->status
 * saying why, with fit->value the best point reached (fit->cost <=
 * fit->cost0); errors are for rows that fail to simulate or too few rows.
 */
int sim_cal_fit_run(const sim_cal_table *t, const int *rows, int n,
    const sim_cal_fit_opts *o, sim_cal_fit *fit, h4h_err *err);

/*
 * k-fold cross-validation of the same fit on rows[0..n): rows are shuffled
 * deterministically from `seed`, each fold is fitted on the other k-1 and
 * its MAPE measured on itself.  fold_mape has k entries; *mean is their
 * mean; *not_converged counts folds whose fit stopped early (they still
 * count, with the values reached).
 */
int sim_cal_cv(const sim_cal_table *t, const int *rows, int n,
    const sim_cal_fit_opts *o, const sim_cal_fit *proto, int k,
    unsigned long seed, double *fold_mape, double *mean,
    int *not_converged, h4h_err *err);

#endif
