/*
 * table.c - the measured table a calibration fits: loading its CSV,
 * checking each row (kind, shape, measured latency or energy), and
 * building the layer each row is simulated as (doc/calibration.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "cost/calibrate/calibrateInt.h"

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

/* Condition columns named apart from the key they set. */
static const struct { const char *col; const char *key; } direct[] = {
	{ "npu_macs", "npu.macs" },
	{ "clock_mhz", "npu.clock_mhz" },
	{ "bandwidth_gbps", "noc.bandwidth_gbps" },
	{ "latency_cycles", "noc.latency_cycles" },
	{ "macros", "cim.macros" },
	{ "cus", "cim.cus_per_macro" },
};

int
table_sets_key(const sim_cal_table *t, const int *rows, int n,
    const char *key, int *line)
{
	for (int c = 0; c < t->n_cols; c++) {
		int match = strcmp(t->cols[c], key) == 0;

		for (size_t d = 0; d < sizeof direct / sizeof direct[0]; d++)
			match |= strcmp(t->cols[c], direct[d].col) == 0 &&
			    strcmp(direct[d].key, key) == 0;
		if (!match)
			continue;
		for (int i = 0; i < n; i++)
			if (t->rows[rows[i]].fields[c][0] != '\0') {
				*line = t->rows[rows[i]].line;
				return c;
			}
	}
	return -1;
}

/* Apply the row's condition columns to its profile. */
static int
row_conditions(const char *path, int line, const sim_cal_table *t,
    char **f, const cols_idx *ci, sim_profile *p, h4h_err *err)
{
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
	buf = h4h_xrealloc(buf,
	    len + 1);	/* the read does not terminate */
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
				rc = h4h_errf(err, H4H_EINPUT,
				    "table '%s' line "
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
