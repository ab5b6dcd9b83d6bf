/*
 * calibrate.c - measured-table loading, predictions, the bounded nonlinear
 * least-squares fit and k-fold cross-validation (see calibrate.h and
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

/* ---- knobs -------------------------------------------------------------- */

enum { KB_SCALE, KB_OVERHEAD, KB_ENERGY };

typedef struct knob_def {
	const char *key;
	int type;
	int kind;	/* SIM_KIND_* it alone affects, -1: every row */
} knob_def;

static const knob_def knobs[] = {
	{ "npu.cycle_scale_conv", KB_SCALE, SIM_KIND_CONV },
	{ "npu.cycle_scale_pwconv", KB_SCALE, SIM_KIND_PWCONV },
	{ "npu.cycle_scale_dwconv", KB_SCALE, SIM_KIND_DWCONV },
	{ "npu.cycle_scale_fc", KB_SCALE, SIM_KIND_FC },
	{ "npu.cycle_scale_pool", KB_SCALE, SIM_KIND_POOL },
	{ "npu.cycle_scale_elementwise", KB_SCALE, SIM_KIND_ELEMENTWISE },
	{ "npu.block_overhead_cycles", KB_OVERHEAD, -1 },
	{ "npu.op_overhead_cycles", KB_OVERHEAD, -1 },
	{ "cim.mac_cycle_scale", KB_SCALE, -1 },
	{ "cim.chunk_overhead_cycles", KB_OVERHEAD, -1 },
	{ "noc.transfer_overhead_cycles", KB_OVERHEAD, -1 },
	{ "npu.e_mac_pj", KB_ENERGY, -1 },
	{ "npu.e_shram_byte_pj", KB_ENERGY, -1 },
	{ "npu.static_mw", KB_ENERGY, -1 },
	{ "cim.e_mram_read_pj_per_bit", KB_ENERGY, -1 },
	{ "cim.e_mac_pj", KB_ENERGY, -1 },
	{ "cim.e_buffer_byte_pj", KB_ENERGY, -1 },
	{ "cim.static_mw", KB_ENERGY, -1 },
	{ "noc.e_byte_pj", KB_ENERGY, -1 },
	{ "noc.e_sram_byte_pj", KB_ENERGY, -1 },
};

#define N_KNOBS ((int)(sizeof knobs / sizeof knobs[0]))
_Static_assert(N_KNOBS <= CAL_MAX_KNOBS, "CAL_MAX_KNOBS too small");

/* Bounds (assumed: wide enough for any plausible silicon, narrow enough to
 * keep the simulator in its valid ranges, profile.c). */
static const double bounds[3][2] = {
	[KB_SCALE] = { 0.05, 20 },
	[KB_OVERHEAD] = { 0, 1e6 },
	[KB_ENERGY] = { 0, 1e3 },
};

/* Where a start at a bound is moved to, as a fraction of the range. */
#define START_MARGIN 1e-6
/* Forward-difference step in u (see the file comment). */
#define FD_STEP 1e-4

int
sim_cal_knob_count(void)
{
	return N_KNOBS;
}

const char *
sim_cal_knob_name(int id)
{
	return id >= 0 && id < N_KNOBS ? knobs[id].key : "?";
}

int
sim_cal_knob_is_energy(int id)
{
	return knobs[id].type == KB_ENERGY;
}

void
sim_cal_knob_bounds(int id, double *lo, double *hi)
{
	*lo = bounds[knobs[id].type][0];
	*hi = bounds[knobs[id].type][1];
}

