/*
 * cmd_plot.c - `h4h plot`: figures as gnuplot data + script (+ images).
 *
 *   h4h plot sweep   a stored sweep from the cost database (db.h): latency
 *                    and energy of every finished run against one swept
 *                    key, one series per combination of the other swept
 *                    keys, one image per network
 *   h4h plot fig3|fig5   `h4h profile fig3|fig5 --plot` (cmd_profile.c)
 *
 * A sweep's runs carry their point as text, "noc.bandwidth_gbps=4
 * cim.macros=8 net=hybrid-example" (space-separated key=value; net= names
 * the network, objective= the objective whose stored cost counts, latency
 * when absent).  The database is opened read-only and only read through
 * h4h_db_select.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "cli/plot.h"
#include "cost/db.h"
#include "cost/query.h"
#include "sim/spec/net.h"
#include "sim/spec/profile.h"

#define MAX_KEYS 32

static const char *usage_text =
    "usage: h4h plot sweep --db FILE --sweep ID [--x KEY] [--out DIR]\n"
    "                      [--format png|svg|both]\n"
    "       h4h plot fig3|fig5 --system FILE.ini [--set K=V]... [--out DIR]\n"
    "                      [--format png|svg|both]\n"
    "\n"
    "Writes a figure as gnuplot data (.dat) and script (.gp) and runs\n"
    "gnuplot to make the images; without gnuplot on PATH the .dat and .gp\n"
    "are still written (run gnuplot on the .gp later).\n"
    "\n"
    "  sweep        latency (ms) and energy (uJ) of a stored sweep's\n"
    "               finished runs against --x, one line per combination of\n"
    "               the other swept keys, one image per network:\n"
    "               DIR/sweepID.dat, DIR/sweepID.gp and DIR/sweepID.png/.svg\n"
    "               (DIR/sweepID-NET.png/.svg when the sweep has several\n"
    "               networks)\n"
    "  fig3, fig5   the paper's Figures 3 and 5, as h4h profile fig3|fig5\n"
    "               --plot (see h4h profile --help)\n"
    "\n"
    "  --db FILE    cost database (h4h sweep --db)\n"
    "  --sweep ID   the sweep's id (h4h db shows them)\n"
    "  --x KEY      swept key for the x axis (default noc.bandwidth_gbps)\n"
    "  --out DIR    where to write (default .; made if missing)\n"
    "  --format F   images to make: png, svg or both (default)\n";

typedef struct kv {
	char *key, *val;
} kv;

/* One finished run. */
typedef struct row {
	int point;
	char *params;
	char *objective;		/* NULL: the database has no column */
	double latency_s, energy_j;
	int n_kv;
	kv kvs[MAX_KEYS];
	double x;
	int net, series;		/* indices into the names below */
	int block;			/* its data block in the .dat */
} row;

typedef struct sweep {
	const char *db_path;
	long long id;
	const char *xkey;
	int n_rows;
	row *rows;
	int n_nets, n_series;
	char **nets;			/* net names, first-seen order */
	char **series;			/* series labels, first-seen order */
	int logx;
	double xs[64];			/* distinct x values, ascending */
	int n_xs;
	char base[64];			/* the base system's name */
	char fixed[256];		/* keys every point has at one value */
	int formats;
	char stem[64];
	char err[256];			/* a row the collector rejected */
} sweep;

/* ---- reading ------------------------------------------------------------- */

static int
collect(void *ctx, int ncol, const char *const *names,
    const char *const *values)
{
	sweep *sw = ctx;
	row *r;
	int with_obj = ncol == 5;

	(void)names;
	if ((sw->n_rows & (sw->n_rows - 1)) == 0)
		sw->rows = h4h_xrealloc(sw->rows, (size_t)(sw->n_rows ?
		    2 * sw->n_rows : 1) * sizeof *sw->rows);
	r = &sw->rows[sw->n_rows];
	memset(r, 0, sizeof *r);
	if (values[0] == NULL || values[1] == NULL ||
	    values[2 + with_obj] == NULL || values[3 + with_obj] == NULL) {
		snprintf(sw->err, sizeof sw->err, "sweep %lld: a finished run "
		    "without params or costs (point %s)", sw->id,
		    values[0] ? values[0] : "?");
		return 1;
	}
	r->point = atoi(values[0]);
	r->params = h4h_xstrdup(values[1]);
	if (with_obj && values[2] != NULL)
		r->objective = h4h_xstrdup(values[2]);
	r->latency_s = strtod(values[2 + with_obj], NULL);
	r->energy_j = strtod(values[3 + with_obj], NULL);
	sw->n_rows++;
	return 0;
}

