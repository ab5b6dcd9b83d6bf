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

/* ---- the solver's variables -------------------------------------------- */

double
u_to_x(int id, double u)
{
	double lo, hi, s = (1 + sin(u)) / 2;

	sim_cal_knob_bounds(id, &lo, &hi);
	if (knob_is_log(id))
		return clampd(exp(log(lo) + (log(hi) - log(lo)) * s), lo, hi);
	return clampd(lo + (hi - lo) * s, lo, hi);
}

double
x_to_u(int id, double x)
{
	double lo, hi, s;

	sim_cal_knob_bounds(id, &lo, &hi);
	if (knob_is_log(id))
		s = (log(clampd(x, lo, hi)) - log(lo)) / (log(hi) - log(lo));
	else
		s = (clampd(x, lo, hi) - lo) / (hi - lo);
	s = clampd(s, START_MARGIN, 1 - START_MARGIN);
	return asin(2 * s - 1);
}

/* Predictions (time, then energy when fitted) for every row at knob
 * values x; only_kind_mask limits them to the rows of some SIM_KIND_*. */
static int
eval_rows_x(fit_ctx *c, const double *x, const int *only_kind_mask,
    double *out_t, double *out_e)
{
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

static int
eval_rows(fit_ctx *c, const double *u, const int *only_kind_mask,
    double *out_t, double *out_e)
{
	double x[CAL_MAX_KNOBS];

	for (int j = 0; j < c->fit->n_knobs; j++)
		x[j] = u_to_x(c->fit->ids[j], u[j]);
	return eval_rows_x(c, x, only_kind_mask, out_t, out_e);
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

int
fit_residuals_x(fit_ctx *c, const double *x, double *f)
{
	double *pt = c->tmp, *pe = c->tmp + c->n_rows;

	if (eval_rows_x(c, x, NULL, pt, pe) != 0)
		return -1;
	residuals(c, pt, pe, f);
	return 0;
}

int
fit_cost_x(fit_ctx *c, const double *x, double *cost)
{
	double *f = c->tmp + 2 * c->n_rows;

	if (fit_residuals_x(c, x, f) != 0)
		return -1;
	*cost = 0;
	for (int i = 0; i < c->fit->n_residuals; i++)
		*cost += f[i] * f[i];
	return 0;
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
		 * change for small steps, a latency between two whole
		 * cycles) and would be frozen there.  Once a step h moves
		 * something, a second secant over 10 h is taken and each
		 * row keeps the smaller slope of the two: a jump (the
		 * partitioner switching splits) gives a difference that
		 * does not shrink with the step, and would otherwise
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

/* GSL's scaled gradient test quantity, max_j |g_j| max(|u_j|, 1) /
 * max(cost / 2, 1), at the workspace's point: what --tol is compared with
 * when the trust region stops. */
static double
scaled_gradient(gsl_multifit_nlinear_workspace *w)
{
	gsl_matrix *J = gsl_multifit_nlinear_jac(w);
	gsl_vector *f = gsl_multifit_nlinear_residual(w);
	gsl_vector *x = gsl_multifit_nlinear_position(w);
	double phi = cost_of(f) / 2, g = 0;

	for (size_t j = 0; j < J->size2; j++) {
		double gj = 0;

		for (size_t i = 0; i < J->size1; i++)
			gj += gsl_matrix_get(J, i, j) * gsl_vector_get(f, i);
		gj = fabs(gj) * fmax(fabs(gsl_vector_get(x, j)), 1);
		if (gj > g)
			g = gj;
	}
	return g / fmax(phi, 1);
}

/* How the trust region stopped. */
enum { LM_FAILED = -1, LM_LIMIT, LM_CONVERGED, LM_NO_STEP, LM_GSL };

/* Trust-region iterations from the workspace's current point until a
 * tolerance is met (LM_CONVERGED, status says which), no step lowers the
 * error (LM_NO_STEP), max_iter is used up (LM_LIMIT), GSL fails (LM_GSL,
 * status says how) or a row fails to simulate (LM_FAILED, c->failed set).
 * *iter counts on. */
static int
lm_iterate(fit_ctx *c, gsl_multifit_nlinear_workspace *w,
    const sim_cal_fit_opts *o, int *iter, char *status, size_t n)
{
	int st, info = 0;

	while (*iter < o->max_iter) {
		st = gsl_multifit_nlinear_iterate(w);
		if (c->failed)
			return LM_FAILED;
		if (st == GSL_ENOPROG) {
			/* No step lowers the error: fine if the point is
			 * already a minimum. */
			if (gsl_multifit_nlinear_test(o->xtol, o->gtol,
			    o->ftol, &info, w) == GSL_SUCCESS && info == 2) {
				snprintf(status, n, "converged (small "
				    "gradient)");
				return LM_CONVERGED;
			}
			return LM_NO_STEP;
		}
		if (st != GSL_SUCCESS) {
			snprintf(status, n, "the trust region failed: %s",
			    gsl_strerror(st));
			return LM_GSL;
		}
		(*iter)++;
		st = gsl_multifit_nlinear_test(o->xtol, o->gtol, o->ftol,
		    &info, w);
		if (st == GSL_SUCCESS) {
			snprintf(status, n, "converged (%s)", info == 1 ?
			    "small step" : info == 2 ? "small gradient" :
			    "small change in error");
			return LM_CONVERGED;
		}
	}
	return LM_LIMIT;
}

/* ---- the derivative-free stage ------------------------------------------ */

/*
 * Nelder-Mead (GSL's nmsimplex2) on the sum of squared errors, before the
 * trust region: a bandwidth moves layers between compute- and memory-bound,
 * so the error has kinks and flat stretches where a Gauss-Newton step from
 * a far start stalls, while a simplex of finite size steps over them.  It
 * works on z = ln x for a knob fitted on ln x, else z = x / d with d the
 * knob's scale (its start, or a typical size when that is 0), so one
 * simplex size fits every knob; values are clamped into their bounds.
 */
typedef struct nm_ctx {
	fit_ctx *c;
	double d[CAL_MAX_KNOBS];
} nm_ctx;

/* Typical size of a knob fitted on x, for one that starts at 0 (assumed:
 * an overhead of 100 cycles, a latency of 32 like Vela's SRAM, 0.01 pJ). */
double
knob_scale(int id, double x)
{
	double ref = cal_knobs[id].type == KB_LATENCY ? 32 :
	    cal_knobs[id].type == KB_ENERGY ? 0.01 : 100;

	return fmax(fabs(x), ref);
}

static void
z_to_x(const nm_ctx *nc, const gsl_vector *z, double *x)
{
	const sim_cal_fit *fit = nc->c->fit;

	for (int j = 0; j < fit->n_knobs; j++) {
		double lo, hi, v = gsl_vector_get(z, (size_t)j);

		sim_cal_knob_bounds(fit->ids[j], &lo, &hi);
		x[j] = clampd(knob_is_log(fit->ids[j]) ? exp(v) : v * nc->d[j],
		    lo, hi);
	}
}

static double
nm_f(const gsl_vector *z, void *params)
{
	nm_ctx *nc = params;
	double x[CAL_MAX_KNOBS], cost;

	if (nc->c->failed)
		return GSL_NAN;
	z_to_x(nc, z, x);
	if (fit_cost_x(nc->c, x, &cost) != 0)
		return GSL_NAN;
	return cost;
}

/* Simplex size (in z) at which the stage hands over to the trust region,
 * its first step, and its budget: iterations per knob (assumed; measured
 * in doc/calibration.md on the memory table). */
#define NM_SIZE_TOL 0.01
#define NM_STEP 0.3
#define NM_ITER_PER_KNOB 40

/* Moves x (the fit's knobs) to the simplex's best point; *iters counts the
 * iterations.  -1: a row failed to simulate (c->failed). */
static int
simplex_stage(fit_ctx *c, double *x, int *iters)
{
	const sim_cal_fit *fit = c->fit;
	int p = fit->n_knobs, rc = 0;
	gsl_multimin_fminimizer *s =
	    gsl_multimin_fminimizer_alloc(gsl_multimin_fminimizer_nmsimplex2,
	    (size_t)p);
	gsl_vector *z = gsl_vector_alloc((size_t)p);
	gsl_vector *step = gsl_vector_alloc((size_t)p);
	gsl_multimin_function fn;
	nm_ctx nc;

	nc.c = c;
	for (int j = 0; j < p; j++) {
		int lg = knob_is_log(fit->ids[j]);

		nc.d[j] = knob_scale(fit->ids[j], x[j]);
		gsl_vector_set(z, (size_t)j, lg ? log(x[j]) : x[j] / nc.d[j]);
		gsl_vector_set(step, (size_t)j, NM_STEP);
	}
	fn.f = nm_f;
	fn.n = (size_t)p;
	fn.params = &nc;
	if (gsl_multimin_fminimizer_set(s, &fn, z, step) != GSL_SUCCESS) {
		rc = c->failed ? -1 : 0;
		goto out;
	}
	for (*iters = 0; *iters < NM_ITER_PER_KNOB * p; (*iters)++) {
		int st = gsl_multimin_fminimizer_iterate(s);

		if (c->failed) {
			rc = -1;
			goto out;
		}
		if (st != GSL_SUCCESS)
			break;
		if (gsl_multimin_test_size(gsl_multimin_fminimizer_size(s),
		    NM_SIZE_TOL) == GSL_SUCCESS)
			break;
	}
	z_to_x(&nc, gsl_multimin_fminimizer_x(s), x);
out:
	gsl_multimin_fminimizer_free(s);
	gsl_vector_free(z);
	gsl_vector_free(step);
	return rc;
}

/* ---- one solve ---------------------------------------------------------- */

/* Probes around a stop, in u, largest first: the first two (a scale moves
 * by about 30 % and 6 %, an overhead or energy by a similar share of its
 * reach) after the trust region converged, to step off a kink that is no
 * minimum; all of them when it stops with no step lowering the error,
 * down to PROBE_MIN (2e-4 in u, about 0.1 % of a scale; below it the
 * simulator's whole-cycle rounding is all a probe sees). */
static const double probe_sizes[] = { 0.1, 0.02, 4e-3, 8e-4, 2e-4 };
#define N_SIZES ((int)(sizeof probe_sizes / sizeof probe_sizes[0]))
#define PROBE_MIN 2e-4
/* A probe must lower the error by this share to count: smaller gains are
 * the simulator's whole-cycle rounding, and chasing them would spend the
 * restarts (assumed; 1e-3 of the squared error is 5e-4 of the rms, so a
 * 1 % rms error moves by at most 0.0005 % points). */
#define PROBE_GAIN 1e-3
#define MAX_RESTARTS 8

/* The best probe around u (sizes probe_sizes[0..n_sizes), both signs, one
 * knob at a time) that lowers *best, level by level from the largest:
 * *knob and *step get it (*knob = -1: none).  -1: a row failed. */
static int
probe(fit_ctx *c, const double *u, int n_sizes, double *best, int *knob,
    double *step)
{
	int p = c->fit->n_knobs, n = c->n_rows, m = c->fit->n_residuals;
	double *bt = h4h_xmalloc((size_t)(2 * n) * sizeof *bt), *be = bt + n;
	double *pt = c->tmp, *pe = c->tmp + n, *f = c->tmp + 2 * n;
	double ut[CAL_MAX_KNOBS];
	int rc = 0;

	*knob = -1;
	/* The predictions at u, so that a probe of a cycle scale only
	 * re-simulates the rows of its op kind (as the Jacobian does). */
	if (eval_rows(c, u, NULL, bt, be) != 0) {
		rc = -1;
		goto out;
	}
	for (int l = 0; l < n_sizes && *knob < 0; l++)
		for (int j = 0; j < p; j++) {
			const knob_def *k = &cal_knobs[c->fit->ids[j]];
			int mask[SIM_KIND_COUNT] = { 0 };

			if (k->kind >= 0)
				mask[k->kind] = 1;
			for (int sg = -1; sg <= 1; sg += 2) {
				double cst = 0;

				memcpy(ut, u, (size_t)p * sizeof *ut);
				ut[j] += sg * probe_sizes[l];
				memcpy(pt, bt, (size_t)n * sizeof *pt);
				memcpy(pe, be, (size_t)n * sizeof *pe);
				if (eval_rows(c, ut, k->kind >= 0 ? mask : NULL,
				    pt, pe) != 0) {
					rc = -1;
					goto out;
				}
				residuals(c, pt, pe, f);
				for (int i = 0; i < m; i++)
					cst += f[i] * f[i];
				if (cst < *best * (1 - PROBE_GAIN)) {
					*best = cst;
					*knob = j;
					*step = sg * probe_sizes[l];
				}
			}
		}
out:
	free(bt);
	return rc;
}

/*
 * Fit c->fit's knobs from x (moved to the result): the derivative-free
 * stage when asked, then the trust region.  The simulator is piecewise
 * smooth (the partitioner switches splits, Vela's block choice jumps, a
 * bandwidth makes a layer memory-bound), so the trust region can stop at a
 * kink that is no minimum: after each stop every knob is probed a little
 * further out, and a probe that lowers the error restarts the iterations
 * from there.  status says how it ended, *converged whether a tolerance
 * was met; *cost is the error at x.
 */
static int
solve(fit_ctx *c, const sim_cal_fit_opts *o, int simplex, double *x,
    double *cost, int *iter, int *nm_iter, int *converged, char *status,
    size_t n, h4h_err *err)
{
	gsl_multifit_nlinear_parameters params =
	    gsl_multifit_nlinear_default_parameters();
	gsl_multifit_nlinear_workspace *w = NULL;
	gsl_multifit_nlinear_fdf fdf;
	gsl_vector *u0 = NULL;
	double u[CAL_MAX_KNOBS], grad = 0;
	const sim_cal_fit *fit = c->fit;
	int p = fit->n_knobs, m = fit->n_residuals, rc = 0, restarts = 0;
	int how = LM_LIMIT, it0 = *iter;

	*converged = 0;
	if (simplex && simplex_stage(c, x, nm_iter) != 0)
		return h4h_errf(err, c->failed, "%s", c->err.msg);
	for (int j = 0; j < p; j++)
		u[j] = x_to_u(fit->ids[j], x[j]);
	c->have_base = 0;
	u0 = gsl_vector_alloc((size_t)p);
	fdf.f = fit_f;
	fdf.df = fit_df;
	fdf.fvv = NULL;
	fdf.n = (size_t)m;
	fdf.p = (size_t)p;
	fdf.params = c;
	params.trs = gsl_multifit_nlinear_trs_lm;
	w = gsl_multifit_nlinear_alloc(gsl_multifit_nlinear_trust, &params,
	    (size_t)m, (size_t)p);
	for (;;) {
		double best, step = 0;
		int found = -1, st;

		for (int j = 0; j < p; j++)
			gsl_vector_set(u0, (size_t)j, u[j]);
		st = gsl_multifit_nlinear_init(u0, &fdf, w);
		if (c->failed) {
			rc = h4h_errf(err, c->failed, "%s", c->err.msg);
			goto out;
		}
		if (st != GSL_SUCCESS) {
			rc = h4h_errf(err, H4H_ESIM, "fit: %s",
			    gsl_strerror(st));
			goto out;
		}
		how = lm_iterate(c, w, o, iter, status, n);
		if (how == LM_FAILED) {
			rc = h4h_errf(err, c->failed, "%s", c->err.msg);
			goto out;
		}
		for (int j = 0; j < p; j++)
			u[j] = gsl_vector_get(gsl_multifit_nlinear_position(w),
			    (size_t)j);
		best = cost_of(gsl_multifit_nlinear_residual(w));
		*cost = best;
		if (how == LM_NO_STEP)
			grad = scaled_gradient(w);
		if (how == LM_LIMIT || how == LM_GSL ||
		    restarts == MAX_RESTARTS)
			break;
		if (probe(c, u, how == LM_NO_STEP ? N_SIZES : 2, &best, &found,
		    &step) != 0) {
			rc = h4h_errf(err, c->failed, "%s", c->err.msg);
			goto out;
		}
		if (found < 0)
			break;
		u[found] += step;
		restarts++;
	}
	switch (how) {
	case LM_CONVERGED:
		*converged = 1;
		if (restarts > 0) {
			size_t len = strlen(status);

			snprintf(status + len, n - len, " after %d restart%s",
			    restarts, restarts == 1 ? "" : "s");
		}
		break;
	case LM_NO_STEP:
		/* A kink: no trust-region step lowers the error, and the
		 * gradient (a secant across the kink) is not small, yet no
		 * probe of any knob, down to PROBE_MIN, lowers it either: a
		 * minimum of the piecewise model as far as steps can tell. */
		*converged = restarts < MAX_RESTARTS;
		if (*converged)
			snprintf(status, n, "converged at a kink (no "
			    "trust-region step and no probe down to %g in u "
			    "lowers the error; scaled gradient %.3g)", PROBE_MIN,
			    grad);
		else
			snprintf(status, n, "stopped after %d restarts at a "
			    "kink: no trust-region step lowers the error and "
			    "the scaled gradient %.3g is above the tolerance "
			    "%.3g", MAX_RESTARTS, grad, o->gtol);
		break;
	case LM_LIMIT:
		snprintf(status, n, "stopped at the iteration limit (%d "
		    "trust-region iterations, --max-iter) before the step or "
		    "gradient fell below the tolerance %.3g", *iter - it0,
		    o->xtol);
		break;
	default:
		break;		/* LM_GSL: status has GSL's reason */
	}
	for (int j = 0; j < p; j++)
		x[j] = u_to_x(fit->ids[j], u[j]);
out:
	gsl_multifit_nlinear_free(w);
	gsl_vector_free(u0);
	return rc;
}

/* ---- the fit ------------------------------------------------------------ */

void
sim_cal_fit_opts_default(sim_cal_fit_opts *o)
{
	o->max_iter = 100;
	o->xtol = 1e-6;
	o->gtol = 1e-6;
	o->ftol = 1e-10;
	o->simplex = 0;
}

/* *none = 1 when knob j of c->fit, set to either of its bounds, changes no
 * residual from those at x. */
static int
moves_nowhere(fit_ctx *c, const double *x, int j, int *none, h4h_err *err)
{
	int p = c->fit->n_knobs, m = c->fit->n_residuals;
	double *f0 = h4h_xmalloc((size_t)m * sizeof *f0);
	double *f1 = h4h_xmalloc((size_t)m * sizeof *f1);
	double xs[CAL_MAX_KNOBS], lo, hi;
	int rc = 0;

	*none = 1;
	sim_cal_knob_bounds(c->fit->ids[j], &lo, &hi);
	memcpy(xs, x, (size_t)p * sizeof *xs);
	if (fit_residuals_x(c, xs, f0) != 0)
		goto fail;
	for (int side = 0; side < 2 && *none; side++) {
		xs[j] = side ? hi : lo;
		if (fit_residuals_x(c, xs, f1) != 0)
			goto fail;
		for (int i = 0; i < m; i++)
			if (f1[i] != f0[i])
				*none = 0;
	}
	goto out;
fail:
	rc = h4h_errf(err, c->failed, "%s", c->err.msg);
out:
	free(f0);
	free(f1);
	return rc;
}

/* Keep knob j, which the table cannot determine, where it started. */
static void
freeze(sim_cal_fit *fit, int j, const char *why)
{
	fit->undetermined[j] = 1;
	fit->value[j] = fit->start[j];
	fit->sigma[j] = NAN;
	snprintf(fit->why[j], sizeof fit->why[0], "%s", why);
}

/*
 * The fit: solve for every knob; then ask the Jacobian at the result
 * (uncert.c) whether a direction is flat.  A knob that the table cannot
 * determine goes back to its start, marked, and the others are solved
 * again without it, until every remaining direction is determined.
 */
int
sim_cal_fit_run(const sim_cal_table *t, const int *rows, int n,
    const sim_cal_fit_opts *o, sim_cal_fit *fit, h4h_err *err)
{
	gsl_error_handler_t *old = gsl_set_error_handler_off();
	sim_cal_fit sub;
	fit_ctx c;
	int p = fit->n_knobs, m = n, rc = 0, simplex = o->simplex > 0;
	int iter = 0;
	int nm_iter = 0;
	int active[CAL_MAX_KNOBS];	/* sub's knob j is fit's active[j] */
	double x[CAL_MAX_KNOBS];

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
	fit->simplex_iterations = 0;
	fit->noise = NAN;
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
	for (int j = 0; j < p; j++) {
		int col, line = 0;

		/* A knob the table fixes per row would override the very
		 * condition the row was measured under. */
		col = table_sets_key(t, rows, n, sim_cal_knob_name(fit->ids[j]),
		    &line);
		if (col >= 0) {
			rc = h4h_errf(err, H4H_EINPUT, "knob %s cannot be "
			    "fitted: table '%s' sets it per row (column %s, "
			    "line %d)", sim_cal_knob_name(fit->ids[j]), t->path,
			    t->cols[col], line);
			goto out;
		}
	}
	for (int j = 0; j < p; j++) {
		fit->value[j] = fit->start[j];
		fit->sigma[j] = NAN;
		fit->undetermined[j] = 0;
		fit->why[j][0] = '\0';
	}
	c.t = t;
	c.rows = rows;
	c.n_rows = n;
	c.fit = fit;
	c.base = h4h_xcalloc((size_t)(2 * n), sizeof *c.base);
	c.u_base = h4h_xcalloc((size_t)p, sizeof *c.u_base);
	c.tmp = h4h_xcalloc((size_t)(2 * n + 2 * m), sizeof *c.tmp);
	if (fit_cost_x(&c, fit->start, &fit->cost0) != 0) {
		rc = h4h_errf(err, c.failed, "%s", c.err.msg);
		goto out;
	}
	fit->cost = fit->cost0;
	memset(&sub, 0, sizeof sub);
	sub.energy = fit->energy;
	sub.n_residuals = m;
	for (int solved = 0;;) {
		fit_analysis a;
		int conv;

		sub.n_knobs = 0;
		for (int j = 0; j < p; j++)
			if (!fit->undetermined[j]) {
				active[sub.n_knobs] = j;
				sub.ids[sub.n_knobs] = fit->ids[j];
				x[sub.n_knobs++] = fit->value[j];
			}
		if (sub.n_knobs == 0) {
			snprintf(fit->status, sizeof fit->status, "the table "
			    "determines none of the knobs (%s: %s)",
			    sim_cal_knob_name(fit->ids[0]), fit->why[0]);
			fit->converged = 0;
			fit->cost = fit->cost0;
			break;
		}
		c.fit = &sub;
		/* Before the first solve, a knob that moves no row at the
		 * start, nor at either of its bounds, is dropped at once (the
		 * Sram_Only weight port on a Shared_Sram table) rather than
		 * carried through a fit it cannot help.  One that moves rows
		 * somewhere in its range stays: a bandwidth far too fast at
		 * the start binds no row, yet the right one may. */
		if (!solved) {
			if ((rc = fit_analyse(&c, x, fit->cost0, &a, err)) != 0)
				goto out;
			if (a.flat >= 0 && a.zero_effect) {
				int none;

				if ((rc = moves_nowhere(&c, x, a.flat, &none,
				    err)) != 0)
					goto out;
				if (none) {
					double lo, hi;
					char why[200];

					sim_cal_knob_bounds(sub.ids[a.flat], &lo,
					    &hi);
					snprintf(why, sizeof why, "no fitted "
					    "row's prediction moves with it, "
					    "anywhere in its bounds [%g, %g]: "
					    "the table does not exercise it "
					    "(e.g. no row is bound by it)", lo,
					    hi);
					freeze(fit, active[a.flat], why);
					continue;
				}
			}
		}
		/* A re-solve after dropping a knob starts at the optimum
		 * found: the trust region alone finishes it. */
		rc = solve(&c, o, simplex, x, &fit->cost, &iter, &nm_iter,
		    &conv, fit->status, sizeof fit->status, err);
		if (rc != 0)
			goto out;
		solved = 1;
		simplex = 0;
		fit->converged = conv;
		/* A latency is set in whole cycles: report what is set. */
		for (int k = 0; k < sub.n_knobs; k++)
			if (cal_knobs[sub.ids[k]].type == KB_LATENCY)
				x[k] = round(x[k]);
		for (int k = 0; k < sub.n_knobs; k++)
			fit->value[active[k]] = x[k];
		if ((rc = fit_analyse(&c, x, fit->cost, &a, err)) != 0)
			goto out;
		fit->noise = a.noise;
		for (int k = 0; k < sub.n_knobs; k++)
			fit->sigma[active[k]] = a.sigma[k];
		if (a.flat < 0)
			break;
		freeze(fit, active[a.flat], a.why);
	}
	/* The frozen knobs are back at their start: the error reported is
	 * the one at the values returned. */
	c.fit = fit;
	if (fit_cost_x(&c, fit->value, &fit->cost) != 0) {
		rc = h4h_errf(err, c.failed, "%s", c.err.msg);
		goto out;
	}
	if (fit->cost > fit->cost0) {
		/* Never hand back a point worse than the start. */
		memcpy(fit->value, fit->start, (size_t)p * sizeof *fit->value);
		fit->cost = fit->cost0;
		fit->converged = 0;
		snprintf(fit->status, sizeof fit->status, "no point better "
		    "than the start was found");
	}
out:
	fit->iterations = iter;
	fit->simplex_iterations = nm_iter;
	fit->evaluations = c.evals;
	free(c.base);
	free(c.u_base);
	free(c.tmp);
	gsl_set_error_handler(old);
	return rc;
}