double
sim_cal_knob_get(const sim_profile *p, int id)
{
	const char *k = knobs[id].key;

	if (strncmp(k, "npu.cycle_scale_", 16) == 0)
		return p->npu.cycle_scale[knobs[id].kind];
	if (strcmp(k, "npu.block_overhead_cycles") == 0)
		return p->npu.block_overhead_cycles;
	if (strcmp(k, "npu.op_overhead_cycles") == 0)
		return p->npu.op_overhead_cycles;
	if (strcmp(k, "cim.mac_cycle_scale") == 0)
		return p->cim.mac_cycle_scale;
	if (strcmp(k, "cim.chunk_overhead_cycles") == 0)
		return p->cim.chunk_overhead_cycles;
	if (strcmp(k, "noc.transfer_overhead_cycles") == 0)
		return p->noc.transfer_overhead_cycles;
	if (strcmp(k, "npu.e_mac_pj") == 0)
		return p->npu.e_mac_pj;
	if (strcmp(k, "npu.e_shram_byte_pj") == 0)
		return p->npu.e_shram_byte_pj;
	if (strcmp(k, "npu.static_mw") == 0)
		return p->npu.static_mw;
	if (strcmp(k, "cim.e_mram_read_pj_per_bit") == 0)
		return p->cim.e_mram_read_pj_per_bit;
	if (strcmp(k, "cim.e_mac_pj") == 0)
		return p->cim.e_mac_pj;
	if (strcmp(k, "cim.e_buffer_byte_pj") == 0)
		return p->cim.e_buffer_byte_pj;
	if (strcmp(k, "cim.static_mw") == 0)
		return p->cim.static_mw;
	if (strcmp(k, "noc.e_byte_pj") == 0)
		return p->noc.e_byte_pj;
	if (strcmp(k, "noc.e_sram_byte_pj") == 0)
		return p->noc.e_sram_byte_pj;
	return NAN;
}

static double
clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int
sim_cal_knobs_apply(sim_profile *p, const int *ids, const double *values,
    int n, h4h_err *err)
{
	char set[128];

	for (int i = 0; i < n; i++) {
		double lo, hi;
		int rc;

		sim_cal_knob_bounds(ids[i], &lo, &hi);
		snprintf(set, sizeof set, "%s=%.17g", knobs[ids[i]].key,
		    clampd(values[i], lo, hi));
		if ((rc = sim_profile_set(p, set, err)) != 0)
			return rc;
	}
	return 0;
}

int
sim_cal_knobs_parse(const char *list, int *ids, int *n, h4h_err *err)
{
	const char *p = list;
	sim_profile probe;

	*n = 0;
	sim_profile_defaults(&probe);
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char name[128], set[160];
		int id = -1;

		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0 || len >= sizeof name)
			return h4h_errf(err, H4H_EINPUT, "--fit: empty or "
			    "overlong knob name in '%s'", list);
		memcpy(name, p, len);
		name[len] = '\0';
		for (int k = 0; k < N_KNOBS; k++)
			if (strcmp(knobs[k].key, name) == 0)
				id = k;
		if (id < 0) {
			/* A real key that is not a knob deserves its own
			 * message: it exists, it just is not fitted. */
			snprintf(set, sizeof set, "%s=0", name);
			if (sim_profile_set(&probe, set, NULL) == 0 ||
			    (snprintf(set, sizeof set, "%s=1", name),
			    sim_profile_set(&probe, set, NULL) == 0))
				return h4h_errf(err, H4H_EINPUT, "--fit: '%s' is "
				    "a profile key but not a calibration knob "
				    "(see doc/calibration.md)", name);
			return h4h_errf(err, H4H_EINPUT, "--fit: unknown knob "
			    "'%s' (see doc/calibration.md)", name);
		}
		for (int i = 0; i < *n; i++)
			if (ids[i] == id)
				return h4h_errf(err, H4H_EINPUT, "--fit: knob "
				    "'%s' named twice", name);
		ids[(*n)++] = id;
		if (end == NULL)
			break;
		p = end + 1;
		if (*p == '\0')
			return h4h_errf(err, H4H_EINPUT, "--fit: empty knob "
			    "name in '%s'", list);
	}
	if (*n == 0)
		return h4h_errf(err, H4H_EINPUT, "--fit: no knobs named");
	return 0;
}

static int
sim_kind_of_cal(int kind)
{
	static const int map[CAL_KIND_COUNT] = {
		[CAL_KIND_CONV] = SIM_KIND_CONV,
		[CAL_KIND_PW] = SIM_KIND_PWCONV,
		[CAL_KIND_DW] = SIM_KIND_DWCONV,
		[CAL_KIND_FC] = SIM_KIND_FC,
		[CAL_KIND_ADD] = SIM_KIND_ELEMENTWISE,
		[CAL_KIND_POOL] = SIM_KIND_POOL,
	};

	return map[kind];
}

