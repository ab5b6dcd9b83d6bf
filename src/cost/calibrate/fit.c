/*
 * fit.c - predictions and their statistics, and the bounded nonlinear
 * least-squares fit of the knobs to a measured table (calibrate.h,
 * doc/calibration.md).
 *
 * Bounds by change of variable (MINUIT's): the solver works on an unbounded
 * u per knob and the knob is x = lo + (hi - lo) (1 + sin u) / 2, or for a
 * scale factor the same map on ln x, so x never leaves [lo, hi] and a scale
 * moves by ratios.  Near a bound x is quadratic in u, so a knob can reach
 * the bound (an overhead of 0) yet a Gauss-Newton step still predicts its
 * moves well (an exponential map, tanh, made overheads crawl up from 0).
 * A start exactly at a bound, where dx/du = 0, is moved inside by
 * START_MARGIN of the range.
 *
 * The Jacobian is a forward difference in u with a fixed step: the engine's
 * timeline is in whole picoseconds, so GSL's own step (sqrt(eps) relative)
 * would difference rounding noise.  A cycle scale only changes the rows of
 * its op kind (the per-kind factor in npu.c), so its column re-simulates
 * those rows alone; every other knob re-simulates every row.  The last
 * residual vector is kept, since GSL asks for f and then J at one point.
 *
 * GSL's error handler is switched off while a fit runs (and restored), so a
 * GSL error becomes a return code instead of abort().
 */
#define _POSIX_C_SOURCE 200809L
#include "cost/calibrate/calibrateInt.h"

/* ---- predictions and statistics ----------------------------------------- */

static int
predict_row(const sim_cal_table *t, const sim_cal_row *r, const int *ids,
    const double *values, int n_knobs, double *pred, double *pred_e,
    h4h_err *err)
{
	sim_profile p = r->profile;
	sim_result *res = NULL;
	const sim_layer_result *lr;
	h4h_err e2;
	int rc;

	if (n_knobs > 0 && (rc = sim_cal_knobs_apply(&p, ids, values, n_knobs,
	    &e2)) != 0)
		return h4h_errf(err, rc, "table '%s' line %d: %s", t->path,
		    r->line, e2.msg);
	if ((rc = sim_run(&p, r->net, NULL, &res, &e2)) != 0)
		return h4h_errf(err, rc == H4H_EINPUT ? H4H_EINPUT : rc,
		    "table '%s' line %d: cannot simulate %s: %s", t->path,
		    r->line, r->desc, e2.msg);
	lr = &res->layers[res->n_layers - 1];
	*pred = t->latency ? lr->latency_s : lr->cycles;
	if (pred_e != NULL)
		*pred_e = lr->energy_j;
	sim_result_destroy(res);
	if (!(*pred > 0) || !isfinite(*pred))
		return h4h_errf(err, H4H_ESIM, "table '%s' line %d: the "
		    "simulator predicts %g for %s", t->path, r->line, *pred,
		    r->desc);
	return 0;
}

int
sim_cal_predict(const sim_cal_table *t, const int *ids, const double *values,
    int n_knobs, const int *rows, int n, double *pred, double *pred_e,
    h4h_err *err)
{
	for (int i = 0; i < n; i++) {
		int rc = predict_row(t, &t->rows[rows[i]], ids, values, n_knobs,
		    &pred[i], pred_e ? &pred_e[i] : NULL, err);

		if (rc != 0)
			return rc;
	}
	return 0;
}

void
sim_cal_stats_compute(const sim_cal_table *t, const int *rows, int n,
    const double *pred, int energy, sim_cal_stats *s)
{
	memset(s, 0, sizeof *s);
	for (int i = 0; i < n; i++) {
		const sim_cal_row *r = &t->rows[rows[i]];
		double meas = energy ? r->measured_energy_j : r->measured;
		double e;

		if (meas <= 0)
			continue;
		e = fabs(pred[i] - meas) / meas;
		for (int pass = 0; pass < 2; pass++) {
			int k = pass ? CAL_KIND_COUNT : r->kind;

			s->n[k]++;
			s->mape[k] += e;
			if (e > s->worst[k] || s->worst_line[k] == 0) {
				s->worst[k] = e;
				s->worst_line[k] = r->line;
			}
		}
	}
	for (int k = 0; k <= CAL_KIND_COUNT; k++)
		if (s->n[k] > 0)
			s->mape[k] /= s->n[k];
}

/* ---- the fit ------------------------------------------------------------ */

void
sim_cal_fit_opts_default(sim_cal_fit_opts *o)
{
	o->max_iter = 100;
	o->xtol = 1e-6;
	o->gtol = 1e-6;
	o->ftol = 1e-10;
}

