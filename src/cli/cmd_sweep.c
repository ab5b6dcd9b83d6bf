/*
 * cmd_sweep.c - `h4h sweep`: the cartesian product of profile values over
 * one or more networks, every point stored in the cost database.
 *
 * A sweep is identified by its arguments (the base system's values, the
 * --set and --vary lists, the objective and the networks), so running the
 * same command again resumes it: points already done are skipped, points
 * left 'running' by a process that died are run again, and every point is
 * committed in one transaction, so a kill -9 loses at most the points in
 * flight.  --jobs N forks N workers that claim points from the database.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/ranks.h"
#include "cli/sweep.h"
#include "sim/front/arch.h"
#include "sim/spec/canon.h"
#include "cost/db.h"
#include "cost/memo.h"
#include "cost/query.h"
#include "cost/store.h"
#include "cost/sweep.h"
#include "sim/sim.h"

#define MAX_SETS 64
#define MAX_JOBS 64

static const char *usage_text =
    "usage: h4h sweep --system FILE.ini\n"
    "                 (--net FILE.json | --arch FILE.json | --onnx FILE.onnx)...\n"
    "                 --vary section.key=v1,v2,... [--vary ...] --db FILE\n"
    "                 [--set section.key=value]... "
    "[--objective latency|energy|edp]\n"
    "                 [--jobs N] [--shard K/N] [--quiet]\n"
    "\n"
    "Simulates every combination of the --vary values (and every network)\n"
    "and stores the results in the cost database.  Running the same\n"
    "command again resumes an interrupted sweep: finished points are kept.\n"
    "\n"
    "  --system FILE   base hardware profile\n"
    "  --net FILE      a network (JSON layer list); repeatable\n"
    "  --arch FILE     an H4H architecture (JSON); repeatable\n"
    "  --onnx FILE     an ONNX model; repeatable\n"
    "  --vary K=V,...  a profile key and the values it takes\n"
    "  --set K=V       a fixed override of the base profile\n"
    "  --objective O   latency (default), energy or edp\n"
    "  --db FILE       the cost database (created if missing)\n"
    "  --jobs N        worker processes (default 1; per rank under mpirun)\n"
    "  --shard K/N     only the K-th of N deterministic shares of the points\n"
    "                  (point %% N = K - 1), for a job array; merge the\n"
    "                  shards' databases with h4h db merge\n"
    "  --quiet         no progress bar\n";

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Splits "section.key=v1,v2" into v; every value is checked against the
 * base profile now, so a bad one costs nothing later. */
/* dir(from) + "/" + name, unless name is absolute. */
static char *
beside(const char *from, const char *name)
{
	const char *slash = strrchr(from, '/');
	size_t n = strlen(from) + strlen(name) + 2;
	char *out = h4h_xmalloc(n);

	if (name[0] == '/' || slash == NULL)
		snprintf(out, n, "%s", name);
	else
		snprintf(out, n, "%.*s/%s", (int)(slash - from), from, name);
	return out;
}

