/*
 * fuzz_gene.c - GENE.json files against the shipped Fashion-MNIST space
 * (nas_gene_read); a gene that reads must write canonical JSON that reads
 * back to the same JSON.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nas/gene.h"
#include "nas/space.h"

static nas_space *space;

int
h4h_fuzz_gene(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	nas_gene g, g2;
	h4h_err err = { "" };
	int rc;

	if (space == NULL && nas_space_load(fuzz_src("spaces/h4h-fmnist.json"),
	    &space, &err) != 0) {
		fprintf(stderr, "fuzz gene: %s\n", err.msg);
		abort();
	}
	rc = nas_gene_read(space, text, "fuzz.json", &g, &err);
	fuzz_check("gene", rc, &err);
	if (rc == 0) {
		char *j1 = nas_gene_json(space, &g), *j2 = NULL;

		if (nas_gene_read(space, j1, "canon", &g2, &err) != 0 ||
		    strcmp(j1, (j2 = nas_gene_json(space, &g2))) != 0) {
			fprintf(stderr, "fuzz gene: canonical JSON does not "
			    "read back: %s\n", j1);
			abort();
		}
		free(j1);
		free(j2);
	}
	free(text);
	return 0;
}
