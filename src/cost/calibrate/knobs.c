/*
 * knobs.c - the knobs a calibration fits: their names, bounds (a scale
 * factor, an overhead in cycles, an energy), and reading or setting them in
 * a profile (calibrate.h, doc/calibration.md).
 */
#define _POSIX_C_SOURCE 200809L
#include "cost/calibrate/calibrateInt.h"

/* ---- knobs -------------------------------------------------------------- */


const knob_def cal_knobs[] = {
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

#define N_KNOBS ((int)(sizeof cal_knobs / sizeof cal_knobs[0]))
_Static_assert(N_KNOBS <= CAL_MAX_KNOBS, "CAL_MAX_KNOBS too small");

/* Bounds (assumed: wide enough for any plausible silicon, narrow enough to
 * keep the simulator in its valid ranges, profile.c). */
static const double bounds[3][2] = {
	[KB_SCALE] = { 0.05, 20 },
	[KB_OVERHEAD] = { 0, 1e6 },
	[KB_ENERGY] = { 0, 1e3 },
};


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
	*lo = bounds[cal_knobs[id].type][0];
	*hi = bounds[cal_knobs[id].type][1];
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
		snprintf(set, sizeof set, "%s=%.17g", cal_knobs[ids[i]].key,
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