static int
parse_vary(const char *arg, const char *system, const sim_profile *base,
    vary *v, h4h_err *err)
{
	const char *eq = strchr(arg, '=');
	char *list, *tok, *save = NULL;
	h4h_err sub = { "" };
	int rc;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof v->key)
		return h4h_errf(err, H4H_EINPUT, "--vary '%s': expected "
		    "section.key=v1,v2,...", arg);
	snprintf(v->key, sizeof v->key, "%.*s", (int)(eq - arg), arg);
	v->n = 0;
	/* The points are labelled, stored and exported under the sweep's one
	 * objective: a varied objective would be costed under one and
	 * labelled with another. */
	if (strcmp(v->key, "partition.objective") == 0)
		return h4h_errf(err, H4H_EINPUT, "--vary partition.objective: "
		    "the objective cannot vary within a sweep (run one sweep "
		    "per --objective)");
	/* strtok_r would skip an empty entry silently. */
	if (eq[1] == '\0' || eq[1] == ',' || strstr(eq, ",,") != NULL ||
	    eq[strlen(eq) - 1] == ',')
		return h4h_errf(err, H4H_EINPUT, "--vary '%s': empty value in "
		    "the list", arg);
	list = h4h_xstrdup(eq + 1);
	for (tok = strtok_r(list, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		sim_profile p = *base;
		char set[256];

		if (v->n == MAX_VALUES) {
			rc = h4h_errf(err, H4H_EINPUT, "--vary %s: at most %d "
			    "values", v->key, MAX_VALUES);
			goto fail;
		}
		/* A whole component file: its keys over the base system's. */
		if (strcmp(v->key, "system.include") == 0) {
			char *path = beside(system, tok);

			if ((rc = sim_profile_apply_file(&p, path, &sub)) != 0) {
				h4h_errf(err, rc, "--vary system.include=%s: %s",
				    tok, sub.msg);
				free(path);
				goto fail;	/* frees the good ones too */
			}
			v->paths[v->n] = path;
			v->values[v->n++] = h4h_xstrdup(tok);
			continue;
		}
		snprintf(set, sizeof set, "%s=%s", v->key, tok);
		if ((rc = sim_profile_set(&p, set, &sub)) != 0 ||
		    (rc = sim_profile_validate(&p, &sub)) != 0) {
			rc = h4h_errf(err, rc, "--vary %s", sub.msg);
			goto fail;
		}
		v->values[v->n++] = h4h_xstrdup(tok);
	}
	free(list);
	if (v->n == 0)
		return h4h_errf(err, H4H_EINPUT, "--vary %s: no values", v->key);
	return 0;
fail:
	/* The caller frees only the --vary lists that parsed. */
	for (int i = 0; i < v->n; i++) {
		free(v->values[i]);
		free(v->paths[i]);
		v->values[i] = v->paths[i] = NULL;
	}
	v->n = 0;
	free(list);
	return rc;
}

/* Point i: its network and one value per --vary (the last varies
 * fastest). */
static int
point_net(const sweep *s, int i, int *value_idx)
{
	int rest = i;

	for (int k = s->n_vary - 1; k >= 0; k--) {
		value_idx[k] = rest % s->vary[k].n;
		rest /= s->vary[k].n;
	}
	return rest;
}

static char *
point_params(const sweep *s, int i)
{
	int idx[MAX_VARY], net = point_net(s, i, idx);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (int k = 0; k < s->n_vary; k++)
		fprintf(f, "%s=%s ", s->vary[k].key,
		    s->vary[k].values[idx[k]]);
	fprintf(f, "objective=%s net=",
	    sim_objective_name(s->base.part.objective));
	/* params are space-separated key=value words: no blanks in the name */
	for (const char *c = s->nets[net]->name; *c != '\0'; c++)
		fputc(*c == ' ' || *c == '\t' ? '_' : *c, f);
	fclose(f);
	return buf;
}

static int
point_profile(const sweep *s, int i, sim_profile *p, h4h_err *err)
{
	int idx[MAX_VARY], rc;

	*p = s->base;
	point_net(s, i, idx);
	/* A varied component file first, then --set again (it wins over any
	 * file, as in sim), then the other varied keys. */
	for (int k = 0; k < s->n_vary; k++) {
		if (s->vary[k].paths[0] == NULL)
			continue;
		if ((rc = sim_profile_apply_file(p, s->vary[k].paths[idx[k]],
		    err)) != 0)
			return rc;
		for (int j = 0; j < s->n_sets; j++)
			if ((rc = sim_profile_set(p, s->sets[j], err)) != 0)
				return rc;
		/* The sweep's one objective, whatever the file says. */
		p->part.objective = s->base.part.objective;
	}
	for (int k = 0; k < s->n_vary; k++) {
		char set[256];

		if (s->vary[k].paths[0] != NULL)
			continue;
		snprintf(set, sizeof set, "%s=%s", s->vary[k].key,
		    s->vary[k].values[idx[k]]);
		if ((rc = sim_profile_set(p, set, err)) != 0)
			return rc;
	}
	/* Name the point's system after what varies ("base:key=v,...",
	 * section prefixes dropped), so the database's systems read apart. */
	{
		char name[sizeof p->name];
		size_t n = (size_t)snprintf(name, sizeof name, "%s",
		    s->base.name);

		for (int k = 0; k < s->n_vary && n < sizeof name; k++) {
			const char *key = strchr(s->vary[k].key, '.');

			n += (size_t)snprintf(name + n, sizeof name - n, "%c%s=%s",
			    k == 0 ? ':' : ',', key ? key + 1 : s->vary[k].key,
			    s->vary[k].values[idx[k]]);
		}
		snprintf(p->name, sizeof p->name, "%s", name);
	}
	return sim_profile_validate(p, err);
}

