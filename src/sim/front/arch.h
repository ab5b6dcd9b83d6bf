/*
 * arch.h - an H4H architecture: one subnet of the paper's Table 1 search
 * space, as stages of conv, MBConv, ViT and MBPool blocks (arch.c has the
 * JSON format and the lowering into a layer list).
 *
 * The NAS builds sim_arch values directly; files go through
 * sim_arch_load/parse.  sim_arch_canon gives the canonical JSON (fixed key
 * order, every key present), so equal architectures have equal text.
 */
#ifndef H4H_SIM_ARCH_H
#define H4H_SIM_ARCH_H

#include <stdint.h>

#include "core/err.h"
#include "sim/spec/net.h"

#define SIM_ARCH_MAX_STAGES 64

typedef enum sim_block {
	SIM_BLOCK_CONV,
	SIM_BLOCK_MBCONV,
	SIM_BLOCK_VIT,
	SIM_BLOCK_MBPOOL,
	SIM_BLOCK_COUNT
} sim_block;

typedef struct sim_arch_stage {
	sim_block kind;
	int width, depth, expand, stride;
	double mlp_ratio;	/* vit only */
} sim_arch_stage;

typedef struct sim_arch {
	char name[SIM_NAME_MAX];
	int resolution, in_channels, classes;
	int n_stages;
	sim_arch_stage stages[SIM_ARCH_MAX_STAGES];
} sim_arch;

/* JSON text or file into a sim_arch (validated). */
int sim_arch_read(const char *json, const char *label, sim_arch *out,
    h4h_err *err);
int sim_arch_read_file(const char *path, sim_arch *out, h4h_err *err);
/* Validate and lower into a layer list. */
int sim_arch_lower(const sim_arch *a, const char *label, sim_net **out,
    h4h_err *err);
/* read + lower. */
int sim_arch_load(const char *path, sim_net **out, h4h_err *err);
int sim_arch_parse(const char *json, const char *label, sim_net **out,
    h4h_err *err);
/* The kinds of network file sim_net_open reads. */
enum {
	SIM_NET_LIST = 0,	/* a JSON layer list (--net) */
	SIM_NET_ARCH = 1,	/* an H4H architecture (--arch) */
	SIM_NET_ONNX = 2,	/* an ONNX model (--onnx), lowered to a list */
};
/* A network file of any kind: for an H4H architecture, its canonical JSON
 * is returned in *arch_json (caller frees; NULL for the others). */
int sim_net_open(const char *path, int kind, sim_net **out,
    char **arch_json, h4h_err *err);
/* Canonical JSON (caller frees) and its hash; the name is not part of
 * either (it is a label). */
char *sim_arch_canon(const sim_arch *a);
uint64_t sim_arch_hash(const sim_arch *a);

#endif