static void
free_rows(sweep *sw)
{
	for (int i = 0; i < sw->n_rows; i++) {
		free(sw->rows[i].params);
		free(sw->rows[i].objective);
		for (int k = 0; k < sw->rows[i].n_kv; k++)
			free(sw->rows[i].kvs[k].key);
	}
	free(sw->rows);
	for (int i = 0; i < sw->n_nets; i++)
		free(sw->nets[i]);
	for (int i = 0; i < sw->n_series; i++)
		free(sw->series[i]);
	free(sw->nets);
	free(sw->series);
}

/* Split "k=v k=v" into r->kvs (key and value share one allocation). */
static int
parse_params(sweep *sw, row *r, h4h_err *err)
{
	const char *p = r->params;

	while (*p != '\0') {
		const char *end, *eq;
		char *s;

		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		end = p;
		while (*end != '\0' && !isspace((unsigned char)*end))
			end++;
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || eq == p)
			return h4h_errf(err, H4H_EINPUT, "sweep %lld point "
			    "%d: params '%s' has '%.*s', not key=value",
			    sw->id, r->point, r->params, (int)(end - p), p);
		if (r->n_kv == MAX_KEYS)
			return h4h_errf(err, H4H_EINPUT, "sweep %lld point "
			    "%d: more than %d params", sw->id, r->point,
			    MAX_KEYS);
		s = h4h_xmalloc((size_t)(end - p) + 1);
		memcpy(s, p, (size_t)(end - p));
		s[end - p] = '\0';
		s[eq - p] = '\0';
		r->kvs[r->n_kv].key = s;
		r->kvs[r->n_kv].val = s + (eq - p) + 1;
		r->n_kv++;
		p = end;
	}
	return 0;
}

static const char *
get(const row *r, const char *key)
{
	for (int i = 0; i < r->n_kv; i++)
		if (strcmp(r->kvs[i].key, key) == 0)
			return r->kvs[i].val;
	return NULL;
}

/* A stored objective matches the wanted one by name or by its enum value
 * (whichever way the database stores it). */
static int
objective_matches(const char *stored, const char *want)
{
	char num[16];
	int o = sim_objective_from_name(want);

	if (stored == NULL || strcasecmp(stored, want) == 0)
		return 1;
	snprintf(num, sizeof num, "%d", o);
	return o >= 0 && strcmp(stored, num) == 0;
}

static int
intern(char ***names, int *n, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (strcmp((*names)[i], s) == 0)
			return i;
	*names = h4h_xrealloc(*names, (size_t)(*n + 1) * sizeof **names);
	(*names)[*n] = h4h_xstrdup(s);
	return (*n)++;
}

static int
load(sweep *sw, h4h_db *db, h4h_err *err)
{
	char sql[512];
	int rc, n;

	/* The objective column lets a sweep that stored several objectives
	 * per (system, network) plot the one each run asked for; a database
	 * without it has one cost per pair. */
	snprintf(sql, sizeof sql, "SELECT r.point, r.params, c.objective, "
	    "c.latency_s, c.energy_j FROM runs r JOIN network_costs c ON "
	    "c.system_id = r.system_id AND c.network_id = r.network_id WHERE "
	    "r.sweep_id = %lld AND r.status = 'done' ORDER BY r.point", sw->id);
	rc = h4h_db_select(db, sql, collect, sw, err);
	if (rc != 0 && sw->n_rows == 0 && sw->err[0] == '\0') {
		snprintf(sql, sizeof sql, "SELECT r.point, r.params, "
		    "c.latency_s, c.energy_j FROM runs r JOIN network_costs c "
		    "ON c.system_id = r.system_id AND c.network_id = "
		    "r.network_id WHERE r.sweep_id = %lld AND r.status = "
		    "'done' ORDER BY r.point", sw->id);
		rc = h4h_db_select(db, sql, collect, sw, err);
	}
	if (sw->err[0] != '\0')
		return h4h_errf(err, H4H_EINPUT, "%s", sw->err);
	if (rc != 0)
		return rc;
	if (sw->n_rows == 0)
		return h4h_errf(err, H4H_EINPUT, "sweep %lld has no finished "
		    "runs in '%s'", sw->id, sw->db_path);

	/* Keep, per point, the cost of the objective the run asked for. */
	n = 0;
	for (int i = 0; i < sw->n_rows; i++) {
		row *r = &sw->rows[i];
		const char *want;

		if ((rc = parse_params(sw, r, err)) != 0)
			return rc;
		want = get(r, "objective");
		if (objective_matches(r->objective, want ? want : "latency") &&
		    (n == 0 || sw->rows[n - 1].point != r->point)) {
			row t = sw->rows[n];

			sw->rows[n++] = *r;
			*r = t;
		}
	}
	for (int i = n; i < sw->n_rows; i++) {
		free(sw->rows[i].params);
		free(sw->rows[i].objective);
		for (int k = 0; k < sw->rows[i].n_kv; k++)
			free(sw->rows[i].kvs[k].key);
	}
	sw->n_rows = n;
	if (n == 0)
		return h4h_errf(err, H4H_EINPUT, "sweep %lld has no stored "
		    "cost for the objective its runs asked for", sw->id);
	return 0;
}

