/*
 * fuzz_space.c - search space files (nas_space_read).  The input serves as
 * both the space and its full-scale space, so that no file is read.
 */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

#include "nas/space.h"

int
h4h_fuzz_space(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	nas_space *sp = NULL;
	h4h_err err = { "" };
	int rc = nas_space_read(text, text, "fuzz.json", &sp, &err);

	fuzz_check("space", rc, &err);
	if (rc == 0)
		(void)nas_space_decisions(sp);
	nas_space_destroy(sp);
	free(text);
	return 0;
}
