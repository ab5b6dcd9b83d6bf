/*
 * fuzz_arch.c - architecture files (sim_arch_read, then the lowering into a
 * layer list, as sim_arch_parse does), and the canonical text of one that
 * reads, which must read back to the same text.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/front/arch.h"

int
h4h_fuzz_arch(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	sim_arch a, b;
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc = sim_arch_read(text, "fuzz.json", &a, &err);

	fuzz_check("arch", rc, &err);
	if (rc == 0) {
		char *c1 = sim_arch_canon(&a), *c2;

		rc = sim_arch_read(c1, "canon", &b, &err);
		if (rc != 0 || strcmp(c1, (c2 = sim_arch_canon(&b))) != 0) {
			fprintf(stderr, "fuzz arch: canonical text does not "
			    "read back: %s\n", rc ? err.msg : c1);
			abort();
		}
		free(c2);
		free(c1);
		rc = sim_arch_lower(&a, "fuzz.json", &net, &err);
		fuzz_check("arch", rc, &err);
		sim_net_destroy(net);
	}
	free(text);
	return 0;
}