static double
u_to_x(int id, double u)
{
	double lo, hi, s = (1 + sin(u)) / 2;

	sim_cal_knob_bounds(id, &lo, &hi);
	if (cal_knobs[id].type == KB_SCALE)
		return clampd(exp(log(lo) + (log(hi) - log(lo)) * s), lo, hi);
	return clampd(lo + (hi - lo) * s, lo, hi);
}

static double
x_to_u(int id, double x)
{
	double lo, hi, s;

	sim_cal_knob_bounds(id, &lo, &hi);
	if (cal_knobs[id].type == KB_SCALE)
		s = (log(clampd(x, lo, hi)) - log(lo)) / (log(hi) - log(lo));
	else
		s = (clampd(x, lo, hi) - lo) / (hi - lo);
	s = clampd(s, START_MARGIN, 1 - START_MARGIN);
	return asin(2 * s - 1);
}

typedef struct fit_ctx {
	const sim_cal_table *t;
	const int *rows;
	int n_rows;
	const sim_cal_fit *fit;
	double *base;		/* last f: time preds, then energy preds */
	double *u_base;		/* the u they were computed at */
	int have_base;
	double *tmp;
	long evals;
	int failed;
	h4h_err err;
} fit_ctx;

/* Predictions (time, then energy when fitted) for every row at u. */
static int
eval_rows(fit_ctx *c, const double *u, const int *only_kind_mask,
    double *out_t, double *out_e)
{
	double x[CAL_MAX_KNOBS];

	for (int j = 0; j < c->fit->n_knobs; j++)
		x[j] = u_to_x(c->fit->ids[j], u[j]);
	for (int i = 0; i < c->n_rows; i++) {
		const sim_cal_row *r = &c->t->rows[c->rows[i]];
		int rc;

		if (only_kind_mask != NULL &&
		    !only_kind_mask[sim_kind_of_cal(r->kind)])
			continue;
		rc = predict_row(c->t, r, c->fit->ids, x, c->fit->n_knobs,
		    &out_t[i], &out_e[i], &c->err);
		c->evals++;
		if (rc != 0) {
			c->failed = rc;
			return rc;
		}
	}
	return 0;
}

/* Residuals from predictions: time rows, then energy rows with energy. */
static void
residuals(const fit_ctx *c, const double *pt, const double *pe, double *f)
{
	int m = 0;

	for (int i = 0; i < c->n_rows; i++) {
		const sim_cal_row *r = &c->t->rows[c->rows[i]];

		f[m++] = (pt[i] - r->measured) / r->measured;
	}
	if (!c->fit->energy)
		return;
	for (int i = 0; i < c->n_rows; i++) {
		const sim_cal_row *r = &c->t->rows[c->rows[i]];

		if (r->measured_energy_j > 0)
			f[m++] = (pe[i] - r->measured_energy_j) /
			    r->measured_energy_j;
	}
}

static int
ensure_base(fit_ctx *c, const gsl_vector *u)
{
	int p = c->fit->n_knobs, same = c->have_base;

	for (int j = 0; same && j < p; j++)
		same = c->u_base[j] == gsl_vector_get(u, j);
	if (same)
		return 0;
	for (int j = 0; j < p; j++)
		c->u_base[j] = gsl_vector_get(u, j);
	c->have_base = 0;
	if (eval_rows(c, c->u_base, NULL, c->base, c->base + c->n_rows) != 0)
		return -1;
	c->have_base = 1;
	return 0;
}

static int
fit_f(const gsl_vector *u, void *params, gsl_vector *f)
{
	fit_ctx *c = params;
	double *r;

	if (ensure_base(c, u) != 0)
		return GSL_EBADFUNC;
	r = c->tmp + 2 * c->n_rows;

	residuals(c, c->base, c->base + c->n_rows, r);
	for (size_t i = 0; i < f->size; i++)
		gsl_vector_set(f, i, r[i]);
	return GSL_SUCCESS;
}