/* Keys whose value is not the same in every row (missing counts as a
 * value), in first-seen order. */
static int
varied_keys(const sweep *sw, const char **keys)
{
	int n = 0;

	for (int i = 0; i < sw->n_rows; i++)
		for (int k = 0; k < sw->rows[i].n_kv; k++) {
			const char *key = sw->rows[i].kvs[k].key;
			const char *v0 = get(&sw->rows[0], key);
			int seen = 0, varies = 0;

			for (int j = 0; j < n; j++)
				seen |= strcmp(keys[j], key) == 0;
			for (int j = 0; !seen && j < sw->n_rows; j++) {
				const char *v = get(&sw->rows[j], key);

				if (v == NULL || v0 == NULL ||
				    strcmp(v, v0) != 0)
					varies = 1;
			}
			if (!seen && varies && n < MAX_KEYS)
				keys[n++] = key;
		}
	return n;
}

static void
list_keys(const row *r, char *buf, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < r->n_kv && used < n; i++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s",
		    i ? ", " : "", r->kvs[i].key);
}

static int
by_net_series_x(const void *a, const void *b)
{
	const row *x = a, *y = b;

	if (x->net != y->net)
		return x->net - y->net;
	if (x->series != y->series)
		return x->series - y->series;
	if (x->x != y->x)
		return x->x < y->x ? -1 : 1;
	return x->point - y->point;
}

static int
arrange(sweep *sw, h4h_err *err)
{
	const char *keys[MAX_KEYS];
	int n_keys = varied_keys(sw, keys);
	double xmin = INFINITY, xmax = -INFINITY;

	for (int i = 0; i < sw->n_rows; i++) {
		row *r = &sw->rows[i];
		const char *xv = get(r, sw->xkey), *net = get(r, "net");
		char label[512], *end;
		size_t used = 0;

		if (xv == NULL) {
			char ks[400];

			list_keys(r, ks, sizeof ks);
			return h4h_errf(err, H4H_EINPUT, "sweep %lld point %d "
			    "has no key '%s' for --x (its keys: %s)", sw->id,
			    r->point, sw->xkey, ks);
		}
		errno = 0;
		r->x = strtod(xv, &end);
		if (end == xv || *end != '\0' || errno != 0 || !isfinite(r->x))
			return h4h_errf(err, H4H_EINPUT, "sweep %lld point %d: "
			    "--x key '%s' is '%s', not a number", sw->id,
			    r->point, sw->xkey, xv);
		xmin = fmin(xmin, r->x);
		xmax = fmax(xmax, r->x);
		label[0] = '\0';
		for (int k = 0; k < n_keys; k++) {
			const char *v = get(r, keys[k]);

			if (strcmp(keys[k], sw->xkey) == 0 ||
			    strcmp(keys[k], "net") == 0)
				continue;
			used += (size_t)snprintf(label + used, sizeof label -
			    used, "%s%s=%s", used ? " " : "", keys[k],
			    v ? v : "(unset)");
			if (used >= sizeof label)
				used = sizeof label - 1;
		}
		r->net = intern(&sw->nets, &sw->n_nets, net ? net : "");
		r->series = intern(&sw->series, &sw->n_series, label);
	}
	qsort(sw->rows, (size_t)sw->n_rows, sizeof *sw->rows,
	    by_net_series_x);
	for (int i = 0; i < sw->n_rows; i++) {
		row *r = &sw->rows[i];

		r->block = i == 0 ? 0 : r[-1].block + (r->net != r[-1].net ||
		    r->series != r[-1].series);
	}
	/* Bandwidths and macro counts grow in powers of two: a log axis
	 * spaces them evenly, where it can (no zeros) and it matters. */
	sw->logx = xmin > 0 && xmax / xmin >= 4;
	/* Ticks at the swept values: integer keys get integer ticks, and a
	 * log axis shows the values swept, not gnuplot's decades. */
	sw->n_xs = 0;
	for (int i = 0; i < sw->n_rows; i++) {
		int k = 0;

		while (k < sw->n_xs && sw->xs[k] < sw->rows[i].x)
			k++;
		if (k < sw->n_xs && sw->xs[k] == sw->rows[i].x)
			continue;
		if (sw->n_xs == 64) {
			sw->n_xs = 0;	/* too many: gnuplot's own ticks */
			break;
		}
		memmove(&sw->xs[k + 1], &sw->xs[k], (size_t)(sw->n_xs - k) *
		    sizeof sw->xs[0]);
		sw->xs[k] = sw->rows[i].x;
		sw->n_xs++;
	}
	/* The settings every point shares (net aside), for the title. */
	{
		size_t used = 0;

		sw->fixed[0] = '\0';
		for (int k = 0; k < sw->rows[0].n_kv; k++) {
			const char *key = sw->rows[0].kvs[k].key;
			const char *v0 = sw->rows[0].kvs[k].val;
			int same = 1;

			if (strcmp(key, "net") == 0)
				continue;
			for (int j = 1; same && j < sw->n_rows; j++) {
				const char *v = get(&sw->rows[j], key);

				same = v != NULL && strcmp(v, v0) == 0;
			}
			if (same && used < sizeof sw->fixed)
				used += (size_t)snprintf(sw->fixed + used,
				    sizeof sw->fixed - used, "%s%s=%s",
				    used ? ", " : "", key, v0);
		}
	}
	return 0;
}

