/*
 * uncert.c - what a measured table determines about the knobs at a fitted
 * point: each knob's uncertainty, and the directions it leaves flat
 * (calibrate.h, doc/calibration.md).
 *
 * The Jacobian of the relative errors is taken by central differences in
 * natural coordinates: z = ln x for a knob fitted on ln x (a change of 1 is
 * a factor e, i.e. about 100 %), z = x / d for the others with d the knob's
 * scale (knob_scale: its value, or a typical size near 0).  Its singular
 * value decomposition J = U S V' gives the covariance of z, C = s^2 V S^-2
 * V', with s^2 the residual variance (cost / (m - p)), floored at
 * NOISE_FLOOR so that a table the model fits exactly is not taken to pin
 * every knob to nothing.  Whether a direction is flat is a property of the
 * table's rows, not of how well the model fits them: singular direction k
 * is flat when moving the knobs along it by FLAT_MOVE (20 %) moves the
 * vector of relative errors by less than FLAT_NOISE (1 %, one row's
 * measurement noise), S_k FLAT_MOVE < FLAT_NOISE.  Then the table cannot
 * say where along it the knobs lie (no row is bound by a bandwidth; two
 * overheads that add the same cycles to every row).  The knob with the
 * largest share in that direction, weighted so that the one a table is
 * least likely to pin (compression, then a latency, then a bandwidth) goes
 * first on a tie, is reported so the fit keeps it at its start.
 *
 * Steps are 2 % of a knob (whole cycles for a latency, at least one): large
 * enough to step over the simulator's integer-cycle rounding, small enough
 * to stay on one piece of the piecewise model for most rows.
 */
#define _POSIX_C_SOURCE 200809L
#include "cost/calibrate/calibrateInt.h"

/* Assumed: no per-layer measurement is better than 0.1 %. */
#define NOISE_FLOOR 1e-3
/* A direction is flat when a 20 % move along it changes the relative
 * errors by less than 1 % in all (assumed: the noise of one measured row;
 * the targets are 10 %, latencies 25 %). */
#define FLAT_MOVE 0.2
#define FLAT_NOISE 0.01
#define STEP 0.02

/* Tie-break weight when several knobs share a flat direction. */
static double
freeze_weight(int id)
{
	switch (cal_knobs[id].type) {
	case KB_RATIO:
		return 1.3;
	case KB_LATENCY:
		return 1.2;
	case KB_BANDWIDTH:
		return 1.1;
	default:
		return 1.0;
	}
}

/* z of knob id at x, with d its scale. */
static double
to_z(int id, double x, double d)
{
	return knob_is_log(id) ? log(x) : x / d;
}