void
sim_cal_knobs_default(const sim_cal_table *t, const int *rows, int n,
    int *ids, int *n_ids)
{
	int seen[CAL_KIND_COUNT] = { 0 }, cim = 0;

	*n_ids = 0;
	for (int i = 0; i < n; i++) {
		const sim_cal_row *r = &t->rows[rows[i]];

		seen[r->kind] = 1;
		if (r->profile.cim.macros > 0 &&
		    sim_layer_cim_capable(&r->net->layers[r->net->n_layers - 1]))
			cim = 1;
	}
	for (int k = 0; k < N_KNOBS; k++) {
		int take = 0;

		if (knobs[k].type == KB_SCALE && knobs[k].kind >= 0) {
			for (int c = 0; c < CAL_KIND_COUNT; c++)
				if (seen[c] && sim_kind_of_cal(c) ==
				    knobs[k].kind)
					take = 1;
		} else if (strcmp(knobs[k].key, "npu.op_overhead_cycles") == 0) {
			take = 1;
		} else if (strcmp(knobs[k].key, "cim.mac_cycle_scale") == 0) {
			take = cim;
		}
		if (take)
			ids[(*n_ids)++] = k;
	}
}

/* ---- the table ---------------------------------------------------------- */

static const char *const kind_names[CAL_KIND_COUNT] = {
	[CAL_KIND_CONV] = "conv",
	[CAL_KIND_PW] = "pw",
	[CAL_KIND_DW] = "dw",
	[CAL_KIND_FC] = "fc",
	[CAL_KIND_ADD] = "add",
	[CAL_KIND_POOL] = "pool",
};

const char *
sim_cal_kind_name(int kind)
{
	return kind >= 0 && kind < CAL_KIND_COUNT ? kind_names[kind] : "all";
}

/* Split one line (no newline) into fields: commas separate, blanks around
 * a field are dropped, "..." quotes a field ("" is a quote).  Returns the
 * field count, or -1 for an unterminated quote. */
typedef struct named {
	const char *name;
	int i;
} named;

static int
named_cmp(const void *a, const void *b)
{
	const named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

/* The first column (by position) whose name an earlier column has, or -1:
 * sorted, so that a header of 100,000 columns costs n log n, not n^2. */
static int
first_repeat(char *const *f, int n)
{
	named *v = h4h_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *v);
	int first = -1;

	for (int i = 0; i < n; i++)
		v[i] = (named){ f[i], i };
	qsort(v, (size_t)n, sizeof *v, named_cmp);
	for (int k = 1; k < n; k++)
		if (strcmp(v[k].name, v[k - 1].name) == 0 &&
		    (first < 0 || v[k].i < first) &&
		    (k < 2 || strcmp(v[k - 1].name, v[k - 2].name) != 0))
			first = v[k].i;	/* a run's second: its first repeat */
	free(v);
	return first;
}

static int
split_csv(const char *line, char ***out)
{
	char **f = NULL;
	size_t n = 0, cap_f = 0;
	const char *p = line;

	/* Linear in the line: each field's buffer is as long as its own text
	 * (a quoted field's raw span bounds its unquoted length), and the
	 * field array doubles. */
	for (;;) {
		const char *q;
		size_t len = 0;
		char *buf;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			for (q = p + 1; *q != '\0'; q++) {
				if (*q == '"' && q[1] == '"')
					q++;
				else if (*q == '"')
					break;
			}
			if (*q == '\0') {
				for (size_t i = 0; i < n; i++)
					free(f[i]);
				free(f);
				return -1;
			}
			buf = h4h_xmalloc((size_t)(q - p));
			for (p++; p < q; p++) {
				buf[len++] = *p;
				if (*p == '"')
					p++;	/* "" is one quote */
			}
			p = q + 1;
			while (*p != '\0' && *p != ',')
				p++;
		} else {
			q = p + strcspn(p, ",");
			buf = h4h_xmalloc((size_t)(q - p) + 1);
			memcpy(buf, p, (size_t)(q - p));
			len = (size_t)(q - p);
			p = q;
			while (len > 0 && (buf[len - 1] == ' ' ||
			    buf[len - 1] == '\t'))
				len--;
		}
		buf[len] = '\0';
		if (n == cap_f) {
			cap_f = cap_f ? 2 * cap_f : 16;
			f = h4h_xrealloc(f, cap_f * sizeof *f);
		}
		f[n++] = buf;
		if (*p != ',' || n >= INT_MAX)
			break;
		p++;
	}
	*out = f;
	return (int)n;
}

