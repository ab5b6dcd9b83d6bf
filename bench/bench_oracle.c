/*
 * bench_oracle.c - the cost oracle as the search loop uses it
 * (oracle.h), on random subnets of the paper's Table 1 at U55-256 + 8
 * macros (hwprofiles/system-npu-8cim.ini).
 *
 *   cold      subnets never seen: every new layer simulated, stored
 *   lookups   the same subnets again: already-costed networks
 *             (target >= 20,000 lookups/s)
 *   layers    a fresh process on the same database with its network costs
 *             deleted: every layer stored, every network new
 *             (target >= 2,000 subnets/s); the oracle preloads the
 *             system's layers when it opens (not timed), and the rate is
 *             given without and with the final flush that stores the new
 *             network costs
 *
 * Reports ratios of one run on this machine with its core count; never
 * run by `make check` (`make bench`).
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/front/arch.h"
#include "cost/oracle.h"

#define N_SUBNETS 200

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned long long rng = 0x2545F4914F6CDD1DULL;

static int
pick(int lo, int hi, int step)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return lo + (int)(rng % (unsigned long long)((hi - lo) / step + 1)) *
	    step;
}

/* Table 1 of the paper: width, depth, expansion (or MLP ratio) ranges. */
static void
random_subnet(sim_arch *a)
{
	static const struct {
		sim_block kind;
		int w0, w1, d0, d1, e0, e1, stride;
	} t[] = {
		{ SIM_BLOCK_CONV, 16, 32, 1, 1, 1, 1, 2 },
		{ SIM_BLOCK_MBCONV, 16, 32, 1, 2, 1, 1, 1 },
		{ SIM_BLOCK_MBCONV, 32, 64, 2, 6, 4, 6, 2 },
		{ SIM_BLOCK_MBCONV, 32, 64, 2, 6, 4, 6, 2 },
		{ SIM_BLOCK_VIT, 24, 64, 0, 1, 0, 0, 1 },
		{ SIM_BLOCK_MBCONV, 64, 96, 1, 3, 4, 6, 2 },
		{ SIM_BLOCK_VIT, 48, 96, 0, 2, 0, 0, 1 },
		{ SIM_BLOCK_MBCONV, 64, 96, 0, 3, 4, 6, 1 },
		{ SIM_BLOCK_VIT, 48, 96, 0, 2, 0, 0, 1 },
		{ SIM_BLOCK_MBCONV, 96, 128, 3, 4, 4, 6, 1 },
		{ SIM_BLOCK_VIT, 64, 128, 0, 2, 0, 0, 1 },
		{ SIM_BLOCK_MBCONV, 96, 128, 0, 4, 4, 6, 1 },
		{ SIM_BLOCK_VIT, 64, 128, 0, 2, 0, 0, 1 },
		{ SIM_BLOCK_MBCONV, 192, 224, 2, 4, 4, 6, 2 },
		{ SIM_BLOCK_VIT, 144, 224, 0, 2, 0, 0, 1 },
		{ SIM_BLOCK_MBCONV, 192, 224, 0, 4, 4, 6, 1 },
		{ SIM_BLOCK_VIT, 144, 224, 0, 2, 0, 0, 1 },
		{ SIM_BLOCK_MBCONV, 224, 240, 1, 2, 6, 6, 1 },
		{ SIM_BLOCK_VIT, 176, 240, 0, 3, 0, 0, 1 },
		{ SIM_BLOCK_MBPOOL, 1792, 1984, 1, 1, 6, 6, 1 },
	};
	int n = (int)(sizeof t / sizeof t[0]);

	memset(a, 0, sizeof *a);
	snprintf(a->name, sizeof a->name, "subnet");
	a->resolution = pick(192, 288, 32);
	a->in_channels = 3;
	a->classes = 1000;
	for (int i = 0; i < n; i++) {
		sim_arch_stage *st = &a->stages[a->n_stages++];

		st->kind = t[i].kind;
		st->width = pick(t[i].w0, t[i].w1, 8);
		st->depth = pick(t[i].d0, t[i].d1, 1);
		st->expand = t[i].e0 ? pick(t[i].e0, t[i].e1, 2) : 1;
		st->stride = t[i].stride;
		st->mlp_ratio = t[i].kind == SIM_BLOCK_VIT ?
		    pick(2, 4, 1) / 2.0 : 0;
	}
}

