/*
 * fuzz_ckpt.c - checkpoints (nn_ckpt_read), then what a resume reads from
 * one: every tensor's bytes, the scalars, the header's counters.  The
 * input's last four bytes are replaced by its CRC.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/le.h"
#include "nn/ckpt.h"

int
h4h_fuzz_ckpt(const uint8_t *data, size_t size)
{
	nn_ckpt *c = NULL;
	h4h_err err = { "" };
	volatile unsigned sum = 0;
	unsigned char *b = h4h_xmalloc(size + 1);
	int rc;

	/* A mutation almost never keeps the CRC: without this the fuzzer
	 * would only test the CRC check (check_nn_ckpt flips every byte for
	 * that).  With it, the table, bounds and header checks past the CRC
	 * see hostile input, as a buggy writer would make it. */
	memcpy(b, data, size);
	if (size >= NN_CKPT_HEADER_BYTES + 4) {
		uint32_t crc = (uint32_t)crc32(0L, b, (uInt)(size - 4));

		h4h_le_put32(b + size - 4, crc);
	}
	rc = nn_ckpt_read(fuzz_file(b, size, "ckpt"), &c, &err);
	free(b);

	fuzz_check("ckpt", rc, &err);
	if (rc == 0) {
		int64_t e, s, v;

		nn_ckpt_progress(c, &e, &s);
		if (e < 0 || e > NN_CKPT_EPOCH_MAX || s < 0 ||
		    s > NN_CKPT_STEP_MAX) {
			fprintf(stderr, "fuzz ckpt: header epoch %lld step %lld "
			    "accepted\n", (long long)e, (long long)s);
			abort();
		}
		(void)nn_ckpt_meta(c);
		for (int i = 0; i < nn_ckpt_count(c); i++) {
			const nn_ckpt_tensor *t = nn_ckpt_at(c, i);

			for (size_t k = 0; k < t->nbytes; k++)
				sum += ((const unsigned char *)t->data)[k];
		}
		rc = nn_ckpt_get_i64(c, "step", &v, &err);
		fuzz_check("ckpt", rc, &err);
		nn_ckpt_destroy(c);
	}
	return (int)(sum & 0);
}