static void
free_fields(char **f, int n)
{
	for (int i = 0; f != NULL && i < n; i++)
		free(f[i]);
	free(f);
}

/* A strict integer / finite double from a whole field. */
static int
parse_int(const char *s, int *v)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || x < -1000000000L ||
	    x > 1000000000L) {
		/* Tables written by float-minded tools say "16.0". */
		double d;

		errno = 0;
		d = strtod(s, &end);
		if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(d) ||
		    d != floor(d) || fabs(d) > 1e9)
			return -1;
		x = (long)d;
	}
	*v = (int)x;
	return 0;
}

static int
parse_double(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno == ERANGE)
		return -1;
	return isfinite(*v) ? 0 : -2;
}

int
sim_cal_table_col(const sim_cal_table *t, const char *name)
{
	for (int i = 0; i < t->n_cols; i++)
		if (strcmp(t->cols[i], name) == 0)
			return i;
	return -1;
}

typedef struct cols_idx {
	int op, in_h, in_w, in_c, out_c, kernel, stride, act, energy;
	int npu_macs, accel, clock_mhz, core_clock_hz;
} cols_idx;

#define ROWF(what, ...) h4h_errf(err, H4H_EINPUT, "table '%s' line %d: " \
    what, path, line, __VA_ARGS__)

/* The net of one row (see doc/calibration.md, "Rows as networks"). */
static int
row_net(const char *op, int kind, int h, int w, int c, int oc, int k, int s,
    sim_act act, sim_net **out, h4h_err *err)
{
	sim_net *net = sim_net_new("row", h, w, c);
	sim_layer l;
	int rc;

	memset(&l, 0, sizeof l);
	snprintf(l.name, sizeof l.name, "%s", kind == CAL_KIND_ADD ? "add" :
	    op);
	l.act = act;
	l.n_inputs = 1;
	l.inputs[0] = -1;
	l.groups = 1;
	l.kh = k;
	l.stride = s;
	l.out_c = oc;
	switch (kind) {
	case CAL_KIND_CONV:
	case CAL_KIND_PW:
		l.op = SIM_OP_CONV;
		break;
	case CAL_KIND_DW:
		l.op = SIM_OP_DWCONV;
		break;
	case CAL_KIND_FC:
		l.op = SIM_OP_FC;
		break;
	case CAL_KIND_POOL:
		l.op = strcmp(op, "maxpool") == 0 ? SIM_OP_MAXPOOL :
		    SIM_OP_AVGPOOL;
		l.act = SIM_ACT_NONE;
		l.global = k == 0;
		break;
	case CAL_KIND_ADD: {
		/* An add of two full tensors: the second operand comes from
		 * a helper relu so it is not the network input (as in the
		 * Vela models), and only the add's own cost is compared. */
		sim_layer a;

		memset(&a, 0, sizeof a);
		snprintf(a.name, sizeof a.name, "operand");
		a.op = SIM_OP_ACT;
		a.act = SIM_ACT_RELU;
		a.n_inputs = 1;
		a.inputs[0] = -1;
		if ((rc = sim_net_append(net, &a, err)) != 0)
			goto fail;
		l.op = SIM_OP_ADD;
		l.n_inputs = 2;
		l.inputs[1] = 0;
		break;
	}
	}
	if ((rc = sim_net_append(net, &l, err)) != 0)
		goto fail;
	*out = net;
	return 0;
fail:
	sim_net_destroy(net);
	return rc;
}

