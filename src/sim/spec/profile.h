/*
 * profile.h - a hardware system: one Ethos-U55 NPU, N MRAM CIM macros with C
 * compute units each, one shared NoC to the system SRAM, and the partition
 * policy.
 *
 * Profiles are INI files (hwprofiles/, doc/formats.md).  Every key lives in
 * one table (profile.c) with its type, range and unit, so loading, --set
 * overrides, validation and the canonical dump cannot disagree.  Invariant
 * after a successful load: every field is inside its documented range.
 */
#ifndef H4H_SIM_PROFILE_H
#define H4H_SIM_PROFILE_H

#include <stdio.h>

#include "core/err.h"

typedef enum sim_objective {
	SIM_OBJ_LATENCY,
	SIM_OBJ_ENERGY,
	SIM_OBJ_EDP,
} sim_objective;

/* Where the NPU's weights live (Vela's memory modes). */
typedef enum sim_memory_mode {
	SIM_MEM_SRAM_ONLY,	/* weights beside the arena, own port budget */
	SIM_MEM_SHARED_SRAM,	/* weights in flash on AXI1, DMA'd to SRAM */
} sim_memory_mode;

/* Operator kinds the NPU calibration knobs are kept per. */
enum {
	SIM_KIND_CONV,		/* conv kxk, k > 1 */
	SIM_KIND_PWCONV,	/* conv 1x1 */
	SIM_KIND_DWCONV,
	SIM_KIND_FC,		/* fc and matmul */
	SIM_KIND_POOL,
	SIM_KIND_ELEMENTWISE,	/* add, activations, softmax, layernorm */
	SIM_KIND_COUNT
};

typedef struct sim_npu_cfg {
	int macs;			/* 32, 64, 128 or 256 MAC/cycle */
	double clock_mhz;
	double e_mac_pj;		/* dynamic energy of one 8x8 MAC */
	double e_shram_byte_pj;		/* internal SHRAM access, per byte */
	double static_mw;		/* leakage + clock tree while powered */
	double weight_compression;	/* mlw bytes per int8 weight */
	sim_memory_mode memory_mode;
	double weight_bandwidth_gbps;	/* Sram_Only weight port (AXI M1) */
	int weight_latency_cycles;	/* NPU cycles */
	double flash_bandwidth_gbps;	/* Shared_Sram: flash on AXI1 */
	int flash_latency_cycles;	/* NPU cycles */
	double e_flash_byte_pj;		/* flash read energy per byte */
	/* Calibration knobs (neutral defaults: 1 and 0). */
	double cycle_scale[SIM_KIND_COUNT];
	double block_overhead_cycles;
	double op_overhead_cycles;
} sim_npu_cfg;

typedef struct sim_cim_cfg {
	int macros;			/* 0 = NPU-only system */
	int cus_per_macro;
	double clock_mhz;
	double capacity_mbit;		/* weight capacity of one macro */
	int cu_accumulations;		/* parallel accumulations per CU cycle */
	int cu_products;		/* products per accumulation */
	int ifmp_dedup;			/* 1: reuse overlapping windows */
	int ifmp_buffer_bytes;		/* IFMP buffer size, bounds one chunk */
	double ifmp_read_bytes_per_cycle; /* IFMP buffer -> CUs read port */
	int power_gating;		/* 1: idle macros draw no static power */
	double wake_energy_nj;		/* per macro a layer wakes */
	double wake_latency_cycles;	/* macro cycles before it computes */
	double e_mram_read_pj_per_bit;
	double e_mac_pj;
	double e_buffer_byte_pj;	/* IFMP/OFMP buffer access, per byte */
	double static_mw;		/* per macro */
	double mac_cycle_scale;		/* calibration knobs (neutral: 1, 0) */
	double chunk_overhead_cycles;
} sim_cim_cfg;

