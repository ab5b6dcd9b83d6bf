/*
 * calibrateInt.h - what the calibration's files share (private to
 * src/cost/calibrate): the knob table, the knob kinds and the fit's
 * constants.  knobs.c (knob names, bounds, reading and setting them),
 * table.c (the measured table), fit.c (predictions, statistics, the
 * bounded least-squares fit), cv.c (k-fold cross-validation).
 */
#ifndef H4H_COST_CALIBRATE_CALIBRATEINT_H
#define H4H_COST_CALIBRATE_CALIBRATEINT_H

#include "cost/calibrate/calibrate.h"


#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_vector.h>

#include "core/file.h"
#include "core/hash.h"
#include "sim/sim.h"

/* Knob types: a scale factor, an overhead in cycles, an energy, and the
 * memory system's bandwidths, latencies (whole cycles) and compression. */
enum { KB_SCALE, KB_OVERHEAD, KB_ENERGY, KB_BANDWIDTH, KB_LATENCY, KB_RATIO };

typedef struct knob_def {
	const char *key;
	int type;
	int kind;	/* SIM_KIND_* it alone affects, -1: every row */
	double lo, hi;	/* bounds of the fit */
	const char *why;	/* where the bounds come from */
} knob_def;

/* Every knob a fit may move, in id order (knobs.c). */
extern const knob_def cal_knobs[];

/* Where a start at a bound is moved to, as a fraction of the range. */
#define START_MARGIN 1e-6
/* Forward-difference step in u (see the file comment). */
#define FD_STEP 1e-4

/* A knob the fit moves on ln x (scales, bandwidths, compression) rather
 * than on x (overheads, energies, latencies). */
int knob_is_log(int id);

/* A fit under way (fit.c): the rows, the knobs being moved (fit: ids,
 * n_knobs, energy, n_residuals) and the solver's scratch. */
typedef struct fit_ctx {
	const sim_cal_table *t;
	const int *rows;
	int n_rows;
	const sim_cal_fit *fit;
	double *base;		/* last f: time preds, then energy preds */
	double *u_base;		/* the u they were computed at */
	int have_base;
	double *tmp;		/* 2 n_rows predictions + 2 residual vectors */
	long evals;
	int failed;
	h4h_err err;
} fit_ctx;

/* The solver's variable u of knob id and back (fit.c). */
double u_to_x(int id, double u);
double x_to_u(int id, double x);
/* Residuals (m of them) or their sum of squares at knob values x of
 * c->fit; -1 when a row fails to simulate (c->failed, c->err). */
int fit_residuals_x(fit_ctx *c, const double *x, double *f);
int fit_cost_x(fit_ctx *c, const double *x, double *cost);
/* A knob fitted on x is measured in units of this (its value, or a
 * typical size when that is near 0). */
double knob_scale(int id, double x);

/* What the table determines at a fitted point (uncert.c). */
typedef struct fit_analysis {
	double sigma[CAL_MAX_KNOBS];	/* per knob of c->fit; NAN: unknown */
	double noise;			/* residual standard deviation */
	int flat;			/* knob of c->fit the table cannot
					 * determine, -1 if none */
	int zero_effect;		/* no row moves with it at all */
	char why[200];			/* why, for the report */
} fit_analysis;

int fit_analyse(fit_ctx *c, const double *x, double cost, fit_analysis *a,
    h4h_err *err);

/* The column of t that sets profile key `key` in one of rows[0..n) (its
 * own name or a condition alias like bandwidth_gbps), *line the first such
 * row's line; -1 if none (table.c). */
int table_sets_key(const sim_cal_table *t, const int *rows, int n,
    const char *key, int *line);

/* The SIM_KIND_* a table row of CAL_KIND_* kind is costed as (knobs.c). */
int sim_kind_of_cal(int kind);

static inline double
clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

#endif