/* Apply the row's condition columns to its profile. */
static int
row_conditions(const char *path, int line, const sim_cal_table *t,
    char **f, const cols_idx *ci, sim_profile *p, h4h_err *err)
{
	static const struct { const char *col; const char *key; } direct[] = {
		{ "npu_macs", "npu.macs" },
		{ "clock_mhz", "npu.clock_mhz" },
		{ "bandwidth_gbps", "noc.bandwidth_gbps" },
		{ "latency_cycles", "noc.latency_cycles" },
		{ "macros", "cim.macros" },
		{ "cus", "cim.cus_per_macro" },
	};
	char set[256];
	h4h_err e2;

	if (ci->accel >= 0 && ci->npu_macs < 0 && f[ci->accel][0] != '\0') {
		int macs;
		char tail;

		if (sscanf(f[ci->accel], "ethos-u55-%d%c", &macs, &tail) != 1)
			return ROWF("accel_config must be ethos-u55-N (got "
			    "'%s')", f[ci->accel]);
		snprintf(set, sizeof set, "npu.macs=%d", macs);
		if (sim_profile_set(p, set, &e2) != 0)
			return ROWF("accel_config '%s': %s", f[ci->accel],
			    e2.msg);
	}
	if (ci->core_clock_hz >= 0 && ci->clock_mhz < 0 &&
	    f[ci->core_clock_hz][0] != '\0') {
		double hz;

		if (parse_double(f[ci->core_clock_hz], &hz) != 0 || hz <= 0)
			return ROWF("core_clock_hz must be a positive number "
			    "(got '%s')", f[ci->core_clock_hz]);
		snprintf(set, sizeof set, "npu.clock_mhz=%.17g", hz / 1e6);
		if (sim_profile_set(p, set, &e2) != 0)
			return ROWF("core_clock_hz: %s", e2.msg);
	}
	for (size_t d = 0; d < sizeof direct / sizeof direct[0]; d++) {
		int c = sim_cal_table_col(t, direct[d].col);
		double v;

		if (c < 0 || f[c][0] == '\0')
			continue;
		if (parse_double(f[c], &v) != 0)
			return ROWF("%s is not a finite number (got '%s')",
			    direct[d].col, f[c]);
		snprintf(set, sizeof set, "%s=%s", direct[d].key, f[c]);
		if (sim_profile_set(p, set, &e2) != 0)
			return ROWF("column %s: %s", direct[d].col, e2.msg);
	}
	/* A column named like a profile key sets that key. */
	for (int c = 0; c < t->n_cols; c++) {
		if (strchr(t->cols[c], '.') == NULL || f[c][0] == '\0')
			continue;
		snprintf(set, sizeof set, "%s=%s", t->cols[c], f[c]);
		if (sim_profile_set(p, set, &e2) != 0)
			return ROWF("column %s: %s", t->cols[c], e2.msg);
	}
	if (sim_profile_validate(p, &e2) != 0)
		return ROWF("%s", e2.msg);
	return 0;
}

