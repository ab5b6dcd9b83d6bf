/*
 * fuzz_idx.c - Fashion-MNIST IDX files, plain or gzip: the first byte's
 * low bit picks the image reader or the label reader, the rest is the file.
 */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

#include "nn/data.h"

int
h4h_fuzz_idx(const uint8_t *data, size_t size)
{
	const char *path;
	uint8_t *out = NULL;
	h4h_err err = { "" };
	int n, H, W, rc;

	if (size < 1)
		return 0;
	path = fuzz_file(data + 1, size - 1, "idx");
	if (data[0] & 1)
		rc = nn_idx_read_labels(path, &out, &n, &err);
	else
		rc = nn_idx_read_images(path, &out, &n, &H, &W, &err);
	fuzz_check("idx", rc, &err);
	free(out);
	return 0;
}