static int
base_row(void *ctx, int ncol, const char *const *names,
    const char *const *values)
{
	sweep *sw = ctx;
	const char *colon;

	(void)names;
	if (ncol < 1 || values[0] == NULL)
		return 0;
	colon = strchr(values[0], ':');
	snprintf(sw->base, sizeof sw->base, "%.*s", colon ? (int)(colon -
	    values[0]) : (int)strlen(values[0]), values[0]);
	return 1;
}

/* The base system's name: the part of a point's system name before ':'
 * (h4h sweep names points "BASE:key=value,..."). */
static void
load_base(sweep *sw, h4h_db *db)
{
	char sql[256];
	h4h_err err;

	sw->base[0] = '\0';
	snprintf(sql, sizeof sql, "SELECT s.name FROM runs r JOIN systems s "
	    "ON s.id = r.system_id WHERE r.sweep_id = %lld ORDER BY r.point "
	    "LIMIT 1", sw->id);
	(void)h4h_db_select(db, sql, base_row, sw, &err);
}

/* "key (unit)" for an axis label; the key alone if it has none. */
static void
axis_label(const char *key, char *buf, size_t n)
{
	const char *u = sim_profile_key_unit(key);

	if (u == NULL || strcmp(u, "-") == 0)
		snprintf(buf, n, "%s", key);
	else
		snprintf(buf, n, "%s (%s)", key, u);
}

/* ---- writing ------------------------------------------------------------- */

static void
write_sweep_dat(FILE *f, const void *ctx)
{
	const sweep *sw = ctx;

	fprintf(f, "# h4h plot sweep: sweep %lld of %s, x = %s\n"
	    "# one block per (net, series), gnuplot index 0.., separated by "
	    "two blank lines\n", sw->id, sw->db_path, sw->xkey);
	for (int i = 0; i < sw->n_rows; i++) {
		const row *r = &sw->rows[i];

		if (i == 0 || r->block != r[-1].block)
			fprintf(f, "%s# index %d: net=%s%s%s\n# %-12s %14s "
			    "%14s %6s\n", r->block ? "\n\n" : "\n", r->block,
			    sw->nets[r->net], sw->series[r->series][0] ?
			    "  " : "", sw->series[r->series], sw->xkey,
			    "latency_ms", "energy_uJ", "point");
		fprintf(f, "%-14.10g %14.6g %14.6g %6d\n", r->x,
		    r->latency_s * 1e3, r->energy_j * 1e6, r->point);
	}
}

/* File-name-safe copy of a net name. */
static void
safe_name(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < n; i++)
		buf[i] = isalnum((unsigned char)s[i]) || s[i] == '.' ||
		    s[i] == '-' || s[i] == '_' ? s[i] : '_';
	buf[i] = '\0';
}