static int
parse_row(const char *path, int line, sim_cal_table *t, char **f,
    const cols_idx *ci, const sim_profile *base, sim_cal_row *r,
    h4h_err *err)
{
	static const struct { const char *name; int kind; } ops[] = {
		{ "conv", CAL_KIND_CONV }, { "pw", CAL_KIND_PW },
		{ "dw", CAL_KIND_DW }, { "fc", CAL_KIND_FC },
		{ "add", CAL_KIND_ADD }, { "pool", CAL_KIND_POOL },
		{ "avgpool", CAL_KIND_POOL }, { "maxpool", CAL_KIND_POOL },
	};
	const char *dims[] = { "in_h", "in_w", "in_c", "out_c", "kernel",
	    "stride" };
	int col[] = { ci->in_h, ci->in_w, ci->in_c, ci->out_c, ci->kernel,
	    ci->stride };
	int v[6], kind = -1, a;
	const char *op = f[ci->op];
	sim_act act = SIM_ACT_NONE;
	h4h_err e2;
	int rc;

	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (strcmp(op, ops[i].name) == 0)
			kind = ops[i].kind;
	if (kind < 0)
		return ROWF("unknown op '%s' (conv, pw, dw, fc, add, pool, "
		    "avgpool, maxpool)", op);
	for (int i = 0; i < 6; i++) {
		if (f[col[i]][0] == '\0' && (i >= 3)) {
			v[i] = 0;	/* checked per op below */
			continue;
		}
		if (parse_int(f[col[i]], &v[i]) != 0)
			return ROWF("%s must be an integer (got '%s')", dims[i],
			    f[col[i]]);
		if (v[i] < 0 || (i < 3 && v[i] < 1))
			return ROWF("%s must be %s (got %d)", dims[i],
			    i < 3 ? ">= 1" : ">= 0", v[i]);
	}
	if (kind == CAL_KIND_CONV && v[4] == 1)
		kind = CAL_KIND_PW;
	if (kind == CAL_KIND_PW && v[4] != 1)
		return ROWF("op pw needs kernel 1 (got %d)", v[4]);
	if ((kind == CAL_KIND_CONV || kind == CAL_KIND_PW ||
	    kind == CAL_KIND_FC) && v[3] < 1)
		return ROWF("op %s needs out_c >= 1 (got %d)", op, v[3]);
	if ((kind == CAL_KIND_DW || kind == CAL_KIND_ADD ||
	    kind == CAL_KIND_POOL) && v[3] != 0 && v[3] != v[2])
		return ROWF("op %s keeps the channels: out_c must equal in_c "
		    "%d (got %d)", op, v[2], v[3]);
	if (kind == CAL_KIND_CONV || kind == CAL_KIND_DW ||
	    (kind == CAL_KIND_POOL && v[4] != 0)) {
		if (v[4] < 1 || v[5] < 1)
			return ROWF("op %s needs kernel and stride >= 1 (got %d, "
			    "%d)", op, v[4], v[5]);
	}
	if (kind == CAL_KIND_PW && v[5] < 1)
		return ROWF("op %s needs stride >= 1 (got %d)", op, v[5]);
	if (ci->act >= 0 && f[ci->act][0] != '\0') {
		if ((a = sim_act_from_name(f[ci->act])) < 0)
			return ROWF("unknown act '%s'", f[ci->act]);
		act = (sim_act)a;
	}
	if (act != SIM_ACT_NONE && kind == CAL_KIND_POOL)
		return ROWF("op %s takes no act (got '%s')", op, f[ci->act]);

	r->line = line;
	r->kind = kind;
	r->measured_energy_j = -1;
	switch (kind) {
	case CAL_KIND_FC:
		snprintf(r->desc, sizeof r->desc, "fc %dx%dx%d->%d", v[0], v[1],
		    v[2], v[3]);
		break;
	case CAL_KIND_ADD:
		snprintf(r->desc, sizeof r->desc, "add %dx%dx%d", v[0], v[1],
		    v[2]);
		break;
	default:
		snprintf(r->desc, sizeof r->desc, "%s %dx%dx%d->%d k%d s%d",
		    kind_names[kind], v[0], v[1], v[2], kind == CAL_KIND_CONV ||
		    kind == CAL_KIND_PW ? v[3] : v[2], v[4], v[5]);
	}

	{
		const char *m = f[t->measured_col];
		double x;

		if (m[0] == '\0')
			return ROWF("no measurement in %s",
			    t->cols[t->measured_col]);
		rc = parse_double(m, &x);
		if (rc == -2)
			return ROWF("%s is not a finite number (got '%s')",
			    t->cols[t->measured_col], m);
		if (rc != 0)
			return ROWF("%s must be a number (got '%s')",
			    t->cols[t->measured_col], m);
		if (x <= 0)
			return ROWF("%s must be > 0 (got '%s')",
			    t->cols[t->measured_col], m);
		r->measured = x;
	}
	if (ci->energy >= 0 && f[ci->energy][0] != '\0') {
		double x;

		rc = parse_double(f[ci->energy], &x);
		if (rc != 0 || x <= 0)
			return ROWF("measured_energy_j must be a finite number "
			    "> 0 or empty (got '%s')", f[ci->energy]);
		r->measured_energy_j = x;
		t->has_energy = 1;
	}
	r->profile = *base;
	if ((rc = row_conditions(path, line, t, f, ci, &r->profile, err)) != 0)
		return rc;
	if (row_net(op, kind, v[0], v[1], v[2], v[3], v[4], v[5], act, &r->net,
	    &e2) != 0)
		return ROWF("%s", e2.msg);
	return 0;
}

void
sim_cal_table_destroy(sim_cal_table *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->n_rows; i++) {
		sim_net_destroy(t->rows[i].net);
		free_fields(t->rows[i].fields, t->n_cols);
	}
	free(t->rows);
	free_fields(t->cols, t->n_cols);
	free(t->path);
	free(t);
}