static int
fail(const h4h_err *err)
{
	fprintf(stderr, "bench_oracle: %s\n", err->msg);
	return 1;
}

int
main(void)
{
	char dir[] = "/tmp/h4h-bench-XXXXXX", db_path[256], sys[1024];
	const char *src = getenv("H4H_SRCDIR");
	static sim_arch subnets[N_SUBNETS];
	h4h_oracle_stats st;
	sim_profile p;
	h4h_oracle *o;
	h4h_err err = { "" };
	h4h_cost c;
	double t0, cold, lookup, layers, flush, sum = 0;
	int lookups = 0;
	sqlite3 *raw;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(db_path, sizeof db_path, "%s/bench.db", dir);
	snprintf(sys, sizeof sys, "%s/hwprofiles/system-npu-8cim.ini",
	    src ? src : ".");
	if (sim_profile_load(sys, &p, &err) != 0)
		return fail(&err);
	for (int i = 0; i < N_SUBNETS; i++)
		random_subnet(&subnets[i]);
	printf("bench_oracle: %ld online cores, %d random Table-1 subnets, "
	    "U55-256 + 8 macros\n", sysconf(_SC_NPROCESSORS_ONLN), N_SUBNETS);

	if (h4h_oracle_open(db_path, &p, &o, &err) != 0)
		return fail(&err);
	t0 = now_s();
	for (int i = 0; i < N_SUBNETS; i++) {
		if (h4h_oracle_cost_arch(o, &subnets[i], &c, &err) != 0)
			return fail(&err);
		sum += c.latency_s;
	}
	if (h4h_oracle_flush(o, &err) != 0)
		return fail(&err);
	cold = now_s() - t0;
	h4h_oracle_get_stats(o, &st);
	printf("cold     %8.1f subnets/s  (%lld layers simulated, %lld "
	    "reused)\n", N_SUBNETS / cold, st.layers_simulated,
	    st.layers_reused);

	t0 = now_s();
	while (now_s() - t0 < 1.0)
		for (int i = 0; i < N_SUBNETS; i++, lookups++)
			if (h4h_oracle_cost_arch(o, &subnets[i], &c, &err) != 0)
				return fail(&err);
	lookup = now_s() - t0;
	printf("lookups  %8.0f lookups/s of already-costed networks "
	    "(target >= 20000)\n", lookups / lookup);
	h4h_oracle_close(o);

	/* Forget the network costs, keep the layers: a new process. */
	if (sqlite3_open(db_path, &raw) != SQLITE_OK ||
	    sqlite3_exec(raw, "DELETE FROM network_costs", NULL, NULL,
	    NULL) != SQLITE_OK)
		return fprintf(stderr, "bench_oracle: cannot reset the "
		    "network costs\n"), 1;
	sqlite3_close(raw);
	if (h4h_oracle_open(db_path, &p, &o, &err) != 0)
		return fail(&err);
	t0 = now_s();
	for (int i = 0; i < N_SUBNETS; i++)
		if (h4h_oracle_cost_arch(o, &subnets[i], &c, &err) != 0)
			return fail(&err);
	layers = now_s() - t0;
	t0 = now_s();
	if (h4h_oracle_flush(o, &err) != 0)
		return fail(&err);
	flush = now_s() - t0;
	h4h_oracle_get_stats(o, &st);
	printf("layers   %8.1f new subnets/s with every layer stored "
	    "(target >= 2000; %lld layers simulated); %.1f with the final "
	    "flush of their costs\n", N_SUBNETS / layers, st.layers_simulated,
	    N_SUBNETS / (layers + flush));
	h4h_oracle_close(o);
	unlink(db_path);
	snprintf(sys, sizeof sys, "%s-wal", db_path);
	unlink(sys);
	snprintf(sys, sizeof sys, "%s-shm", db_path);
	unlink(sys);
	rmdir(dir);
	return sum > 0 ? 0 : 1;
}