static void
image_stem(const sweep *sw, int net, char *buf, size_t n)
{
	char safe[SIM_NAME_MAX];

	if (sw->n_nets == 1) {
		snprintf(buf, n, "%s", sw->stem);
		return;
	}
	safe_name(sw->nets[net][0] ? sw->nets[net] : "net", safe,
	    sizeof safe);
	snprintf(buf, n, "%s-%s", sw->stem, safe);
}

static void
write_sweep_gp(FILE *f, const void *ctx)
{
	const sweep *sw = ctx;
	static const char *const panels[2][3] = {
		{ "2", "Latency", "latency (ms)" },
		{ "3", "Energy", "energy (uJ)" },
	};
	char head[128], how[512], dat[80];

	snprintf(head, sizeof head, "%s.gp - sweep %lld: latency and energy "
	    "against %s", sw->stem, sw->id, sw->xkey);
	snprintf(how, sizeof how, "One image per network, two panels; one "
	    "line per combination of the\nother swept keys.  Data: %s.dat, "
	    "one block per (net, series).\nMade by: h4h plot sweep --db %s "
	    "--sweep %lld --x %s", sw->stem, sw->db_path, sw->id, sw->xkey);
	snprintf(dat, sizeof dat, "%s.dat", sw->stem);
	plot_gp_head(f, head, how, sw->formats);
	for (int net = 0; net < sw->n_nets; net++) {
		char stem[128], title[512], xlabel[128];
		int lines = 0;

		/* The key sits below the panels, one line per series: grow
		 * the image with it so the panels keep their height. */
		for (int i = 0; i < sw->n_rows; i++)
			lines += sw->rows[i].net == net &&
			    (i == 0 || sw->rows[i].block != sw->rows[i - 1].block);
		image_stem(sw, net, stem, sizeof stem);
		fprintf(f, "# ---- net %s ----\n", sw->nets[net][0] ?
		    sw->nets[net] : "(unnamed)");
		plot_gp_begin(f, stem, 1100, 380 + 16 * lines);
		snprintf(title, sizeof title, "sweep %lld%s%s%s%s%s%s%s", sw->id,
		    sw->nets[net][0] ? ": net " : "", sw->nets[net],
		    sw->base[0] ? " on " : "", sw->base,
		    sw->fixed[0] ? " (" : "", sw->fixed,
		    sw->fixed[0] ? ")" : "");
		fprintf(f, "    set multiplot layout 1,2 title ");
		plot_gp_string(f, title);
		fprintf(f, "\n    set xlabel ");
		axis_label(sw->xkey, xlabel, sizeof xlabel);
		plot_gp_string(f, xlabel);
		if (sw->n_xs > 0) {
			fprintf(f, "\n    set xtics (");
			for (int k = 0; k < sw->n_xs; k++)
				fprintf(f, "%s%.10g", k ? ", " : "", sw->xs[k]);
			/* A margin, so the end ticks are not on the border. */
			fprintf(f, ")\n    set offsets graph 0.03, graph 0.03, "
			    "0, 0");
		}
		fprintf(f, "\n%s"
		    "    set yrange [0:*]\n"
		    "    set grid\n"
		    "    set key below\n",
		    sw->logx ? "    set logscale x 2\n" : "");
		for (int p = 0; p < 2; p++) {
			fprintf(f, "\n    set title \"%s\"\n    set ylabel "
			    "\"%s\"\n    plot ", panels[p][1], panels[p][2]);
			/* One line per block of this net, in .dat order. */
			for (int i = 0, s = 0; i < sw->n_rows; i++) {
				const row *r = &sw->rows[i];

				if (r->net != net ||
				    (i > 0 && r->block == r[-1].block))
					continue;
				fprintf(f, "%s", s ? ", \\\n         " : "");
				plot_gp_string(f, s ? "" : dat);
				fprintf(f, " index %d using 1:%s with "
				    "linespoints lw 2 pt %d title ", r->block,
				    panels[p][0], 5 + 2 * (s % 6));
				plot_gp_string(f, sw->series[r->series][0] ?
				    sw->series[r->series] : sw->nets[net]);
				s++;
			}
			fputc('\n', f);
		}
		plot_gp_end(f);
	}
}