int
sim_cal_table_load(const char *path, const sim_profile *base,
    const char *measured, sim_cal_table **out, h4h_err *err)
{
	static const char *const required[] = { "op", "in_h", "in_w", "in_c",
	    "out_c", "kernel", "stride" };
	sim_cal_table *t = h4h_xcalloc(1, sizeof *t);
	char *buf = NULL, *p, *next;
	size_t len;
	int rc, line = 0;
	cols_idx ci = { 0 };
	h4h_err e2;

	t->path = h4h_xstrdup(path);
	t->measured_col = -1;
	if (h4h_file_read(path, H4H_FILE_PATH_LAST, &buf, &len, &e2) != 0) {
		rc = h4h_errf(err, H4H_EINPUT, "table: %s", e2.msg);
		goto fail;
	}
	if (memchr(buf, '\0', len) != NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "table '%s': not a text file",
		    path);
		goto fail;
	}
	t->hash = h4h_hash64(buf, len, H4H_HASH_SEED);
	buf = h4h_xrealloc(buf, len + 1);	/* the read does not terminate */
	buf[len] = '\0';
	for (p = buf; p != NULL && *p != '\0'; p = next) {
		char **f = NULL;
		int nf;
		size_t l;

		next = strchr(p, '\n');
		if (next != NULL)
			*next++ = '\0';
		line++;
		l = strlen(p);
		if (l > 0 && p[l - 1] == '\r')
			p[--l] = '\0';
		if (strspn(p, " \t") == l)
			continue;	/* blank line */
		if ((nf = split_csv(p, &f)) < 0) {
			rc = h4h_errf(err, H4H_EINPUT, "table '%s' line %d: "
			    "unterminated quote", path, line);
			goto fail;
		}
		if (t->cols == NULL) {
			int rep;

			t->cols = f;
			t->n_cols = nf;
			for (int i = 0; i < nf; i++)
				if (f[i][0] == '\0') {
					rc = h4h_errf(err, H4H_EINPUT, "table "
					    "'%s' line %d: header column %d has "
					    "no name", path, line, i + 1);
					goto fail;
				}
			if ((rep = first_repeat(f, nf)) >= 0) {
				rc = h4h_errf(err, H4H_EINPUT, "table '%s' line "
				    "%d: column '%s' appears twice", path, line,
				    f[rep]);
				goto fail;
			}
			for (size_t i = 0; i < sizeof required /
			    sizeof required[0]; i++)
				if (sim_cal_table_col(t, required[i]) < 0) {
					rc = h4h_errf(err, H4H_EINPUT, "table "
					    "'%s': the header has no '%s' "
					    "column (required: op, in_h, in_w, "
					    "in_c, out_c, kernel, stride and a "
					    "measurement)", path, required[i]);
					goto fail;
				}
			if (measured != NULL) {
				t->measured_col = sim_cal_table_col(t,
				    measured);
				if (t->measured_col < 0) {
					rc = h4h_errf(err, H4H_EINPUT, "table "
					    "'%s': no column '%s' to take the "
					    "measurement from", path, measured);
					goto fail;
				}
			} else {
				static const char *const auto_cols[] = {
				    "measured_cycles", "measured_latency_s",
				    "est_cycles" };

				for (int i = 0; i < 3 && t->measured_col < 0;
				    i++)
					t->measured_col = sim_cal_table_col(t,
					    auto_cols[i]);
				if (t->measured_col < 0) {
					rc = h4h_errf(err, H4H_EINPUT, "table "
					    "'%s': no measured_cycles or "
					    "measured_latency_s column (or "
					    "name one with --measured-column)",
					    path);
					goto fail;
				}
			}
			{
				const char *m = t->cols[t->measured_col];
				size_t ml = strlen(m);

				t->latency = ml >= 2 &&
				    strcmp(m + ml - 2, "_s") == 0;
			}
			ci.op = sim_cal_table_col(t, "op");
			ci.in_h = sim_cal_table_col(t, "in_h");
			ci.in_w = sim_cal_table_col(t, "in_w");
			ci.in_c = sim_cal_table_col(t, "in_c");
			ci.out_c = sim_cal_table_col(t, "out_c");
			ci.kernel = sim_cal_table_col(t, "kernel");
			ci.stride = sim_cal_table_col(t, "stride");
			ci.act = sim_cal_table_col(t, "act");
			ci.energy = sim_cal_table_col(t, "measured_energy_j");
			ci.npu_macs = sim_cal_table_col(t, "npu_macs");
			ci.accel = sim_cal_table_col(t, "accel_config");
			ci.clock_mhz = sim_cal_table_col(t, "clock_mhz");
			ci.core_clock_hz = sim_cal_table_col(t,
			    "core_clock_hz");
			continue;
		}
		if (nf != t->n_cols) {
			free_fields(f, nf);
			rc = h4h_errf(err, H4H_EINPUT, "table '%s' line %d: %d "
			    "field%s, the header has %d", path, line, nf,
			    nf == 1 ? "" : "s", t->n_cols);
			goto fail;
		}
		t->rows = h4h_xrealloc(t->rows, (size_t)(t->n_rows + 1) *
		    sizeof *t->rows);
		memset(&t->rows[t->n_rows], 0, sizeof t->rows[0]);
		t->rows[t->n_rows].fields = f;
		t->n_rows++;
		rc = parse_row(path, line, t, f, &ci, base,
		    &t->rows[t->n_rows - 1], err);
		if (rc != 0)
			goto fail;
	}
	if (t->cols == NULL) {
		rc = h4h_errf(err, H4H_EINPUT, "table '%s' is empty (no "
		    "header)", path);
		goto fail;
	}
	if (t->n_rows == 0) {
		rc = h4h_errf(err, H4H_EINPUT, "table '%s' has no rows", path);
		goto fail;
	}
	/* Every row must simulate under the base knobs. */
	for (int i = 0; i < t->n_rows; i++) {
		double pred;

		rc = sim_cal_predict(t, NULL, NULL, 0, &i, 1, &pred, NULL, err);
		if (rc != 0)
			goto fail;
	}
	free(buf);
	*out = t;
	return 0;