/* The sweep's identity: everything that decides its points' results. */
static char *
sweep_args(const sweep *s)
{
	char *canon = sim_profile_canon(&s->base), *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fprintf(f, "system %016llx\n", (unsigned long long)h4h_hash64(canon,
	    strlen(canon), H4H_HASH_SEED));
	/* The canonical system leaves the objective out: without this line
	 * an --objective energy sweep resumed the latency sweep of the same
	 * systems and reported its costs. */
	fprintf(f, "objective %s\n",
	    sim_objective_name(s->base.part.objective));
	/* The base system's name, so that exports name each point as this
	 * sweep does (a system stored first by another sweep keeps that
	 * sweep's name in the systems table). */
	fprintf(f, "name %s\n", s->base.name);
	for (int k = 0; k < s->n_vary; k++) {
		fprintf(f, "vary %s=", s->vary[k].key);
		for (int j = 0; j < s->vary[k].n; j++)
			fprintf(f, "%s%s", j ? "," : "", s->vary[k].values[j]);
		fputc('\n', f);
	}
	for (int n = 0; n < s->n_nets; n++)
		fprintf(f, "net %s %016llx\n", s->nets[n]->name,
		    (unsigned long long)sim_net_hash(s->nets[n]));
	fclose(f);
	free(canon);
	return buf;
}

int
sweep_point_ids(h4h_db *db, const sweep *s, int i, int64_t *sys_id,
    int64_t *net_id, h4h_err *err)
{
	int idx[MAX_VARY], n = point_net(s, i, idx), rc;
	sim_profile p;

	if ((rc = point_profile(s, i, &p, err)) != 0 ||
	    (rc = h4h_db_system(db, &p, sys_id, err)) != 0)
		return rc;
	return h4h_db_network(db, s->nets[n], s->is_arch[n] ? "arch" : "net",
	    s->arch_json[n], net_id, err);
}

int
sweep_point_sim(h4h_db *db, const sweep *s, int i, int64_t *sys_id,
    int64_t *net_id, h4h_err *err)
{
	int idx[MAX_VARY], n = point_net(s, i, idx), found = 0, rc;
	sim_profile p;
	sim_cache cache;
	sim_result *r = NULL;
	double lat, energy;

	if ((rc = point_profile(s, i, &p, err)) != 0 ||
	    (rc = sweep_point_ids(db, s, i, sys_id, net_id, err)) != 0 ||
	    (rc = h4h_db_net_cost_get(db, *sys_id, *net_id, p.part.objective,
	    &lat, &energy, &found, err)) != 0)
		return rc;
	if (!found) {
		if ((rc = h4h_db_cache(db, *sys_id, &p, &cache, err)) != 0 ||
		    (rc = sim_run_cached(&p, s->nets[n], &cache, &r,
		    err)) != 0 ||
		    (rc = h4h_db_net_cost_put(db, *sys_id, *net_id, r,
		    err)) != 0) {
			sim_result_destroy(r);
			return rc;
		}
		sim_result_destroy(r);
	}
	return 0;
}

/* Run one point; everything it produced is committed with its status. */
static int
run_point(h4h_db *db, const sweep *s, int i, h4h_err *err)
{
	int64_t sys_id, net_id;
	int rc;

	if ((rc = sweep_point_sim(db, s, i, &sys_id, &net_id, err)) != 0)
		return rc;
	return h4h_db_run_finish(db, s->sweep_id, i, sys_id, net_id, err);
}

/* Claim and run points until none is left.  Returns the number that
 * failed, or a negative code if the database itself failed. */
