/*
 * knobs.c - the knobs a calibration fits: their names, bounds (a scale
 * factor, an overhead in cycles, an energy, a memory bandwidth, latency or
 * compression), each bound with its reason, and reading or setting them in
 * a profile (calibrate.h, doc/calibration.md).  A latency knob is an
 * integer key: it is set rounded to whole cycles.
 */
#define _POSIX_C_SOURCE 200809L
#include "cost/calibrate/calibrateInt.h"

/* ---- knobs -------------------------------------------------------------- */


/* Bounds, each with why (the fit never leaves them; doc/calibration.md). */
#define WHY_SCALE "assumed: 20x either side of the model, wide enough for " \
	"any plausible silicon, narrow enough to keep the simulator in its " \
	"valid ranges"
#define WHY_OVERHEAD "assumed: up to 1e6 cycles (2 ms at 500 MHz), far " \
	"beyond any per-operator set-up"
#define WHY_ENERGY "assumed: 0 to 1,000 pJ (or mW), beyond any 8-bit " \
	"datapath or SRAM byte (Horowitz ISSCC 2014: 8 KiB SRAM ~1.25 pJ/B " \
	"at 45 nm)"
#define WHY_LATENCY "assumed: 0 to 10,000 cycles (20 us at 500 MHz), " \
	"beyond any memory's first-word latency (vela.ini: SRAM 32, " \
	"OffChipFlash 64)"

