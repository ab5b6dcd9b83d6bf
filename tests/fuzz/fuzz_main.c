/*
 * fuzz_main.c - libFuzzer's entry points for tests/fuzz/h4h_fuzz (make
 * fuzz): $H4H_FUZZ_TARGET names the target of fuzz.h's table that runs.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const h4h_fuzz_target *chosen;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *name = getenv("H4H_FUZZ_TARGET");

	(void)argc;
	(void)argv;
	for (int i = 0; name != NULL && i < h4h_fuzz_n_targets; i++)
		if (strcmp(name, h4h_fuzz_targets[i].name) == 0)
			chosen = &h4h_fuzz_targets[i];
	if (chosen == NULL) {
		fprintf(stderr, "h4h_fuzz: set H4H_FUZZ_TARGET to one of:");
		for (int i = 0; i < h4h_fuzz_n_targets; i++)
			fprintf(stderr, " %s", h4h_fuzz_targets[i].name);
		fputc('\n', stderr);
		exit(2);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return chosen->fn(data, size);
}