static int
worker(const sweep *s, int progress, h4h_err *err)
{
	h4h_db *db;
	int failed = 0, rc, point, done, nfail, total;
	double t0 = now_s();

	if ((rc = h4h_db_open(s->db_path, 0, &db, err)) != 0)
		return rc;
	for (;;) {
		h4h_err perr = { "" };

		if ((rc = h4h_db_run_claim_share(db, s->sweep_id, s->share,
		    s->n_shares, &point, err)) != 0)
			break;
		if (point < 0)
			break;
		if ((rc = run_point(db, s, point, &perr)) == H4H_EIO) {
			/* The database cannot be written (a full disk, a
			 * read-only place): every later point would fail the
			 * same way.  Stop, say it once; the point stays in
			 * flight and a rerun takes it again. */
			rc = h4h_errf(err, rc, "%s", perr.msg);
			break;
		}
		if (rc != 0) {
			failed++;
			fprintf(stderr, "h4h: sweep: point %d (%s): %s\n", point,
			    s->params[point], perr.msg);
			if ((rc = h4h_db_run_fail(db, s->sweep_id, point,
			    perr.msg, err)) != 0)
				break;
		}
		if (progress && h4h_db_sweep_progress(db, s->sweep_id, &done,
		    &nfail, &total, NULL) == 0)
			cli_progress("sweep", done + nfail, total, now_s() - t0);
	}
	cli_db_bad_rows("sweep", db);
	h4h_db_close(db);
	return rc != 0 ? rc : failed;
}

int
sweep_fork_jobs(const sweep *s, int jobs, int *pids, h4h_err *err)
{
	fflush(NULL);
	for (int j = 0; j < jobs; j++) {
		pids[j] = fork();
		if (pids[j] < 0)
			return h4h_errf(err, H4H_ESIM, "fork: %s",
			    strerror(errno));
		if (pids[j] == 0) {
			h4h_err werr = { "" };
			int rc;

#ifdef __linux__
			/* A worker outlives nothing: kill -9 of the sweep stops
			 * it too (its point then counts as in flight). */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(3);
#endif
			rc = worker(s, 0, &werr);

			if (rc < 0)
				fprintf(stderr, "h4h: sweep: worker: %s\n",
				    werr.msg);
			_exit(rc < 0 ? 3 : rc > 0 ? 1 : 0);
		}
	}
	return 0;
}

static int
run_jobs(const sweep *s, int jobs, int quiet, h4h_err *err)
{
	int pids[MAX_JOBS];
	int failed = 0, status, done, nfail, total, live;
	double t0 = now_s();
	h4h_db *db;

	if (cli_ranks() > 1)
		return sweep_ranks_coordinate(s, jobs, quiet, err);
	if (jobs == 1) {
		int rc = worker(s, !quiet, err);

		return rc;
	}
	if (sweep_fork_jobs(s, jobs, pids, err) != 0)
		return H4H_ESIM;
	/* The parent only watches: progress from the database. */
	if (h4h_db_open(s->db_path, H4H_DB_READONLY, &db, err) != 0)
		db = NULL;
	for (live = jobs; live > 0;) {
		pid_t pid = waitpid(-1, &status, quiet ? 0 : WNOHANG);

		if (pid > 0) {
			live--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				failed++;
			continue;
		}
		if (db != NULL && h4h_db_sweep_progress(db, s->sweep_id, &done,
		    &nfail, &total, NULL) == 0)
			cli_progress("sweep", done + nfail, total, now_s() - t0);
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	}
	h4h_db_close(db);
	return failed;
}

typedef struct summary_ctx {
	FILE *f;
	int rows;
} summary_ctx;

static int
summary_row(void *vctx, int ncol, const char *const *names,
    const char *const *values)
{
	summary_ctx *ctx = vctx;

	(void)names;
	if (ncol < 5)
		return 1;
	if (ctx->rows++ == 0)
		fprintf(ctx->f, "%5s  %-7s %12s %12s  %s\n", "point", "status",
		    "latency_ms", "energy_uJ", "params");
	if (values[3] != NULL)
		fprintf(ctx->f, "%5s  %-7s %12.4f %12.3f  %s\n", values[0],
		    values[2], atof(values[3]) * 1e3, atof(values[4]) * 1e6,
		    values[1]);
	else
		fprintf(ctx->f, "%5s  %-7s %12s %12s  %s\n", values[0],
		    values[2], "-", "-", values[1]);
	return 0;
}

