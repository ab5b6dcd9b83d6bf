/*
 * accdata.h - an accuracy dataset: subnets of a trained supernet scored on
 * its validation split, for fitting and comparing accuracy predictors
 * (OFA's acc_dataset; doc/search.md, "Accuracy dataset").
 *
 * Sampling is stratified so that every choice of every decision (each
 * resolution, each stage's depth, width, expand and MLP ratio) appears
 * about equally often, min and max included: subnet 0 is the smallest,
 * subnet 1 the largest, and for the others each decision's choices are
 * dealt in equal shares and shuffled independently per decision (a Latin
 * hypercube over the choice indices).  A stage of depth 0 has no other
 * choices (the gene is canonical), and a duplicate is replaced by a
 * uniform draw.  The list is a pure function of (space, n, seed, cnn-only),
 * so a killed run restarted with the same arguments asks for the same
 * subnets, and the accuracy cache answers the ones already scored.
 *
 * CSV (doc/database.md, "Accuracy dataset CSV"): '#' lines of provenance
 * ("# key: value": format, checkpoint, supernet hash, split, settings,
 * space, sampling, and the recorded predictor when there is one), then the header gene,accuracy,resolution,macs and one
 * row per subnet.  Reading checks the format line and parses every gene
 * against the space.
 */
#ifndef H4H_NAS_ACCDATA_H
#define H4H_NAS_ACCDATA_H

#include <stdint.h>

#include "core/err.h"
#include "nas/gene.h"

#define NAS_ACCDATA_FORMAT "h4h-accuracy-dataset 1"

void nas_accdata_sample(const nas_space *s, int n, uint64_t seed, int no_vit,
    nas_gene *out);

typedef struct nas_accdata {
	char checkpoint[256];		/* file name as written */
	char supernet[17];		/* checkpoint hash */
	char split[16];
	char settings[96];
	char space[64];
	char sampling[128];
	char predictor[160];		/* "" or the model `h4h predictor
					 * compare --record` chose: "KIND
					 * cv-rho=... held-rho=... ..." */
	int n;
	nas_gene *g;
	double *acc;
	int *res;
	long long *macs;
} nas_accdata;

/* Parses "SPACE:r|w.d...|..." (nas_gene_text) into a canonical gene. */
int nas_gene_parse_text(const nas_space *s, const char *text, nas_gene *g,
    h4h_err *err);

int nas_accdata_write(const char *path, const nas_space *s,
    const nas_accdata *d, h4h_err *err);
int nas_accdata_read(const char *path, const nas_space *s, nas_accdata *d,
    h4h_err *err);
void nas_accdata_free(nas_accdata *d);

#endif
