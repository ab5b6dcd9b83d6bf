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
#include <gsl/gsl_multifit_nlinear.h>
#include <gsl/gsl_vector.h>

#include "core/file.h"
#include "core/hash.h"
#include "sim/sim.h"

enum { KB_SCALE, KB_OVERHEAD, KB_ENERGY };

typedef struct knob_def {
	const char *key;
	int type;
	int kind;	/* SIM_KIND_* it alone affects, -1: every row */
} knob_def;

/* Every knob a fit may move, in id order (knobs.c). */
extern const knob_def cal_knobs[];

/* Where a start at a bound is moved to, as a fraction of the range. */
#define START_MARGIN 1e-6
/* Forward-difference step in u (see the file comment). */
#define FD_STEP 1e-4

/* The SIM_KIND_* a table row of CAL_KIND_* kind is costed as (knobs.c). */
int sim_kind_of_cal(int kind);

static inline double
clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

#endif
