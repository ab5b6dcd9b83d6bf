/*
 * cmd_calibrate.c - `h4h calibrate`: fit the NPU and CIM calibration knobs
 * to a measured per-layer table and write the calibrated profile
 * (doc/calibration.md).
 *
 * Everything is read and checked first (profile, knobs, tables, filters,
 * output places), then the fit, the cross-validation and the validation
 * run, and only a converged fit writes anything: the profile (a ';' comment
 * block saying what table, when and the errors, then the canonical dump)
 * and, with --report, residuals.csv and a parity plot.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/plot.h"
#include "core/atomic.h"
#include "cost/calibrate/calibrate.h"

#define CMD "calibrate"
#define MAX_SETS 64
#define MAX_FILTERS 8

static const char *usage_text =
    "usage: h4h calibrate --system FILE.ini --table FILE.csv --out FILE.ini\n"
    "                     [--fit key,key,...] [--set section.key=value]...\n"
    "                     [--measured-column NAME]\n"
    "                     [--train-filter COL=VALUE]... [--validate FILE.csv]\n"
    "                     [--validate-filter COL=VALUE]...\n"
    "                     [--folds K] [--seed N] [--max-iter N] [--tol X]\n"
    "                     [--simplex on|off] [--report DIR]\n"
    "\n"
    "Fits calibration knobs of the NPU and CIM models to a measured\n"
    "per-layer table by nonlinear least squares on the relative error\n"
    "(GSL, trust region, bounded knobs), prints MAPE and worst error per op\n"
    "kind before and after, k-fold cross-validation and held-out validation\n"
    "errors, and writes the calibrated profile.  The table format is in\n"
    "doc/calibration.md.\n"
    "\n"
    "  --system FILE     base profile (INI); the table's condition columns\n"
    "                    (npu_macs, clock_mhz, macros, ...) override it per row\n"
    "  --table FILE      measured table (CSV with a header)\n"
    "  --out FILE        the calibrated profile to write\n"
    "  --fit K,K,...     knobs to fit (default: the cycle scale of each op\n"
    "                    kind in the table, npu.op_overhead_cycles, and\n"
    "                    cim.mac_cycle_scale when rows use macros)\n"
    "  --set K=V         override a key of the base profile\n"
    "  --measured-column NAME\n"
    "                    column holding the measurement (default:\n"
    "                    measured_cycles, measured_latency_s or est_cycles);\n"
    "                    a name ending in _s is seconds, else NPU cycles\n"
    "  --train-filter COL=VALUE\n"
    "                    fit only rows whose COL is VALUE (repeat: all must\n"
    "                    match)\n"
    "  --validate FILE   held-out table to report errors on (not fitted)\n"
    "  --validate-filter COL=VALUE\n"
    "                    held-out rows: those of the --validate table (or, "
    "without\n"
    "                    it, of --table) whose COL is VALUE\n"
    "  --folds K         k-fold cross-validation on the fitted rows (default\n"
    "                    5; 0 turns it off)\n"
    "  --seed N          shuffling seed of the folds (default 1)\n"
    "  --max-iter N      trust-region iterations (default 100)\n"
    "  --tol X           step and gradient tolerance (default 1e-6)\n"
    "  --simplex on|off  a derivative-free (Nelder-Mead) stage before the\n"
    "                    trust region (default off)\n"
    "  --report DIR      write DIR/residuals.csv and a parity plot\n"
    "                    (DIR/parity.png and .svg when gnuplot is on PATH)\n";

typedef struct filter {
	char *col;
	const char *value;
} filter;

static int
parse_filter(const char *opt, const char *arg, filter *f)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
		return cli_usage_error(CMD, "%s must be COL=VALUE (got '%s')",
		    opt, arg);
	f->col = h4h_xmalloc((size_t)(eq - arg) + 1);
	memcpy(f->col, arg, (size_t)(eq - arg));
	f->col[eq - arg] = '\0';
	f->value = eq + 1;
	return 0;
}

/* Rows of t that pass every filter; H4H_EINPUT for a column t lacks or an
 * empty selection. */