const knob_def cal_knobs[] = {
	{ "npu.cycle_scale_conv", KB_SCALE, SIM_KIND_CONV, 0.05, 20,
	  WHY_SCALE },
	{ "npu.cycle_scale_pwconv", KB_SCALE, SIM_KIND_PWCONV, 0.05, 20,
	  WHY_SCALE },
	{ "npu.cycle_scale_dwconv", KB_SCALE, SIM_KIND_DWCONV, 0.05, 20,
	  WHY_SCALE },
	{ "npu.cycle_scale_fc", KB_SCALE, SIM_KIND_FC, 0.05, 20, WHY_SCALE },
	{ "npu.cycle_scale_pool", KB_SCALE, SIM_KIND_POOL, 0.05, 20,
	  WHY_SCALE },
	{ "npu.cycle_scale_elementwise", KB_SCALE, SIM_KIND_ELEMENTWISE, 0.05,
	  20, WHY_SCALE },
	{ "npu.block_overhead_cycles", KB_OVERHEAD, -1, 0, 1e6, WHY_OVERHEAD },
	{ "npu.op_overhead_cycles", KB_OVERHEAD, -1, 0, 1e6, WHY_OVERHEAD },
	{ "cim.mac_cycle_scale", KB_SCALE, -1, 0.05, 20, WHY_SCALE },
	{ "cim.chunk_overhead_cycles", KB_OVERHEAD, -1, 0, 1e6, WHY_OVERHEAD },
	{ "noc.transfer_overhead_cycles", KB_OVERHEAD, -1, 0, 1e6,
	  WHY_OVERHEAD },
	{ "npu.e_mac_pj", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	{ "npu.e_shram_byte_pj", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	{ "npu.static_mw", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	{ "cim.e_mram_read_pj_per_bit", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	{ "cim.e_mac_pj", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	{ "cim.e_buffer_byte_pj", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	{ "cim.static_mw", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	{ "noc.e_byte_pj", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	{ "noc.e_sram_byte_pj", KB_ENERGY, -1, 0, 1e3, WHY_ENERGY },
	/* The memory system: bandwidths move a layer between compute- and
	 * memory-bound, so these make the model piecewise (fit.c). */
	{ "npu.weight_bandwidth_gbps", KB_BANDWIDTH, -1, 0.05, 100,
	  "assumed: 80x below Vela's 4 GB/s SRAM (vela.ini; a 50 MB/s "
	  "external memory) to 25x above it (beyond a 64-bit AXI port at "
	  "1 GHz, 8 GB/s)" },
	{ "npu.weight_latency_cycles", KB_LATENCY, -1, 0, 1e4, WHY_LATENCY },
	{ "npu.flash_bandwidth_gbps", KB_BANDWIDTH, -1, 0.005, 50,
	  "assumed: from a 1-bit SPI flash at 40 MHz (5 MB/s) to 100x "
	  "Vela's OffChipFlash 0.5 GB/s (vela.ini)" },
	{ "npu.flash_latency_cycles", KB_LATENCY, -1, 0, 1e4, WHY_LATENCY },
	{ "npu.weight_compression", KB_RATIO, -1, 0.1, 1.5,
	  "assumed: mlw stores random int8 weights in ~0.86 B each (Vela 3.10 "
	  "on the reference rows, profile default) and never much more than "
	  "1 B; 0.1 B for heavily pruned or clustered weights" },
	{ "noc.bandwidth_gbps", KB_BANDWIDTH, -1, 0.05, 100,
	  "assumed: 80x below the paper's 4-8 GB/s NoC (Vela's SRAM 4 GB/s) "
	  "to 25x above it" },
	{ "noc.latency_cycles", KB_LATENCY, -1, 0, 1e4, WHY_LATENCY },
	{ "cim.ifmp_read_bytes_per_cycle", KB_BANDWIDTH, -1, 1, 1e4,
	  "assumed: from one byte a macro cycle to 35x the default 288 B "
	  "(sized for the paper's 4-CU macro)" },
};

#define N_KNOBS ((int)(sizeof cal_knobs / sizeof cal_knobs[0]))
_Static_assert(N_KNOBS <= CAL_MAX_KNOBS, "CAL_MAX_KNOBS too small");


int
sim_cal_knob_count(void)
{
	return N_KNOBS;
}

const char *
sim_cal_knob_name(int id)
{
	return id >= 0 && id < N_KNOBS ? cal_knobs[id].key : "?";
}

int
sim_cal_knob_is_energy(int id)
{
	return cal_knobs[id].type == KB_ENERGY;
}

void
sim_cal_knob_bounds(int id, double *lo, double *hi)
{
	*lo = cal_knobs[id].lo;
	*hi = cal_knobs[id].hi;
}

const char *
sim_cal_knob_bounds_why(int id)
{
	return cal_knobs[id].why;
}

int
sim_cal_knob_is_relative(int id)
{
	return knob_is_log(id);
}

int
knob_is_log(int id)
{
	int t = cal_knobs[id].type;

	return t == KB_SCALE || t == KB_BANDWIDTH || t == KB_RATIO;
}

double
sim_cal_knob_get(const sim_profile *p, int id)
{
	const char *k = cal_knobs[id].key;

	if (strncmp(k, "npu.cycle_scale_", 16) == 0)
		return p->npu.cycle_scale[cal_knobs[id].kind];
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
	if (strcmp(k, "npu.weight_bandwidth_gbps") == 0)
		return p->npu.weight_bandwidth_gbps;
	if (strcmp(k, "npu.weight_latency_cycles") == 0)
		return p->npu.weight_latency_cycles;
	if (strcmp(k, "npu.flash_bandwidth_gbps") == 0)
		return p->npu.flash_bandwidth_gbps;
	if (strcmp(k, "npu.flash_latency_cycles") == 0)
		return p->npu.flash_latency_cycles;
	if (strcmp(k, "npu.weight_compression") == 0)
		return p->npu.weight_compression;
	if (strcmp(k, "noc.bandwidth_gbps") == 0)
		return p->noc.bandwidth_gbps;
	if (strcmp(k, "noc.latency_cycles") == 0)
		return p->noc.latency_cycles;
	if (strcmp(k, "cim.ifmp_read_bytes_per_cycle") == 0)
		return p->cim.ifmp_read_bytes_per_cycle;
	return NAN;
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
		/* A latency is a whole number of cycles in the profile. */
		if (cal_knobs[ids[i]].type == KB_LATENCY)
			snprintf(set, sizeof set, "%s=%ld",
			    cal_knobs[ids[i]].key,
			    lround(clampd(values[i], lo, hi)));
		else
			snprintf(set, sizeof set, "%s=%.17g",
			    cal_knobs[ids[i]].key, clampd(values[i], lo, hi));
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
			if (strcmp(cal_knobs[k].key, name) == 0)
				id = k;
		if (id < 0) {
			/* A real key that is not a knob deserves its own
			 * message: it exists, it just is not fitted. */
			snprintf(set, sizeof set, "%s=0", name);
			if (sim_profile_set(&probe, set, NULL) == 0 ||
			    (snprintf(set, sizeof set, "%s=1", name),
			    sim_profile_set(&probe, set, NULL) == 0))
				return h4h_errf(err, H4H_EINPUT,
				    "--fit: '%s' is "
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

int
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

		if (cal_knobs[k].type == KB_SCALE && cal_knobs[k].kind >= 0) {
			for (int c = 0; c < CAL_KIND_COUNT; c++)
				if (seen[c] && sim_kind_of_cal(c) ==
				    cal_knobs[k].kind)
					take = 1;
		} else if (strcmp(cal_knobs[k].key,
		    "npu.op_overhead_cycles") == 0) {
			take = 1;
		} else if (strcmp(cal_knobs[k].key,
		    "cim.mac_cycle_scale") == 0) {
			take = cim;
		}
		if (take)
			ids[(*n_ids)++] = k;
	}
}