static int
print_summary(const sweep *s, h4h_err *err)
{
	char sql[512];
	summary_ctx ctx = { stdout, 0 };
	h4h_db *db;
	int rc;

	if ((rc = h4h_db_open(s->db_path, H4H_DB_READONLY, &db, err)) != 0)
		return rc;
	snprintf(sql, sizeof sql, "SELECT r.point, r.params, r.status, "
	    "c.latency_s, c.energy_j FROM runs r LEFT JOIN network_costs c "
	    "ON c.system_id = r.system_id AND c.network_id = r.network_id "
	    "AND c.objective = '%s' WHERE r.sweep_id = %lld AND r.point %% %d "
	    "= %d ORDER BY r.point", sim_objective_name(s->base.part.objective),
	    (long long)s->sweep_id, s->n_shares, s->share);
	rc = h4h_db_select(db, sql, summary_row, &ctx, err);
	h4h_db_close(db);
	return rc;
}

static void
sweep_free(sweep *s)
{
	for (int n = 0; n < s->n_nets; n++) {
		sim_net_destroy(s->nets[n]);
		free(s->arch_json[n]);
	}
	for (int k = 0; k < s->n_vary; k++)
		for (int j = 0; j < s->vary[k].n; j++) {
			free(s->vary[k].values[j]);
			free(s->vary[k].paths[j]);
		}
	for (int i = 0; s->params != NULL && i < s->n_points; i++)
		free(s->params[i]);
	free(s->params);
}

