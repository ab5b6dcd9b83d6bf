/*
 * space.h - a search space as data (spaces/NAME.json, doc/nas.md): a fixed
 * sequence of stages (conv, mbconv, vit, mbpool), each with the list of
 * values every decision may take, plus the input resolutions.
 *
 * A space may name a "full_scale" space: then it is a proxy of that one
 * (spaces/h4h-fmnist.json of spaces/h4h-imagenet.json).  The two must have
 * the same stages, block kinds and NUMBER of choices per decision, so one
 * gene (gene.h: a choice index per decision) means a network at both
 * scales: the proxy network is trained and scored, the full-size one is
 * costed by the simulator.  nas_space_load checks that correspondence.
 *
 * Invariants after a successful load: every choice list is non-empty,
 * strictly ascending and within the simulator's limits (arch.c); vit widths
 * are whole heads of 8; conv and mbpool stages have depth {1}; mbconv
 * expand lists are {1} or contain no 1 (the expand conv exists or not for
 * the whole stage); the last stage, and only it, is mbpool.
 */
#ifndef H4H_NAS_SPACE_H
#define H4H_NAS_SPACE_H

#include "core/err.h"
#include "nn/supernet.h"
#include "sim/front/arch.h"

#define NAS_MAX_STAGES NN_SN_MAX_STAGES
#define NAS_MAX_CHOICES 64
#define NAS_HEAD_DIM 8		/* paper, Sec. 4: 8-dimension heads */

/* The decisions of a stage, in gene order. */
enum nas_key { NAS_K_WIDTH, NAS_K_DEPTH, NAS_K_EXPAND, NAS_K_MLP,
    NAS_K_COUNT };

typedef struct nas_stage {
	char name[32];		/* "MBConv-4-1" */
	sim_block kind;
	int stride;		/* conv, mbconv */
	int n[NAS_K_COUNT];	/* choices per key; 0: the key is not a
				 * decision of this kind */
	double v[NAS_K_COUNT][NAS_MAX_CHOICES];	/* ascending values */
} nas_stage;

typedef struct nas_space {
	char name[64];
	char path[512];		/* the file it came from */
	int in_channels, classes;
	int n_res;
	int res[NAS_MAX_CHOICES];
	int n_stages;
	nas_stage st[NAS_MAX_STAGES];
	struct nas_space *full;	/* the full-scale space; the space itself
				 * when it names none */
	char *json;		/* the file's JSON, compact (checkpoints keep
				 * it, so they need no space file) */
} nas_space;

/* Reads and validates a space file (and its full_scale file, resolved
 * relative to it).  Errors name the file, "stages[i] (NAME)" and the key. */
int nas_space_load(const char *path, nas_space **out, h4h_err *err);
/* The same from JSON text (a checkpoint's copy): full_json is the
 * full-scale space's text (NULL: read the file it names); label names
 * the source in messages. */
int nas_space_read(const char *json, const char *full_json,
    const char *label, nas_space **out, h4h_err *err);
void nas_space_destroy(nas_space *s);

/* Decisions in a gene: the resolution, then each stage's keys. */
int nas_space_decisions(const nas_space *s);
/* Number of choices of decision d, and where it lives (stage -1: the
 * resolution). */
int nas_space_choices(const nas_space *s, int d, int *stage, int *key);
const char *nas_key_name(int key);

/* The supernet that holds every subnet of the space: each stage at its
 * maximum (input in_hw = the largest resolution). */
void nas_space_supernet(const nas_space *s, nn_sn_spec *spec);

#endif
