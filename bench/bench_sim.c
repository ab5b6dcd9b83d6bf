/*
 * bench_sim.c - simulator speed: the Table-1 largest subnet (nets/h4h-max.json,
 * 224x224) on U55-256 with 8 macros (hwprofiles/system-npu-8cim.ini), cold:
 * every run loads nothing from a cache and builds a fresh engine, as the
 * first query of a search loop would.  Prints wall time per network (median
 * of the runs), layers/s and SystemC process activations/s, with the core
 * count.  Target (issue 2): at most 50 ms per network.  Never run by
 * `make check`; run with `make bench`.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/front/arch.h"
#include "sim/sim.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
bench(const char *label, const char *system, const char *arch, int runs)
{
	char path[1024];
	const char *dir = getenv("H4H_SRCDIR");
	sim_profile p;
	sim_net *net;
	h4h_err err = { "" };
	double *t = calloc((size_t)runs, sizeof *t), total = 0;
	unsigned long long acts = 0;
	int layers = 0, sims = 0;
	double lat = 0, energy = 0;

	snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", system);
	if (sim_profile_load(path, &p, &err) != 0)
		goto fail;
	snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", arch);
	if (sim_arch_load(path, &net, &err) != 0)
		goto fail;
	for (int i = 0; i < runs; i++) {
		sim_result *r;
		double t0 = now_s();

		if (sim_run(&p, net, NULL, &r, &err) != 0)
			goto fail;
		t[i] = now_s() - t0;
		total += t[i];
		acts = r->kernel_activations;
		layers = r->n_layers;
		sims = r->layer_sims;
		lat = r->latency_s;
		energy = r->energy_j;
		sim_result_destroy(r);
	}
	qsort(t, (size_t)runs, sizeof *t, cmp_double);
	printf("%-34s %8.2f ms/net (min %.2f, max %.2f)  %8.0f layers/s  "
	    "%6.2f M activations/s  [%d layers, %d layer sims, %llu "
	    "activations; simulated %.3f ms, %.2f uJ]\n", label,
	    t[runs / 2] * 1e3, t[0] * 1e3, t[runs - 1] * 1e3,
	    layers / t[runs / 2], acts / t[runs / 2] / 1e6, layers, sims,
	    acts, lat * 1e3, energy * 1e6);
	sim_net_destroy(net);
	free(t);
	return 0;
fail:
	fprintf(stderr, "bench_sim: %s\n", err.msg);
	free(t);
	return 1;
}

int
main(void)
{
	int runs = 15, rc = 0;

	printf("bench_sim: %ld online cores, median of %d cold runs each\n",
	    sysconf(_SC_NPROCESSORS_ONLN), runs);
	rc |= bench("h4h-max@224, U55-256 + 8 macros",
	    "hwprofiles/system-npu-8cim.ini", "nets/h4h-max.json", runs);
	rc |= bench("h4h-max@224, U55-256 alone",
	    "hwprofiles/system-npu-only.ini", "nets/h4h-max.json", runs);
	rc |= bench("h4h-min@224, U55-256 + 8 macros",
	    "hwprofiles/system-npu-8cim.ini", "nets/h4h-min.json", runs);
	printf("target: <= 50 ms per network for h4h-max with 8 macros\n");
	return rc;
}