static int
fit_df(const gsl_vector *u, void *params, gsl_matrix *J)
{
	fit_ctx *c = params;
	int p = c->fit->n_knobs, m = (int)J->size1;
	double *pt = c->tmp, *pe = c->tmp + c->n_rows;
	double *f0 = c->tmp + 2 * c->n_rows, *f1 = f0 + m;
	double up[CAL_MAX_KNOBS];

	if (ensure_base(c, u) != 0)
		return GSL_EBADFUNC;
	residuals(c, c->base, c->base + c->n_rows, f0);
	for (int j = 0; j < p; j++) {
		const knob_def *k = &cal_knobs[c->fit->ids[j]];
		int mask[SIM_KIND_COUNT] = { 0 }, moved = 0;

		if (k->kind >= 0)
			mask[k->kind] = 1;
		/* A step that moves no prediction probes further out: a
		 * knob can sit on a flat stretch (a CIM split that does not
		 * change for small steps) and would be frozen there.  Once
		 * a step h moves something, a second secant over 10 h is
		 * taken and each row keeps the smaller slope of the two: a
		 * jump (the partitioner switching splits) gives a difference
		 * that does not shrink with the step, and would otherwise
		 * dominate the Gauss-Newton step with a slope of jump / h. */
		for (double h = FD_STEP; h <= FD_STEP * 1e4 * (1 + 1e-9);
		    h *= 10) {
			double hs = h;

			for (int q = 0; q < p; q++)
				up[q] = gsl_vector_get(u, q);
			/* Step towards the middle of the range, so the step
			 * is never lost to flattening at a bound. */
			if (up[j] > 0)
				hs = -h;
			up[j] += hs;
			memcpy(pt, c->base, (size_t)c->n_rows * sizeof *pt);
			memcpy(pe, c->base + c->n_rows, (size_t)c->n_rows *
			    sizeof *pe);
			if (eval_rows(c, up, k->kind >= 0 ? mask : NULL, pt,
			    pe) != 0)
				return GSL_EBADFUNC;
			residuals(c, pt, pe, f1);
			for (int i = 0; i < m; i++) {
				double d = (f1[i] - f0[i]) / hs;

				if (!moved || fabs(d) < fabs(gsl_matrix_get(J,
				    (size_t)i, (size_t)j)))
					gsl_matrix_set(J, (size_t)i, (size_t)j,
					    d);
			}
			if (moved)
				break;		/* the 10 h secant is in */
			for (int i = 0; i < m; i++)
				moved |= f1[i] != f0[i];
		}
	}
	return GSL_SUCCESS;
}

static double
cost_of(const gsl_vector *f)
{
	double s;

	gsl_blas_ddot(f, f, &s);
	return s;
}

/* Sum of squared residuals at u (every row re-simulated). */
static int
cost_at(fit_ctx *c, const double *u, double *cost)
{
	double *pt = c->tmp, *pe = c->tmp + c->n_rows;
	double *f = c->tmp + 2 * c->n_rows;
	int m = c->fit->n_residuals;

	if (eval_rows(c, u, NULL, pt, pe) != 0)
		return -1;
	residuals(c, pt, pe, f);
	*cost = 0;
	for (int i = 0; i < m; i++)
		*cost += f[i] * f[i];
	return 0;
}

/* Trust-region iterations from the workspace's current point until a
 * tolerance is met (1), no step helps or max_iter is used up (0), or a row
 * fails to simulate (-1, c->failed set).  *iter counts on. */
static int
lm_iterate(fit_ctx *c, gsl_multifit_nlinear_workspace *w,
    const sim_cal_fit_opts *o, int *iter, char *status, size_t n)
{
	int first = 1, st, info = 0;

	snprintf(status, n, "not converged in %d iteration%s", o->max_iter,
	    o->max_iter == 1 ? "" : "s");
	while (*iter < o->max_iter) {
		st = gsl_multifit_nlinear_iterate(w);
		if (c->failed)
			return -1;
		if (st == GSL_ENOPROG && first) {
			/* No step lowers the error: fine if the point is
			 * already a minimum. */
			if (gsl_multifit_nlinear_test(o->xtol, o->gtol,
			    o->ftol, &info, w) == GSL_SUCCESS && info == 2) {
				snprintf(status, n, "converged (small "
				    "gradient)");
				return 1;
			}
			snprintf(status, n,
			    "no step from the start reduces the "
			    "error");
			return 0;
		}
		if (st != GSL_SUCCESS && st != GSL_ENOPROG) {
			snprintf(status, n, "stopped: %s", gsl_strerror(st));
			return 0;
		}
		first = 0;
		(*iter)++;
		st = gsl_multifit_nlinear_test(o->xtol, o->gtol, o->ftol,
		    &info, w);
		if (st == GSL_SUCCESS) {
			snprintf(status, n, "converged (%s)", info == 1 ?
			    "small step" : info == 2 ? "small gradient" :
			    "small change in error");
			return 1;
		}
	}
	return 0;
}

/* Probes around a converged point, in u: a scale moves by about 6 % and
 * 30 %, an overhead or energy by a similar share of its reach. */
static const double probes[] = { -0.1, -0.02, 0.02, 0.1 };
#define MAX_RESTARTS 8