static int
sweep_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "system", required_argument, NULL, 's' },
		{ "net", required_argument, NULL, 'n' },
		{ "arch", required_argument, NULL, 'a' },
		{ "onnx", required_argument, NULL, 'x' },
		{ "vary", required_argument, NULL, 'v' },
		{ "set", required_argument, NULL, 'S' },
		{ "objective", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "shard", required_argument, NULL, 'K' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *system = NULL, *objective = NULL, *sets[MAX_SETS];
	const char *net_args[MAX_NETS], *vary_args[MAX_VARY];
	int n_sets = 0, n_net_args = 0, n_vary_args = 0, jobs = 1, quiet = 0;
	int net_kind[MAX_NETS], c, rc, status = 0, created;
	sweep s;
	h4h_err err = { "" };
	char *args, *end;
	h4h_db *db;

	memset(&s, 0, sizeof s);
	s.n_shares = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			system = optarg;
			break;
		case 'n':
		case 'a':
		case 'x':
			if (n_net_args == MAX_NETS)
				return cli_usage_error("sweep", "at most %d "
				    "networks", MAX_NETS);
			net_kind[n_net_args] = c == 'a' ? SIM_NET_ARCH :
			    c == 'x' ? SIM_NET_ONNX : SIM_NET_LIST;
			net_args[n_net_args++] = optarg;
			break;
		case 'v':
			if (n_vary_args == MAX_VARY)
				return cli_usage_error("sweep", "at most %d "
				    "--vary options", MAX_VARY);
			vary_args[n_vary_args++] = optarg;
			break;
		case 'S':
			if (n_sets == MAX_SETS)
				return cli_usage_error("sweep", "at most %d --set "
				    "options", MAX_SETS);
			sets[n_sets++] = optarg;
			break;
		case 'o':
			objective = optarg;
			break;
		case 'd':
			s.db_path = optarg;
			break;
		case 'j':
			jobs = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || jobs < 1 ||
			    jobs > MAX_JOBS)
				return cli_usage_error("sweep", "--jobs must be "
				    "1..%d (got '%s')", MAX_JOBS, optarg);
			break;
		case 'K': {
			long k = strtol(optarg, &end, 10), n = 0;

			if (end != optarg && *end == '/')
				n = strtol(end + 1, &end, 10);
			if (*end != '\0' || n < 1 || n > 1 << 20 || k < 1 ||
			    k > n)
				return cli_usage_error("sweep", "--shard must be "
				    "K/N with 1 <= K <= N (got '%s')", optarg);
			s.share = (int)k - 1;
			s.n_shares = (int)n;
			break;
		}
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return cli_usage_error("sweep", "unknown option or "
			    "missing value '%s' (see h4h sweep --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("sweep", "unexpected argument '%s'",
		    argv[optind]);
	if (system == NULL || n_net_args == 0 || s.db_path == NULL)
		return cli_usage_error("sweep", "--system, --db and at least one "
		    "--net, --arch or --onnx are required");
	if (objective != NULL && sim_objective_from_name(objective) < 0)
		return cli_usage_error("sweep", "--objective must be latency, "
		    "energy or edp (got '%s')", objective);

	rc = sim_profile_open(system, sets, n_sets, objective, &s.base, &err);
	s.sets = sets;
	s.n_sets = n_sets;
	for (int k = 0; rc == 0 && k < n_vary_args; k++) {
		rc = parse_vary(vary_args[k], system, &s.base, &s.vary[k],
		    &err);
		s.n_vary += rc == 0;
		/* A key varied twice: the later values would win at every
		 * point while the labels showed the earlier ones. */
		for (int j = 0; rc == 0 && j < k; j++)
			if (strcmp(s.vary[j].key, s.vary[k].key) == 0)
				rc = h4h_errf(&err, H4H_EINPUT, "--vary %s is "
				    "given twice (list all its values in one "
				    "--vary)", s.vary[k].key);
	}
	for (int n = 0; rc == 0 && n < n_net_args; n++) {
		rc = sim_net_open(net_args[n], net_kind[n], &s.nets[n],
		    &s.arch_json[n], &err);
		s.is_arch[n] = net_kind[n] == SIM_NET_ARCH;
		s.n_nets += rc == 0;
	}
	if (rc != 0) {
		status = cli_fail("sweep", rc, &err);
		goto out;
	}
	s.n_points = s.n_nets;
	for (int k = 0; k < s.n_vary; k++)
		s.n_points *= s.vary[k].n;
	s.params = h4h_xcalloc((size_t)s.n_points, sizeof *s.params);
	for (int i = 0; i < s.n_points; i++)
		s.params[i] = point_params(&s, i);

	if ((rc = cli_ranks_start(&err)) != 0) {
		status = cli_fail("sweep", rc, &err);
		goto out;
	}
	if (cli_ranks() > 1 && s.n_shares > 1) {
		status = cli_usage_error("sweep", "--shard is for separate jobs "
		    "without MPI; under mpirun the ranks share the points");
		goto out;
	}
	/* Under mpirun, rank 0 alone opens the database. */
	if (cli_rank() > 0) {
		rc = sweep_ranks_serve(&s, jobs, &err);
		status = rc != 0 ? cli_fail("sweep", rc, &err) : 0;
		goto out;
	}
	args = sweep_args(&s);
	rc = h4h_db_open(s.db_path, H4H_DB_CREATE, &db, &err);
	if (rc == 0) {
		rc = h4h_db_sweep_begin(db, args, s.n_points,
		    (const char *const *)s.params, &s.sweep_id, &created, &err);
		h4h_db_close(db);
	}
	free(args);
	if (rc != 0) {
		sweep_ranks_release();
		status = cli_fail("sweep", rc, &err);
		goto out;
	}
	if (!quiet) {
		char where[64] = "";

		if (cli_ranks() > 1)
			snprintf(where, sizeof where, ", %d ranks",
			    cli_ranks());
		else if (s.n_shares > 1)
			snprintf(where, sizeof where, ", shard %d/%d",
			    s.share + 1, s.n_shares);
		fprintf(stderr, "h4h: sweep: %s sweep %lld: %d points, %d "
		    "job%s%s\n", created ? "new" : "resuming",
		    (long long)s.sweep_id, s.n_points, jobs, jobs > 1 ? "s" : "",
		    where);
	}
	rc = run_jobs(&s, jobs, quiet, &err);
	if (!quiet)
		cli_progress_end();
	if (rc < 0) {
		status = cli_fail("sweep", rc, &err);
		goto out;
	}
	if (rc == 0) {
		int erc = h4h_db_open(s.db_path, 0, &db, &err);

		if (erc == 0) {
			erc = h4h_db_sweep_end(db, s.sweep_id, &err);
			h4h_db_close(db);
		}
		if (erc != 0) {
			status = cli_fail("sweep", erc, &err);
			goto out;
		}
	}
	if (print_summary(&s, &err) != 0) {
		status = cli_fail("sweep", H4H_EIO, &err);
		goto out;
	}
	if (rc > 0) {
		fprintf(stderr, "h4h: sweep: %d point(s) or worker(s) failed; "
		    "rerun the same command to retry them\n", rc);
		status = 1;
	}
out:
	sweep_free(&s);
	return status;
}

const h4h_cmd h4h_cmd_sweep = {
	.name = "sweep",
	.summary = "simulate the product of profile values, into the database",
	.exec = sweep_exec,
};