typedef struct sim_noc_cfg {
	double bandwidth_gbps;		/* GB/s = 1e9 bytes/s */
	int latency_cycles;		/* per-transfer warm-up, NoC cycles */
	double clock_mhz;
	int burst_bytes;		/* burst length (NPU burst efficiency) */
	double e_byte_pj;		/* per byte moved over the link */
	double e_sram_byte_pj;		/* system SRAM access behind the NoC */
	double transfer_overhead_cycles; /* calibration knob (neutral: 0) */
} sim_noc_cfg;

typedef struct sim_part_cfg {
	int granularity;		/* output channels per partition unit */
	sim_objective objective;
	int shortlist;			/* splits simulated per layer */
} sim_part_cfg;

typedef struct sim_profile {
	char name[64];
	sim_npu_cfg npu;
	sim_cim_cfg cim;
	sim_noc_cfg noc;
	sim_part_cfg part;
} sim_profile;

/* Built-in defaults (the values of hwprofiles/system-npu-only.ini). */
void sim_profile_defaults(sim_profile *p);

/* Load an INI profile; `include = a.ini, b.ini` in [system] pulls other
 * files first (paths relative to the including file).  Unknown sections or
 * keys, malformed or out-of-range values are H4H_EINPUT with a message naming
 * the file, line, key and value.  Keys not given keep the built-in defaults
 * (the load starts from sim_profile_defaults).  Include cycles and nesting
 * deeper than 8 are H4H_EINPUT, and so is a file (or include) that cannot
 * be read.  On any error *p is left unchanged. */
int sim_profile_load(const char *path, sim_profile *p, h4h_err *err);

/* Load the profile file `path` on top of *p (its includes first, then its
 * keys, as for sim_profile_load) and validate: a whole component file
 * (npu/u55-32.ini) swapped into a system.  On error *p is unchanged. */
int sim_profile_apply_file(sim_profile *p, const char *path, h4h_err *err);

/* Apply one "section.key=value" override (the CLI's --set); blanks around
 * key and value are ignored.  On error *p is left unchanged. */
int sim_profile_set(sim_profile *p, const char *assignment, h4h_err *err);

/* The common front door: load `path`, apply the "section.key=value"
 * overrides in order, set the objective if `objective` is non-NULL (a bad
 * name is H4H_EINPUT), and validate. */
int sim_profile_open(const char *path, const char *const *sets, int n_sets,
    const char *objective, sim_profile *p, h4h_err *err);

/* Check every field against its range (after sets). */
int sim_profile_validate(const sim_profile *p, h4h_err *err);

/* Canonical "section.key = value" lines, sorted as in the key table; two
 * profiles with equal dumps simulate identically.  Doubles use the fewest
 * digits that read back exactly, and a profile file may hold dotted keys
 * before any [section], so a dump loads back to the same bits. */
void sim_profile_dump(const sim_profile *p, FILE *f);

const char *sim_objective_name(sim_objective o);
int sim_objective_from_name(const char *s);	/* -1 if unknown */

/* One key of a resolved system and where its value came from (h4h
 * system, as Vela's --verbose-config). */
typedef struct sim_profile_entry {
	char key[64];
	char value[512];	/* as it would be written in a file */
	const char *unit;
	char origin[400];	/* "default", "FILE line N" or "--set ARG" */
} sim_profile_entry;

/* sim_profile_open without an objective, recording every key's origin:
 * *entries (caller frees) gets one entry per key, in key-table order;
 * system.include lists every file loaded, in load order. */
int sim_profile_resolve(const char *path, const char *const *sets,
    int n_sets, sim_profile *p, sim_profile_entry **entries, int *n,
    h4h_err *err);

/* The unit of a "section.key" ("GB/s", "count", "-"), NULL if unknown. */
const char *sim_profile_key_unit(const char *key);

/* Per-key documentation, for `h4h sim --list-keys` and doc/. */
void sim_profile_list_keys(FILE *f);

#endif