int
sim_cal_fit_run(const sim_cal_table *t, const int *rows, int n,
    const sim_cal_fit_opts *o, sim_cal_fit *fit, h4h_err *err)
{
	gsl_multifit_nlinear_parameters params =
	    gsl_multifit_nlinear_default_parameters();
	gsl_multifit_nlinear_workspace *w = NULL;
	gsl_multifit_nlinear_fdf fdf;
	gsl_error_handler_t *old = gsl_set_error_handler_off();
	gsl_vector *u0 = NULL;
	double u[CAL_MAX_KNOBS], ut[CAL_MAX_KNOBS];
	fit_ctx c;
	int p = fit->n_knobs, m = n, rc = 0, iter = 0, st, restarts = 0;

	memset(&c, 0, sizeof c);
	fit->energy = 0;
	for (int j = 0; j < p; j++)
		if (sim_cal_knob_is_energy(fit->ids[j]))
			fit->energy = t->has_energy;
	if (fit->energy)
		for (int i = 0; i < n; i++)
			m += t->rows[rows[i]].measured_energy_j > 0;
	fit->n_residuals = m;
	fit->converged = 0;
	fit->iterations = 0;
	if (p < 1 || p > CAL_MAX_KNOBS) {
		rc = h4h_errf(err, H4H_EINPUT, "a fit needs 1 to %d knobs (got "
		    "%d)", CAL_MAX_KNOBS, p);
		goto out;
	}
	if (m < p) {
		rc = h4h_errf(err, H4H_EINPUT, "%d measurement%s cannot fit %d "
		    "knobs", m, m == 1 ? "" : "s", p);
		goto out;
	}
	c.t = t;
	c.rows = rows;
	c.n_rows = n;
	c.fit = fit;
	c.base = h4h_xcalloc((size_t)(2 * n), sizeof *c.base);
	c.u_base = h4h_xcalloc((size_t)p, sizeof *c.u_base);
	c.tmp = h4h_xcalloc((size_t)(2 * n + 2 * m), sizeof *c.tmp);

	u0 = gsl_vector_alloc((size_t)p);
	for (int j = 0; j < p; j++)
		u[j] = x_to_u(fit->ids[j], fit->start[j]);
	fdf.f = fit_f;
	fdf.df = fit_df;
	fdf.fvv = NULL;
	fdf.n = (size_t)m;
	fdf.p = (size_t)p;
	fdf.params = &c;
	params.trs = gsl_multifit_nlinear_trs_lm;
	w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params,
	    (size_t)m, (size_t)p);
	/*
	 * The simulator is piecewise smooth: the partitioner switches splits
	 * and Vela's block choice jumps, so the trust region can stop at a
	 * kink that is no minimum.  After each convergence every knob is
	 * probed a little further out; a probe that lowers the error
	 * restarts the iterations from there.
	 */
	for (;;) {
		double best, cst;
		int found = -1, conv;

		for (int j = 0; j < p; j++)
			gsl_vector_set(u0, (size_t)j, u[j]);
		st = gsl_multifit_nlinear_init(u0, &fdf, w);
		if (c.failed) {
			rc = h4h_errf(err, c.failed, "%s", c.err.msg);
			goto out;
		}
		if (st != GSL_SUCCESS) {
			rc = h4h_errf(err, H4H_ESIM, "fit: %s",
			    gsl_strerror(st));
			goto out;
		}
		if (restarts == 0)
			fit->cost0 = cost_of(gsl_multifit_nlinear_residual(w));
		conv = lm_iterate(&c, w, o, &iter, fit->status,
		    sizeof fit->status);
		if (conv < 0) {
			rc = h4h_errf(err, c.failed, "%s", c.err.msg);
			goto out;
		}
		for (int j = 0; j < p; j++)
			u[j] = gsl_vector_get(gsl_multifit_nlinear_position(w),
			    (size_t)j);
		fit->converged = conv;
		if (!conv || restarts == MAX_RESTARTS)
			break;
		best = cost_of(gsl_multifit_nlinear_residual(w));
		for (int j = 0; j < p; j++) {
			for (size_t q = 0; q < sizeof probes / sizeof probes[0];
			    q++) {
				memcpy(ut, u, (size_t)p * sizeof *ut);
				ut[j] += probes[q];
				if (cost_at(&c, ut, &cst) != 0) {
					rc = h4h_errf(err, c.failed, "%s",
					    c.err.msg);
					goto out;
				}
				if (cst < best * (1 - 1e-6)) {
					best = cst;
					found = j * 8 + (int)q;
				}
			}
		}
		if (found < 0)
			break;
		u[found / 8] += probes[found % 8];
		restarts++;
	}
	if (restarts > 0 && fit->converged) {
		size_t len = strlen(fit->status);

		snprintf(fit->status + len, sizeof fit->status - len, " after "
		    "%d restart%s", restarts, restarts == 1 ? "" : "s");
	}
	fit->iterations = iter;
	for (int j = 0; j < p; j++)
		fit->value[j] = u_to_x(fit->ids[j], u[j]);
	fit->cost = cost_of(gsl_multifit_nlinear_residual(w));
out:
	fit->evaluations = c.evals;
	gsl_multifit_nlinear_free(w);
	gsl_vector_free(u0);
	free(c.base);
	free(c.u_base);
	free(c.tmp);
	gsl_set_error_handler(old);
	return rc;
}