static int
select_rows(const sim_cal_table *t, const filter *fs, int nf, const char *opt,
    int **rows, int *n, h4h_err *err)
{
	int col[MAX_FILTERS];

	for (int i = 0; i < nf; i++)
		if ((col[i] = sim_cal_table_col(t, fs[i].col)) < 0)
			return h4h_errf(err, H4H_EINPUT, "%s: table '%s' has no "
			    "column '%s'", opt, t->path, fs[i].col);
	*rows = h4h_xmalloc((size_t)t->n_rows * sizeof **rows);
	*n = 0;
	for (int r = 0; r < t->n_rows; r++) {
		int ok = 1;

		for (int i = 0; i < nf; i++)
			if (strcmp(t->rows[r].fields[col[i]], fs[i].value) != 0)
				ok = 0;
		if (ok)
			(*rows)[(*n)++] = r;
	}
	if (*n == 0) {
		free(*rows);
		*rows = NULL;
		return h4h_errf(err, H4H_EINPUT, "%s: no row of table '%s' "
		    "matches", opt, t->path);
	}
	return 0;
}

static void
filters_desc(const filter *fs, int nf, char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < nf && len < n; i++)
		len += (size_t)snprintf(buf + len, n - len, "%s%s=%s",
		    i ? ", " : "", fs[i].col, fs[i].value);
}

/* --report DIR: an existing writable directory, or one we can create. */
static int
report_place(const char *dir, h4h_err *err)
{
	struct stat st;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return h4h_errf(err, H4H_EIO, "--report: '%s' is not a "
			    "directory", dir);
		if (access(dir, W_OK) != 0)
			return h4h_errf(err, H4H_EIO, "--report: cannot write "
			    "in '%s': %s", dir, strerror(errno));
		return 0;
	}
	if (!h4h_writable_place(dir))
		return h4h_errf(err, H4H_EIO, "--report: cannot create '%s': "
		    "%s", dir, strerror(errno));
	return 0;
}

/* A set of rows with predictions before and after. */
typedef struct evalset {
	const sim_cal_table *t;
	int *rows;
	int n;
	double *before, *after;		/* time */
	double *before_e, *after_e;	/* energy */
	sim_cal_stats s0, s1, e0, e1;
} evalset;

static int
eval_set(evalset *es, const sim_cal_fit *fit, h4h_err *err)
{
	size_t sz = (size_t)es->n * sizeof(double);
	int rc;

	es->before = h4h_xmalloc(sz);
	es->after = h4h_xmalloc(sz);
	es->before_e = h4h_xmalloc(sz);
	es->after_e = h4h_xmalloc(sz);
	rc = sim_cal_predict(es->t, fit->ids, fit->start, fit->n_knobs,
	    es->rows, es->n, es->before, es->before_e, err);
	if (rc == 0)
		rc = sim_cal_predict(es->t, fit->ids, fit->value, fit->n_knobs,
		    es->rows, es->n, es->after, es->after_e, err);
	if (rc != 0)
		return rc;
	sim_cal_stats_compute(es->t, es->rows, es->n, es->before, 0, &es->s0);
	sim_cal_stats_compute(es->t, es->rows, es->n, es->after, 0, &es->s1);
	sim_cal_stats_compute(es->t, es->rows, es->n, es->before_e, 1,
	    &es->e0);
	sim_cal_stats_compute(es->t, es->rows, es->n, es->after_e, 1,
	    &es->e1);
	return 0;
}

static void
eval_free(evalset *es)
{
	free(es->rows);
	free(es->before);
	free(es->after);
	free(es->before_e);
	free(es->after_e);
}

static void
print_stats(FILE *f, const char *title, const sim_cal_stats *a,
    const sim_cal_stats *b)
{
	fprintf(f, "%s\n  %-6s %5s  %11s %18s  %11s %18s\n", title, "op",
	    "rows", "MAPE before", "worst before", "MAPE after",
	    "worst after");
	for (int k = 0; k <= CAL_KIND_COUNT; k++) {
		char w0[32], w1[32];

		if (a->n[k] == 0)
			continue;
		snprintf(w0, sizeof w0, "%.2f%% (line %d)", 100 * a->worst[k],
		    a->worst_line[k]);
		snprintf(w1, sizeof w1, "%.2f%% (line %d)", 100 * b->worst[k],
		    b->worst_line[k]);
		fprintf(f, "  %-6s %5d  %10.2f%% %18s  %10.2f%% %18s\n",
		    sim_cal_kind_name(k), a->n[k], 100 * a->mape[k], w0,
		    100 * b->mape[k], w1);
	}
}