int
fit_analyse(fit_ctx *c, const double *x, double cost, fit_analysis *a,
    h4h_err *err)
{
	const sim_cal_fit *fit = c->fit;
	int p = fit->n_knobs, m = fit->n_residuals, rc = 0;
	gsl_matrix *J = gsl_matrix_alloc((size_t)m, (size_t)p);
	gsl_matrix *V = gsl_matrix_alloc((size_t)p, (size_t)p);
	gsl_vector *S = gsl_vector_alloc((size_t)p);
	gsl_vector *work = gsl_vector_alloc((size_t)p);
	double *fp = h4h_xmalloc((size_t)m * sizeof *fp);
	double *fm = h4h_xmalloc((size_t)m * sizeof *fm);
	double xs[CAL_MAX_KNOBS], d[CAL_MAX_KNOBS], colnorm[CAL_MAX_KNOBS];
	double s_eff;

	a->flat = -1;
	a->zero_effect = 0;
	a->why[0] = '\0';
	a->noise = m > p ? sqrt(cost / (m - p)) : NAN;
	s_eff = isfinite(a->noise) ? fmax(a->noise, NOISE_FLOOR) : NOISE_FLOOR;
	for (int j = 0; j < p; j++)
		d[j] = knob_scale(fit->ids[j], x[j]);
	for (int j = 0; j < p; j++) {
		int id = fit->ids[j];
		double lo, hi, xp, xm, dz;

		sim_cal_knob_bounds(id, &lo, &hi);
		if (knob_is_log(id)) {
			xp = x[j] * exp(STEP);
			xm = x[j] * exp(-STEP);
		} else {
			double h = STEP * d[j];

			if (cal_knobs[id].type == KB_LATENCY)
				h = fmax(1, round(h));
			xp = x[j] + h;
			xm = x[j] - h;
		}
		xp = clampd(xp, lo, hi);
		xm = clampd(xm, lo, hi);
		if (cal_knobs[id].type == KB_LATENCY) {
			xp = round(xp);
			xm = round(xm);
		}
		memcpy(xs, x, (size_t)p * sizeof *xs);
		xs[j] = xp;
		if (fit_residuals_x(c, xs, fp) != 0)
			goto fail;
		xs[j] = xm;
		if (fit_residuals_x(c, xs, fm) != 0)
			goto fail;
		dz = to_z(id, xp, d[j]) - to_z(id, xm, d[j]);
		colnorm[j] = 0;
		for (int i = 0; i < m; i++) {
			double v = dz > 0 ? (fp[i] - fm[i]) / dz : 0;

			gsl_matrix_set(J, (size_t)i, (size_t)j, v);
			colnorm[j] += v * v;
		}
		colnorm[j] = sqrt(colnorm[j]);
	}
	if (gsl_linalg_SV_decomp(J, V, S, work) != GSL_SUCCESS) {
		for (int j = 0; j < p; j++)
			a->sigma[j] = NAN;
		goto out;
	}
	/* Standard deviations in z, then in knob units. */
	for (int j = 0; j < p; j++) {
		double var = 0;

		for (int k = 0; k < p; k++) {
			double sk = gsl_vector_get(S, (size_t)k);
			double v = gsl_matrix_get(V, (size_t)j, (size_t)k);

			var += sk > 0 ? v * v / (sk * sk) : (v != 0 ? INFINITY :
			    0);
		}
		a->sigma[j] = s_eff * sqrt(var) * (knob_is_log(fit->ids[j]) ?
		    x[j] : d[j]);
	}
	/* The flattest direction (S is in decreasing order). */
	{
		int k = p - 1, pick = -1;
		double sk = gsl_vector_get(S, (size_t)k), along, best = -1;
		char partners[160] = "", pct[32];
		size_t len = 0;

		if (!(sk * FLAT_MOVE < FLAT_NOISE))
			goto out;
		/* How far along it the errors move by FLAT_NOISE. */
		along = sk > 0 ? FLAT_NOISE / sk : INFINITY;
		for (int j = 0; j < p; j++) {
			double sc = fabs(gsl_matrix_get(V, (size_t)j,
			    (size_t)k)) * freeze_weight(fit->ids[j]);

			if (sc > best) {
				best = sc;
				pick = j;
			}
		}
		a->flat = pick;
		if (along < 10)
			snprintf(pct, sizeof pct, "%.0f%%", 100 * along);
		else
			snprintf(pct, sizeof pct, "over 1000%%");
		for (int j = 0; j < p; j++) {
			double vj = gsl_matrix_get(V, (size_t)j, (size_t)k);

			if (j != pick && fabs(vj) >= 0.3 && len < sizeof partners)
				len += (size_t)snprintf(partners + len,
				    sizeof partners - len, "%s%s", len ? ", " :
				    "", sim_cal_knob_name(fit->ids[j]));
		}
		a->zero_effect = colnorm[pick] == 0;
		if (colnorm[pick] == 0)
			snprintf(a->why, sizeof a->why, "no fitted row's "
			    "prediction moves when it changes by %.0f%%: the "
			    "table does not exercise it (e.g. no row is bound "
			    "by it)", 100 * STEP);
		else if (partners[0] == '\0')
			snprintf(a->why, sizeof a->why, "the fitted rows hardly "
			    "depend on it: it must move by %s to change their "
			    "errors by %.0f%% in all, one row's noise (a knob "
			    "is determined when %.0f%% does)", pct,
			    100 * FLAT_NOISE, 100 * FLAT_MOVE);
		else
			snprintf(a->why, sizeof a->why, "only a combination "
			    "with %s is determined: they must move together "
			    "by %s to change the fitted rows' errors by %.0f%% "
			    "in all, one row's noise (a knob is determined when "
			    "%.0f%% does)", partners, pct, 100 * FLAT_NOISE,
			    100 * FLAT_MOVE);
	}
	goto out;
fail:
	rc = h4h_errf(err, c->failed, "%s", c->err.msg);
out:
	gsl_matrix_free(J);
	gsl_matrix_free(V);
	gsl_vector_free(S);
	gsl_vector_free(work);
	free(fp);
	free(fm);
	return rc;
}
