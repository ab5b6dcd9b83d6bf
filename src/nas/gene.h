/*
 * gene.h - one subnet of a search space as one choice index per decision
 * (space.h), and its decodings.
 *
 * Decision 0 is the input resolution; then, per stage, its width, depth,
 * expand and mlp_ratio decisions (those its kind has).  A gene is
 * CANONICAL when the choices of a stage that emits nothing (depth 0) are
 * index 0: two genes of the same network are then equal, and so are their
 * texts and hashes.  Every function here returns canonical genes.
 *
 * Decodings: nas_gene_arch at the space's own scale (the proxy network) or
 * at its full scale (space->full: the network the simulator costs), and
 * nas_gene_active for the supernet engine.  Random draws take an nn_rng,
 * so the caller decides the stream (the trainer: a function of seed and
 * step).
 */
#ifndef H4H_NAS_GENE_H
#define H4H_NAS_GENE_H

#include <stddef.h>
#include <stdint.h>

#include "nas/space.h"
#include "nn/rng.h"

#define NAS_MAX_DECISIONS (1 + NAS_MAX_STAGES * NAS_K_COUNT)

typedef struct nas_gene {
	int n;				/* nas_space_decisions */
	unsigned char c[NAS_MAX_DECISIONS];	/* choice indices */
} nas_gene;

/* Draws without vit blocks (no_vit): every vit depth is 0, i.e. the
 * CNN-only subspace (its min depth must be 0, as in Table 1). */
void nas_gene_min(const nas_space *s, int no_vit, nas_gene *g);
void nas_gene_max(const nas_space *s, int no_vit, nas_gene *g);
void nas_gene_sample(const nas_space *s, int no_vit, nn_rng *r, nas_gene *g);
/* Each decision is redrawn with probability p (a new value, different
 * from the old when there is one). */
void nas_gene_mutate(const nas_space *s, const nas_gene *in, double p,
    int no_vit, nn_rng *r, nas_gene *out);
/* The same with the resolution redrawn with probability p_res (OFA's
 * search: 0.1 per decision, 0.5 for the resolution). */
void nas_gene_mutate_res(const nas_space *s, const nas_gene *in, double p,
    double p_res, int no_vit, nn_rng *r, nas_gene *out);
/* Uniform crossover: each decision from a or b with probability 1/2. */
void nas_gene_crossover(const nas_space *s, const nas_gene *a,
    const nas_gene *b, nn_rng *r, nas_gene *out);
/* Zeroes the choices that do not matter (depth-0 stages). */
void nas_gene_canonicalize(const nas_space *s, nas_gene *g);
/* 0 if g fits s (length, every index in range), else a message. */
int nas_gene_check(const nas_space *s, const nas_gene *g, h4h_err *err);
int nas_gene_has_vit(const nas_space *s, const nas_gene *g);

/* The value of one decision. */
double nas_gene_value(const nas_space *s, const nas_gene *g, int stage,
    int key);
int nas_gene_resolution(const nas_space *s, const nas_gene *g);

/* The network at the scale of s (pass s->full for the full-size one). */
void nas_gene_arch(const nas_space *s, const nas_gene *g, sim_arch *a);
/* The active subnet of nas_space_supernet(s). */
void nas_gene_active(const nas_space *s, const nas_gene *g,
    nn_sn_active *a);

/* Canonical text "SPACE:r.w.d.e.m|..." of indices (stable across runs) and
 * its FNV-1a hash. */
void nas_gene_text(const nas_space *s, const nas_gene *g, char *buf,
    size_t n);
uint64_t nas_gene_hash(const nas_space *s, const nas_gene *g);

/* GENE.json: {"space": NAME, "resolution": R, "stages": [{"name": ...,
 * "width": ..., "depth": ..., ...}, ...]} in values at the space's scale.
 * Reading checks the space name, the stage list and that every value is
 * a choice; canonicalizes. */
char *nas_gene_json(const nas_space *s, const nas_gene *g);	/* frees: caller */
int nas_gene_read(const nas_space *s, const char *json, const char *label,
    nas_gene *g, h4h_err *err);
int nas_gene_read_file(const nas_space *s, const char *path, nas_gene *g,
    h4h_err *err);

#endif