/* Everything the profile's comment block and the report need. */
typedef struct outputs {
	const char *table_path, *system_path, *date;
	const sim_cal_table *t;
	const sim_cal_fit *fit;
	const evalset *train, *val;
	const char *train_desc, *val_desc;
	int folds;
	unsigned long seed;
	double cv_mean;
	int cv_failed;
	const sim_profile *prof;
} outputs;

/* One comment paragraph: "; " lines of at most 78 columns, broken at
 * blanks where possible (the profile loader takes lines of < 200). */
static void
comment(FILE *f, const char *fmt, ...)
{
	char buf[4096], *p = buf;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	while (*p != '\0') {
		size_t len = strlen(p), cut = len;

		if (len > 76) {
			cut = 76;
			while (cut > 20 && p[cut] != ' ')
				cut--;
			if (p[cut] != ' ')
				cut = 76;
		}
		fprintf(f, ";%s%.*s\n", p == buf ? " " : "   ", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* A knob's standard deviation for the report: a percentage for a knob
 * fitted on ln x (a scale, bandwidth or compression), else in the knob's
 * unit; "undetermined", or "-" when not estimated. */
static void
knob_sigma(const sim_cal_fit *fit, int j, char *buf, size_t n)
{
	double sg = fit->sigma[j], v = fit->value[j];

	if (fit->undetermined[j] || !isfinite(sg))
		snprintf(buf, n, "%s", fit->undetermined[j] ? "undetermined" :
		    "-");
	else if (sim_cal_knob_is_relative(fit->ids[j]) && v != 0)
		snprintf(buf, n, "%.3g%%", 100 * sg / fabs(v));
	else
		snprintf(buf, n, "%.3g", sg);
}

static void
write_profile(FILE *f, const void *vctx)
{
	const outputs *o = vctx;
	const sim_cal_fit *fit = o->fit;
	const char *unit = o->t->latency ? "latency" : "cycles";

	comment(f, "calibrated by h4h calibrate on %s", o->date);
	comment(f, "table: %s (%d rows, fnv1a-64 %016llx), measured column %s "
	    "(%s)", o->table_path, o->t->n_rows,
	    (unsigned long long)o->t->hash, o->t->cols[o->t->measured_col],
	    o->t->latency ? "seconds" : "NPU cycles");
	comment(f, "base profile: %s", o->system_path);
	if (!fit->converged)
		comment(f, "NOT CONVERGED: the fit lowered the error but did "
		    "not meet the tolerance; these are the best values it "
		    "reached");
	comment(f, "fitted on %d rows%s%s%s: %s after %d trust-region "
	    "iterations%s", o->train->n, o->train_desc[0] ? " (" : "",
	    o->train_desc, o->train_desc[0] ? ")" : "", fit->status,
	    fit->iterations, fit->simplex_iterations > 0 ? " (after a "
	    "simplex stage)" : "");
	comment(f, "knobs fitted (+- one standard deviation):");
	for (int j = 0; j < fit->n_knobs; j++) {
		char sg[32];

		knob_sigma(fit, j, sg, sizeof sg);
		if (fit->undetermined[j])
			comment(f, "  %s kept at %.6g: the table cannot "
			    "determine it: %s", sim_cal_knob_name(fit->ids[j]),
			    fit->value[j], fit->why[j]);
		else
			comment(f, "  %s %.6g -> %.6g (+- %s)",
			    sim_cal_knob_name(fit->ids[j]), fit->start[j],
			    fit->value[j], sg);
	}
	comment(f, "%s MAPE before %.2f%% after %.2f%%; worst before %.2f%% "
	    "(line %d) after %.2f%% (line %d)", unit,
	    100 * o->train->s0.mape[CAL_KIND_COUNT],
	    100 * o->train->s1.mape[CAL_KIND_COUNT],
	    100 * o->train->s0.worst[CAL_KIND_COUNT],
	    o->train->s0.worst_line[CAL_KIND_COUNT],
	    100 * o->train->s1.worst[CAL_KIND_COUNT],
	    o->train->s1.worst_line[CAL_KIND_COUNT]);
	if (o->train->e0.n[CAL_KIND_COUNT] > 0)
		comment(f, "energy MAPE before %.2f%% after %.2f%% (%d rows)",
		    100 * o->train->e0.mape[CAL_KIND_COUNT],
		    100 * o->train->e1.mape[CAL_KIND_COUNT],
		    o->train->e0.n[CAL_KIND_COUNT]);
	if (o->folds > 0)
		comment(f, "%d-fold cross-validation MAPE %.2f%% (seed %lu%s)",
		    o->folds, 100 * o->cv_mean, o->seed, o->cv_failed ?
		    ", some folds did not converge" : "");
	if (o->val != NULL)
		comment(f, "validation on %d rows (%s): %s MAPE before %.2f%% "
		    "after %.2f%%, worst after %.2f%% (line %d)", o->val->n,
		    o->val_desc, unit, 100 * o->val->s0.mape[CAL_KIND_COUNT],
		    100 * o->val->s1.mape[CAL_KIND_COUNT],
		    100 * o->val->s1.worst[CAL_KIND_COUNT],
		    o->val->s1.worst_line[CAL_KIND_COUNT]);
	comment(f, "the table's condition columns (npu.macs, clocks, macros, "
	    "...) were applied per row on top of this profile; see "
	    "doc/calibration.md");
	fputc('\n', f);
	sim_profile_dump(o->prof, f);
}

static void
put_csv_row(FILE *f, const evalset *es, const char *set, int i)
{
	const sim_cal_row *r = &es->t->rows[es->rows[i]];
	double m = r->measured;

	fprintf(f, "%s,%d,%s,\"%s\",%.9g,%.9g,%.9g,%.6f,%.6f", set, r->line,
	    sim_cal_kind_name(r->kind), r->desc, m, es->before[i],
	    es->after[i], (es->before[i] - m) / m, (es->after[i] - m) / m);
	if (r->measured_energy_j > 0) {
		double e = r->measured_energy_j;

		fprintf(f, ",%.9g,%.9g,%.9g,%.6f,%.6f\n", e, es->before_e[i],
		    es->after_e[i], (es->before_e[i] - e) / e,
		    (es->after_e[i] - e) / e);
	} else {
		fprintf(f, ",,%.9g,%.9g,,\n", es->before_e[i], es->after_e[i]);
	}
}

static void
write_residuals(FILE *f, const void *vctx)
{
	const outputs *o = vctx;

	fprintf(f, "set,line,op,layer,measured,predicted_before,"
	    "predicted_after,error_before,error_after,measured_energy_j,"
	    "predicted_energy_before_j,predicted_energy_after_j,"
	    "energy_error_before,energy_error_after\n");
	for (int i = 0; i < o->train->n; i++)
		put_csv_row(f, o->train, "fit", i);
	for (int i = 0; o->val != NULL && i < o->val->n; i++)
		put_csv_row(f, o->val, "validate", i);
}

static void
write_parity_dat(FILE *f, const void *vctx)
{
	const outputs *o = vctx;

	for (int set = 0; set < 2; set++) {
		const evalset *es = set ? o->val : o->train;

		for (int k = 0; k < CAL_KIND_COUNT; k++) {
			fprintf(f, "# %s %s: measured predicted_after\n",
			    set ? "validate" : "fit", sim_cal_kind_name(k));
			for (int i = 0; es != NULL && i < es->n; i++)
				if (es->t->rows[es->rows[i]].kind == k)
					fprintf(f, "%.9g %.9g\n",
					    es->t->rows[es->rows[i]].measured,
					    es->after[i]);
			/* gnuplot rejects an empty block: an off-scale
			 * point keeps its index in place. */
			fprintf(f, "NaN NaN\n\n\n");
		}
	}
}

static void
write_parity_gp(FILE *f, const void *vctx)
{
	const outputs *o = vctx;
	static const char *const colours[CAL_KIND_COUNT] = {
		"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
		"#8c564b" };
	const char *unit = o->t->latency ? "latency (s)" : "cycles";

	plot_gp_head(f, "parity.gp - measured against predicted, h4h "
	    "calibrate", "Reads parity.dat: one block per (set, op kind); "
	    "filled = fitted rows,\nopen = validation rows.  The dashed "
	    "lines are +-10 %.", PLOT_BOTH);
	plot_gp_begin(f, "parity", 700, 640);
	fprintf(f, "    set logscale xy\n    set grid\n    set key top left\n"
	    "    set size ratio -1\n");
	fprintf(f, "    set xlabel \"measured %s\"\n    set ylabel \"predicted "
	    "%s (calibrated)\"\n", unit, unit);
	fprintf(f, "    set title ");
	plot_gp_string(f, o->table_path);
	fprintf(f, "\n    plot x notitle lc rgb \"black\", 1.1*x notitle dt 2 "
	    "lc rgb \"gray\", 0.9*x notitle dt 2 lc rgb \"gray\"");
	for (int set = 0; set < 2; set++) {
		const evalset *es = set ? o->val : o->train;

		for (int k = 0; es != NULL && k < CAL_KIND_COUNT; k++) {
			int any = 0;

			for (int i = 0; i < es->n; i++)
				any |= es->t->rows[es->rows[i]].kind == k;
			if (!any)
				continue;
			fprintf(f, ", \\\n        \"parity.dat\" index %d using "
			    "1:2 with points pt %d ps 0.8 lc rgb \"%s\" "
			    "title \"%s%s\"", set * CAL_KIND_COUNT + k,
			    set ? 6 : 7, colours[k], sim_cal_kind_name(k),
			    set ? " (validation)" : "");
		}
	}
	fprintf(f, "\n");
	plot_gp_end(f);
}

static int
write_report(const char *dir, const outputs *o, h4h_err *err)
{
	static const char *const images[] = { "parity.png", "parity.svg" };
	int rc, rendered = 0;

	if ((rc = plot_dir_prepare(dir, err)) != 0)
		return rc;
	rc = plot_write(dir, "residuals.csv", "csv", write_residuals, o, err);
	if (rc == 0)
		rc = plot_write(dir, "parity.dat", "data", write_parity_dat, o,
		    err);
	if (rc == 0)
		rc = plot_write(dir, "parity.gp", "gnuplot script",
		    write_parity_gp, o, err);
	if (rc == 0)
		rc = plot_render(CMD, dir, "parity", images, 2, &rendered, err);
	return rc;
}

static void
format_date(char *buf, size_t n)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t now = time(NULL);
	struct tm tm;

	/* Reproducible outputs (the doc's worked example, tests). */
	if (sde != NULL && *sde != '\0')
		now = (time_t)strtoll(sde, NULL, 10);
	gmtime_r(&now, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
parse_long(const char *opt, const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || *v < lo || *v > hi)
		return cli_usage_error(CMD, "%s must be an integer in %ld..%ld "
		    "(got '%s')", opt, lo, hi, s);
	return 0;
}

static int
calibrate_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "system", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "fit", required_argument, NULL, 'f' },
		{ "set", required_argument, NULL, 'S' },
		{ "measured-column", required_argument, NULL, 'm' },
		{ "train-filter", required_argument, NULL, 'T' },
		{ "validate", required_argument, NULL, 'v' },
		{ "validate-filter", required_argument, NULL, 'V' },
		{ "folds", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 'e' },
		{ "max-iter", required_argument, NULL, 'i' },
		{ "tol", required_argument, NULL, 'l' },
		{ "report", required_argument, NULL, 'r' },
		{ "simplex", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *system = NULL, *table = NULL, *out = NULL, *fit_list = NULL;
	const char *measured = NULL, *val_path = NULL, *report = NULL;
	const char *sets[MAX_SETS];
	filter tf[MAX_FILTERS], vf[MAX_FILTERS];
	int n_sets = 0, ntf = 0, nvf = 0, c, rc, status = 0;
	long folds = 5, seed = 1, max_iter = 100;
	int simplex = 0;
	double tol = 1e-6;
	sim_profile base, prof;
	sim_cal_table *t = NULL, *vt = NULL;
	sim_cal_fit fit;
	sim_cal_fit_opts fo;
	evalset train, val;
	double cv_mean = 0, *cv_fold = NULL, t0;
	int cv_failed = 0, have_val;
	char tdesc[256], vdesc[512], date[40], simplex_desc[48];
	outputs o;
	h4h_err err = { "" };

	memset(&train, 0, sizeof train);
	memset(&val, 0, sizeof val);
	memset(&fit, 0, sizeof fit);
	memset(tf, 0, sizeof tf);
	memset(vf, 0, sizeof vf);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			system = optarg;
			break;
		case 't':
			table = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			fit_list = optarg;
			break;
		case 'S':
			if (n_sets == MAX_SETS) {
				status = cli_usage_error(CMD, "at most %d --set "
				    "options", MAX_SETS);
				goto out;
			}
			sets[n_sets++] = optarg;
			break;
		case 'm':
			measured = optarg;
			break;
		case 'T':
		case 'V':
			if ((c == 'T' ? ntf : nvf) == MAX_FILTERS) {
				status = cli_usage_error(CMD, "at most %d %s "
				    "options", MAX_FILTERS, c == 'T' ?
				    "--train-filter" : "--validate-filter");
				goto out;
			}
			status = parse_filter(c == 'T' ? "--train-filter" :
			    "--validate-filter", optarg, c == 'T' ?
			    &tf[ntf++] : &vf[nvf++]);
			if (status != 0)
				goto out;
			break;
		case 'v':
			val_path = optarg;
			break;
		case 'k':
			if ((status = parse_long("--folds", optarg, 0, 1000,
			    &folds)) != 0)
				goto out;
			if (folds == 1) {
				status = cli_usage_error(CMD, "--folds must be "
				    "0 (off) or >= 2 (got 1)");
				goto out;
			}
			break;
		case 'e':
			if ((status = parse_long("--seed", optarg, 0, 2147483647L,
			    &seed)) != 0)
				goto out;
			break;
		case 'i':
			if ((status = parse_long("--max-iter", optarg, 1, 100000,
			    &max_iter)) != 0)
				goto out;
			break;
		case 'l': {
			char *end;

			tol = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(tol > 0) ||
			    tol >= 1) {
				status = cli_usage_error(CMD, "--tol must be a "
				    "number in (0, 1) (got '%s')", optarg);
				goto out;
			}
			break;
		}
		case 'r':
			report = optarg;
			break;
		case 'x':
			if (strcmp(optarg, "on") == 0 ||
			    strcmp(optarg, "off") == 0) {
				simplex = strcmp(optarg, "on") == 0;
				break;
			}
			status = cli_usage_error(CMD, "--simplex must be on or "
			    "off (got '%s')", optarg);
			goto out;
		case 'h':
			fputs(usage_text, stdout);
			goto out;
		default:
			status = cli_usage_error(CMD, "unknown option or missing "
			    "value: '%s' (see h4h calibrate --help)",
			    argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		status = cli_usage_error(CMD, "unexpected argument '%s'",
		    argv[optind]);
		goto out;
	}
	if (system == NULL || table == NULL || out == NULL) {
		status = cli_usage_error(CMD, "--system, --table and --out are "
		    "required (see h4h calibrate --help)");
		goto out;
	}

	/* Inputs. */
	rc = sim_profile_open(system, sets, n_sets, NULL, &base, &err);
	if (rc == 0 && fit_list != NULL)
		rc = sim_cal_knobs_parse(fit_list, fit.ids, &fit.n_knobs, &err);
	if (rc == 0)
		rc = sim_cal_table_load(table, &base, measured, &t, &err);
	if (rc == 0 && val_path != NULL)
		rc = sim_cal_table_load(val_path, &base, measured, &vt, &err);
	if (rc == 0) {
		train.t = t;
		rc = select_rows(t, tf, ntf, "--train-filter", &train.rows,
		    &train.n, &err);
	}
	have_val = val_path != NULL || nvf > 0;
	if (rc == 0 && have_val) {
		val.t = vt != NULL ? vt : t;
		rc = select_rows(val.t, vf, nvf, "--validate-filter", &val.rows,
		    &val.n, &err);
	}
	if (rc == 0 && folds > train.n)
		rc = h4h_errf(&err, H4H_EINPUT, "--folds %ld needs at least %ld "
		    "fitted rows (have %d; --folds 0 turns it off)", folds,
		    folds, train.n);
	if (rc != 0) {
		status = cli_fail(CMD, rc, &err);
		goto out;
	}
	if (fit_list == NULL)
		sim_cal_knobs_default(t, train.rows, train.n, fit.ids,
		    &fit.n_knobs);
	if (!t->has_energy)
		for (int j = 0; j < fit.n_knobs; j++)
			if (sim_cal_knob_is_energy(fit.ids[j])) {
				status = cli_fail(CMD, h4h_errf(&err, H4H_EINPUT,
				    "--fit: %s is an energy knob but table '%s' "
				    "has no measured_energy_j", sim_cal_knob_name(
				    fit.ids[j]), table), &err);
				goto out;
			}
	if (!h4h_writable_place(out)) {
		status = cli_fail(CMD, h4h_errf(&err, H4H_EIO, "cannot write "
		    "'%s': %s", out, strerror(errno)), &err);
		goto out;
	}
	if (report != NULL && (rc = report_place(report, &err)) != 0) {
		status = cli_fail(CMD, rc, &err);
		goto out;
	}

	/* The fit. */
	for (int j = 0; j < fit.n_knobs; j++) {
		double lo, hi;

		fit.start[j] = sim_cal_knob_get(&base, fit.ids[j]);
		sim_cal_knob_bounds(fit.ids[j], &lo, &hi);
		if (fit.start[j] < lo || fit.start[j] > hi)
			fprintf(stderr, "h4h: calibrate: %s starts at its bound "
			    "(%g is outside [%g, %g])\n",
			    sim_cal_knob_name(fit.ids[j]), fit.start[j], lo, hi);
	}
	sim_cal_fit_opts_default(&fo);
	fo.max_iter = (int)max_iter;
	fo.xtol = fo.gtol = tol;
	fo.simplex = simplex;
	t0 = now_s();
	rc = sim_cal_fit_run(t, train.rows, train.n, &fo, &fit, &err);
	if (rc != 0) {
		status = cli_fail(CMD, rc, &err);
		goto out;
	}
	if (!fit.converged && !(fit.cost < fit.cost0)) {
		fprintf(stderr, "h4h: calibrate: the fit did not lower the "
		    "error: %s (relative squared error %.4g -> %.4g); nothing "
		    "written (try --max-iter, --tol or fewer knobs)\n",
		    fit.status, fit.cost0, fit.cost);
		status = 1;
		goto out;
	}
	if (!fit.converged)
		fprintf(stderr, "h4h: calibrate: warning: the fit lowered the "
		    "error (relative squared error %.4g -> %.4g) but did not "
		    "meet the tolerance: %s; writing the best point reached, "
		    "marked not converged\n", fit.cost0, fit.cost,
		    fit.status);
	rc = eval_set(&train, &fit, &err);
	if (rc == 0 && have_val)
		rc = eval_set(&val, &fit, &err);
	if (rc == 0 && folds > 0) {
		cv_fold = h4h_xcalloc((size_t)folds, sizeof *cv_fold);
		rc = sim_cal_cv(t, train.rows, train.n, &fo, &fit, (int)folds,
		    (unsigned long)seed, cv_fold, &cv_mean, &cv_failed, &err);
	}
	if (rc != 0) {
		status = cli_fail(CMD, rc, &err);
		goto out;
	}

	/* The report. */
	simplex_desc[0] = '\0';
	if (fit.simplex_iterations > 0)
		snprintf(simplex_desc, sizeof simplex_desc, "%d simplex "
		    "iterations, ", fit.simplex_iterations);
	filters_desc(tf, ntf, tdesc, sizeof tdesc);
	if (have_val) {
		char fd[256];

		filters_desc(vf, nvf, fd, sizeof fd);
		snprintf(vdesc, sizeof vdesc, "%s%s%s", val_path ? val_path :
		    "", val_path && nvf ? ", " : "", fd);
	}
	printf("table %s: %d rows, measured column %s (%s)\n", table, t->n_rows,
	    t->cols[t->measured_col], t->latency ? "seconds" : "NPU cycles");
	printf("fit: %d knob%s on %d rows%s%s%s (%d residuals): %s; %s%d "
	    "trust-region iteration%s, %ld row simulations, %.1f s\n",
	    fit.n_knobs, fit.n_knobs == 1 ? "" : "s", train.n,
	    ntf ? " (" : "", tdesc, ntf ? ")" : "", fit.n_residuals,
	    fit.status, simplex_desc, fit.iterations,
	    fit.iterations == 1 ? "" : "s", fit.evaluations, now_s() - t0);
	printf("  rms relative error (the fitted objective) %.3f%% -> %.3f%%\n",
	    100 * sqrt(fit.cost0 / fit.n_residuals),
	    100 * sqrt(fit.cost / fit.n_residuals));
	printf("  %-30s %12s %12s %12s   %s\n", "knob", "before", "after",
	    "+- 1 sigma", "bounds");
	for (int j = 0; j < fit.n_knobs; j++) {
		double lo, hi;
		char sg[32];

		sim_cal_knob_bounds(fit.ids[j], &lo, &hi);
		knob_sigma(&fit, j, sg, sizeof sg);
		printf("  %-30s %12.6g %12.6g %12s   [%g, %g]\n",
		    sim_cal_knob_name(fit.ids[j]), fit.start[j], fit.value[j],
		    sg, lo, hi);
	}
	for (int j = 0; j < fit.n_knobs; j++)
		if (fit.undetermined[j])
			printf("  %s is kept at %g: the table cannot determine "
			    "it: %s\n", sim_cal_knob_name(fit.ids[j]),
			    fit.value[j], fit.why[j]);
	print_stats(stdout, t->latency ? "latency error, fitted rows:" :
	    "cycles error, fitted rows:", &train.s0, &train.s1);
	if (train.e0.n[CAL_KIND_COUNT] > 0)
		print_stats(stdout, "energy error, fitted rows:", &train.e0,
		    &train.e1);
	if (folds > 0) {
		printf("%ld-fold cross-validation (seed %ld): mean validation "
		    "MAPE %.2f%% (folds:", folds, seed, 100 * cv_mean);
		for (int f = 0; f < folds; f++)
			printf(" %.2f%%", 100 * cv_fold[f]);
		printf(")%s\n", cv_failed ? "; some folds did not converge" :
		    "");
	}
	if (have_val) {
		char title[640];

		snprintf(title, sizeof title, "validation (%d held-out rows: "
		    "%s):", val.n, vdesc);
		print_stats(stdout, title, &val.s0, &val.s1);
		if (val.e0.n[CAL_KIND_COUNT] > 0)
			print_stats(stdout, "energy error, validation rows:",
			    &val.e0, &val.e1);
	}
	fflush(stdout);

	/* The outputs. */
	prof = base;
	if ((rc = sim_cal_knobs_apply(&prof, fit.ids, fit.value, fit.n_knobs,
	    &err)) != 0) {
		status = cli_fail(CMD, rc, &err);
		goto out;
	}
	if (strlen(prof.name) + 11 < sizeof prof.name)
		strcat(prof.name, "-calibrated");
	format_date(date, sizeof date);
	memset(&o, 0, sizeof o);
	o.table_path = table;
	o.system_path = system;
	o.date = date;
	o.t = t;
	o.fit = &fit;
	o.train = &train;
	o.val = have_val ? &val : NULL;
	o.train_desc = tdesc;
	o.val_desc = have_val ? vdesc : "";
	o.folds = (int)folds;
	o.seed = (unsigned long)seed;
	o.cv_mean = cv_mean;
	o.cv_failed = cv_failed;
	o.prof = &prof;
	/* The report first: if it fails, no calibrated profile is left
	 * behind to be taken for the result of a finished run. */
	rc = report != NULL ? write_report(report, &o, &err) : 0;
	if (rc == 0)
		rc = h4h_write_atomic(out, "profile", write_profile, &o, &err);
	if (rc != 0) {
		status = cli_fail(CMD, rc, &err);
		goto out;
	}
	fprintf(stderr, "h4h: calibrate: wrote %s%s%s\n", out,
	    report ? " and " : "", report ? report : "");
out:
	for (int i = 0; i < MAX_FILTERS; i++) {
		free(tf[i].col);
		free(vf[i].col);
	}
	eval_free(&train);
	eval_free(&val);
	free(cv_fold);
	sim_cal_table_destroy(t);
	sim_cal_table_destroy(vt);
	return status;
}

const h4h_cmd h4h_cmd_calibrate = {
	.name = "calibrate",
	.summary = "fit the NPU/CIM models to a measured per-layer table",
	.exec = calibrate_exec,
};