static int
sweep_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "sweep", required_argument, NULL, 's' },
		{ "x", required_argument, NULL, 'x' },
		{ "out", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db_path = NULL, *id = NULL, *out_dir = ".";
	char dat[96], gp[96], **images = NULL;
	int c, rc, status = 0, n_images = 0, rendered;
	h4h_db *db = NULL;
	sweep sw;
	h4h_err err = { "" };
	char *end;

	memset(&sw, 0, sizeof sw);
	sw.xkey = "noc.bandwidth_gbps";
	sw.formats = PLOT_BOTH;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db_path = optarg;
			break;
		case 's':
			id = optarg;
			break;
		case 'x':
			sw.xkey = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'f':
			if ((sw.formats = plot_format_from_name(optarg)) < 0)
				return cli_usage_error("plot", "--format must "
				    "be png, svg or both (got '%s')", optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			if (optopt != 0)
				return cli_usage_error("plot", "option '-%c' "
				    "needs a value or is unknown (see h4h plot "
				    "--help)", optopt);
			return cli_usage_error("plot", "unknown option '%s' "
			    "(see h4h plot --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("plot", "unexpected argument '%s'",
		    argv[optind]);
	if (db_path == NULL || id == NULL)
		return cli_usage_error("plot", "sweep needs --db FILE and "
		    "--sweep ID");
	errno = 0;
	sw.id = strtoll(id, &end, 10);
	if (end == id || *end != '\0' || errno != 0 || sw.id < 1)
		return cli_usage_error("plot", "--sweep must be a positive "
		    "integer (got '%s')", id);
	if (sw.xkey[0] == '\0')
		return cli_usage_error("plot", "--x must name a key");
	sw.db_path = db_path;
	snprintf(sw.stem, sizeof sw.stem, "sweep%lld", sw.id);

	if ((rc = h4h_db_open(db_path, H4H_DB_READONLY, &db, &err)) != 0 ||
	    (rc = load(&sw, db, &err)) != 0 || (rc = arrange(&sw, &err)) != 0 ||
	    (rc = plot_dir_prepare(out_dir, &err)) != 0) {
		status = cli_fail("plot", rc, &err);
		goto out;
	}
	load_base(&sw, db);
	images = h4h_xcalloc((size_t)sw.n_nets * 2, sizeof *images);
	for (int net = 0; net < sw.n_nets; net++) {
		char stem[128];

		image_stem(&sw, net, stem, sizeof stem);
		for (int fm = PLOT_PNG; fm <= PLOT_SVG; fm <<= 1)
			if (sw.formats & fm) {
				size_t n = strlen(stem) + 5;

				images[n_images] = h4h_xmalloc(n);
				snprintf(images[n_images++], n, "%s.%s", stem,
				    fm == PLOT_PNG ? "png" : "svg");
			}
	}
	snprintf(dat, sizeof dat, "%s.dat", sw.stem);
	snprintf(gp, sizeof gp, "%s.gp", sw.stem);
	rc = plot_write(out_dir, dat, "data", write_sweep_dat, &sw, &err);
	if (rc == 0)
		rc = plot_write(out_dir, gp, "gnuplot script", write_sweep_gp,
		    &sw, &err);
	if (rc == 0)
		rc = plot_render("plot", out_dir, sw.stem,
		    (const char *const *)images, n_images, &rendered, &err);
	if (rc != 0) {
		status = cli_fail("plot", rc, &err);
		goto out;
	}
	printf("sweep %lld: %d runs, %d network%s, %d series; wrote %s/%s, "
	    "%s/%s", sw.id, sw.n_rows, sw.n_nets, sw.n_nets == 1 ? "" : "s",
	    sw.n_series, out_dir, dat, out_dir, gp);
	for (int i = 0; rendered && i < n_images; i++)
		printf(", %s/%s", out_dir, images[i]);
	printf("\n");
	if (fflush(stdout) != 0) {
		perror("h4h: plot: stdout");
		status = 1;
	}
out:
	for (int i = 0; i < n_images; i++)
		free(images[i]);
	free(images);
	free_rows(&sw);
	h4h_db_close(db);
	return status;
}

static int
plot_exec(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("plot", "give a figure: sweep, fig3 or "
		    "fig5 (see h4h plot --help)");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "sweep") == 0)
		return sweep_exec(argc - 1, argv + 1);
	if (strcmp(argv[1], "fig3") == 0 || strcmp(argv[1], "fig5") == 0)
		return profile_study_exec("plot", argc - 1, argv + 1, 1);
	return cli_usage_error("plot", "unknown figure '%s' (give sweep, fig3 "
	    "or fig5)", argv[1]);
}

const h4h_cmd h4h_cmd_plot = {
	.name = "plot",
	.summary = "plot a stored sweep or the paper's Figures 3 and 5",
	.exec = plot_exec,
};
