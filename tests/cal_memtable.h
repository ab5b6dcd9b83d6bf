/*
 * cal_memtable.h - a measured table with a hidden memory system, for the
 * calibration's memory knobs (tests/check_calibrate.c and
 * bench/bench_calibrate.c; doc/calibration.md).
 *
 * The "board": Shared_Sram (weights in flash), an Ethos-U55-128, a weight
 * flash slower than the profile's and with a longer latency, a slower
 * and slower-to-start NoC (the SRAM path), and a per-operator overhead
 * the profile does not have.  Its values are chosen here (CAL_MEM_HIDDEN),
 * not taken from any real board.  Rows are layers of random shapes drawn
 * from a seed (conv 3x3, pointwise, depthwise, fc, add, pool) with maps
 * from 7x7 to 56x56, so that some are bound by the flash, some by the NoC
 * and some by the MACs.  Each is simulated by h4h at the hidden values and
 * multiplied by 1 + noise * N(0, 1) (Box-Muller on splitmix64).
 *
 * Header-only (static), like check_util.h.
 */
#ifndef H4H_TESTS_CAL_MEMTABLE_H
#define H4H_TESTS_CAL_MEMTABLE_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/splitmix.h"
#include "cost/calibrate/calibrate.h"

/* The hidden board, on top of hwprofiles/system-npu-only-shared-sram.ini
 * with npu.macs = 128.  Cycle scales stay neutral (1). */
static const struct {
	const char *key;
	double value;
	double tol;		/* the target: 10 %, latencies 25 % */
} cal_mem_hidden[] = {
	{ "npu.flash_bandwidth_gbps", 0.3, 0.10 },	/* profile 0.5 */
	{ "npu.flash_latency_cycles", 96, 0.25 },	/* profile 64 */
	{ "noc.bandwidth_gbps", 3.2, 0.10 },		/* profile 4 */
	{ "noc.latency_cycles", 48, 0.25 },		/* profile 32 */
	{ "npu.op_overhead_cycles", 350, 0.10 },	/* profile 0 */
};
#define CAL_MEM_N_HIDDEN \
	((int)(sizeof cal_mem_hidden / sizeof cal_mem_hidden[0]))

/* The knobs a calibration of this table fits: the defaults for its op
 * kinds plus the memory system's. */
#define CAL_MEM_FIT "npu.cycle_scale_conv,npu.cycle_scale_pwconv," \
	"npu.cycle_scale_dwconv,npu.cycle_scale_fc,npu.cycle_scale_pool," \
	"npu.cycle_scale_elementwise,npu.op_overhead_cycles," \
	"npu.flash_bandwidth_gbps,npu.flash_latency_cycles," \
	"noc.bandwidth_gbps,noc.latency_cycles"

static double
cal_mem_uniform(uint64_t *s)
{
	return ((double)(h4h_splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double
cal_mem_gauss(uint64_t *s)
{
	double u1 = cal_mem_uniform(s), u2 = cal_mem_uniform(s);

	return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Layer shapes of n rows from seed into f, measured_cycles column last
 * (value 1 when pred is NULL, else pred[i]). */
static void
cal_mem_rows(FILE *f, int n, uint64_t seed, const double *pred)
{
	static const int hw[] = { 4, 7, 14, 28, 56 };
	static const int ch[] = { 8, 16, 32, 64, 128, 256 };
	static const char *const ops[] = { "conv", "pw", "dw", "fc", "conv",
	    "pw", "add", "pool", "fc", "dw" };
	uint64_t s = seed;

	fprintf(f, "op,in_h,in_w,in_c,out_c,kernel,stride,act,"
	    "measured_cycles\n");
	for (int i = 0; i < n; i++) {
		const char *op = ops[i % 10];
		int h = hw[h4h_splitmix64(&s) % 5];
		int ic = ch[h4h_splitmix64(&s) % 6];
		int oc = ch[h4h_splitmix64(&s) % 6];
		int stride = 1 + (int)(h4h_splitmix64(&s) % 4 == 0);
		int k = 3;

		if (op[0] == 'f') {		/* fc: 1 to 4 rows */
			h = 1 + (int)(h4h_splitmix64(&s) % 2);
			ic *= 2;
			oc *= 2;
			k = 0;
			stride = 0;
		} else if (op[0] == 'p' && op[1] == 'w') {
			k = 1;
			stride = 1;
		} else if (op[0] == 'd' || op[0] == 'a' || op[1] == 'o') {
			oc = ic;		/* dw, add, pool */
			if (op[0] == 'a')
				k = stride = 0;
		}
		if (h * h * ic > 56 * 56 * 64)	/* keep maps SHRAM-sized */
			ic = 56 * 56 * 64 / (h * h);
		fprintf(f, "%s,%d,%d,%d,%d,%d,%d,%s,", op, h, h, ic,
		    op[0] == 'd' || op[0] == 'a' || op[1] == 'o' ? ic : oc, k,
		    stride, op[0] == 'a' || op[1] == 'o' ? "none" : "relu");
		if (pred == NULL)
			fprintf(f, "1\n");
		else
			fprintf(f, "%.1f\n", pred[i]);
	}
}

/*
 * Write the table of n rows to path: shapes from seed, cycles simulated on
 * `hidden` (the base profile with cal_mem_hidden and npu.macs = 128
 * applied by the caller) times 1 + noise * N(0, 1).
 */
static int
cal_mem_table_write(const char *path, const sim_profile *hidden, int n,
    double noise, uint64_t seed, h4h_err *err)
{
	sim_cal_table *t = NULL;
	double *pred = malloc((size_t)n * sizeof *pred);
	int *rows = malloc((size_t)n * sizeof *rows);
	uint64_t ns = seed ^ 0x5eedULL;
	FILE *f = fopen(path, "w");
	int rc = -1;

	if (f == NULL || pred == NULL || rows == NULL)
		goto out;
	cal_mem_rows(f, n, seed, NULL);
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (sim_cal_table_load(path, hidden, NULL, &t, err) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		rows[i] = i;
	if (sim_cal_predict(t, NULL, NULL, 0, rows, n, pred, NULL, err) != 0)
		goto out;
	for (int i = 0; i < n; i++)
		pred[i] *= 1 + noise * cal_mem_gauss(&ns);
	if ((f = fopen(path, "w")) == NULL)
		goto out;
	cal_mem_rows(f, n, seed, pred);
	rc = fclose(f) == 0 ? 0 : -1;
	f = NULL;
out:
	if (f != NULL)
		fclose(f);
	sim_cal_table_destroy(t);
	free(pred);
	free(rows);
	return rc;
}

#endif