fail:
	free(buf);
	sim_cal_table_destroy(t);
	return rc;
}

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
	if (knobs[id].type == KB_SCALE)
		return clampd(exp(log(lo) + (log(hi) - log(lo)) * s), lo, hi);
	return clampd(lo + (hi - lo) * s, lo, hi);
}

static double
x_to_u(int id, double x)
{
	double lo, hi, s;

	sim_cal_knob_bounds(id, &lo, &hi);
	if (knobs[id].type == KB_SCALE)
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
		const knob_def *k = &knobs[c->fit->ids[j]];
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
			snprintf(status, n, "no step from the start reduces the "
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

/* ---- cross-validation --------------------------------------------------- */

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int
sim_cal_cv(const sim_cal_table *t, const int *rows, int n,
    const sim_cal_fit_opts *o, const sim_cal_fit *proto, int k,
    unsigned long seed, double *fold_mape, double *mean, int *not_converged,
    h4h_err *err)
{
	int *perm = h4h_xmalloc((size_t)n * sizeof *perm);
	int *train = h4h_xmalloc((size_t)n * sizeof *train);
	int *test = h4h_xmalloc((size_t)n * sizeof *test);
	double *pt = h4h_xmalloc((size_t)n * sizeof *pt);
	double *pe = h4h_xmalloc((size_t)n * sizeof *pe);
	uint64_t s = seed;
	int rc = 0;

	*mean = 0;
	*not_converged = 0;
	if (k < 2 || k > n) {
		rc = h4h_errf(err, H4H_EINPUT, "%d-fold cross-validation needs "
		    "2 <= k <= %d (the training rows)", k, n);
		goto out;
	}
	for (int i = 0; i < n; i++)
		perm[i] = rows[i];
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(splitmix64(&s) % (uint64_t)(i + 1)), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (int f = 0; f < k; f++) {
		sim_cal_fit fit = *proto;
		int nt = 0, nv = 0, ne = 0;
		double sum = 0;

		for (int i = 0; i < n; i++) {
			if (i % k == f)
				test[nv++] = perm[i];
			else
				train[nt++] = perm[i];
		}
		if ((rc = sim_cal_fit_run(t, train, nt, o, &fit, err)) != 0)
			goto out;
		*not_converged += !fit.converged;
		rc = sim_cal_predict(t, fit.ids, fit.value, fit.n_knobs, test,
		    nv, pt, pe, err);
		if (rc != 0)
			goto out;
		for (int i = 0; i < nv; i++) {
			const sim_cal_row *r = &t->rows[test[i]];

			sum += fabs(pt[i] - r->measured) / r->measured;
			ne++;
			if (fit.energy && r->measured_energy_j > 0) {
				sum += fabs(pe[i] - r->measured_energy_j) /
				    r->measured_energy_j;
				ne++;
			}
		}
		fold_mape[f] = sum / ne;
		*mean += fold_mape[f] / k;
	}
out:
	free(perm);
	free(train);
	free(test);
	free(pt);
	free(pe);
	return rc;
}
