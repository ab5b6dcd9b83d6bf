/*
 * fuzz_util.c - what the fuzz targets share (see fuzz.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef H4H_FUZZ_SRCDIR
#define H4H_FUZZ_SRCDIR "."
#endif

/* A new format adds its line here (fuzz.h). */
const h4h_fuzz_target h4h_fuzz_targets[] = {
	{ "profile", h4h_fuzz_profile, "hwprofiles/*.ini" },
	{ "net", h4h_fuzz_net, "nets/*.json" },
	{ "arch", h4h_fuzz_arch, "nets/h4h-*.json" },
	{ "space", h4h_fuzz_space, "spaces/*.json" },
	{ "gene", h4h_fuzz_gene, NULL },
	{ "csv", h4h_fuzz_csv, "hwprofiles/tables/*.csv" },
	{ "ckpt", h4h_fuzz_ckpt, NULL },
	{ "idx", h4h_fuzz_idx, NULL },
	{ "dbblob", h4h_fuzz_dbblob, NULL },
	{ "onnx", h4h_fuzz_onnx, "nets/onnx/*.onnx" },
};
const int h4h_fuzz_n_targets = sizeof h4h_fuzz_targets /
    sizeof h4h_fuzz_targets[0];

char *
fuzz_text(const uint8_t *data, size_t size)
{
	char *s = h4h_xmalloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const char *
fuzz_file(const uint8_t *data, size_t size, const char *ext)
{
	static char path[512];
	const char *dir = getenv("TMPDIR");
	FILE *f;

	snprintf(path, sizeof path, "%s/h4h-fuzz-%ld.%s",
	    dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid(), ext);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(data, 1, size, f) != size || fclose(f) != 0) {
		fprintf(stderr, "fuzz: cannot write scratch file %s\n", path);
		abort();
	}
	return path;
}

const char *
fuzz_src(const char *rel)
{
	static char path[4][1024];
	static int k;
	const char *root = getenv("H4H_SRCDIR");

	k = (k + 1) % 4;
	snprintf(path[k], sizeof path[k], "%s/%s",
	    root != NULL && *root != '\0' ? root : H4H_FUZZ_SRCDIR, rel);
	return path[k];
}

void
fuzz_check(const char *target, int rc, const h4h_err *err)
{
	const char *m = err->msg;

	if (rc == 0)
		return;
	if (rc != H4H_EINPUT && rc != H4H_EIO && rc != H4H_ENOMEM &&
	    rc != H4H_ESIM) {
		fprintf(stderr, "fuzz %s: undocumented code %d: %s\n", target,
		    rc, m);
		abort();
	}
	if (m[0] == '\0') {
		fprintf(stderr, "fuzz %s: code %d with no message\n", target,
		    rc);
		abort();
	}
	for (const unsigned char *c = (const unsigned char *)m; *c; c++)
		if (*c < 0x20 || *c == 0x7f) {
			fprintf(stderr, "fuzz %s: control character 0x%02x in "
			    "the message: %s\n", target, *c, m);
			abort();
		}
}

void
fuzz_cleanup(void)
{
	static const char *const ext[] = { "ini", "csv", "ckpt", "idx", "db",
	    "db-wal", "db-shm" };
	const char *dir = getenv("TMPDIR");
	char path[512];

	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		snprintf(path, sizeof path, "%s/h4h-fuzz-%ld.%s",
		    dir != NULL && *dir != '\0' ? dir : "/tmp", (long)getpid(),
		    ext[i]);
		unlink(path);
	}
}
