/*
 * file.c - whole-file reading and file-name stems (see file.h).
 */
#include "core/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
fail(h4h_err *err, int style, const char *what, const char *path)
{
	if (style == H4H_FILE_PATH_FIRST)
		return h4h_errf(err, H4H_EINPUT, "'%s': cannot %s: %s", path,
		    what, strerror(errno));
	return h4h_errf(err, H4H_EINPUT, "cannot %s '%s': %s", what, path,
	    strerror(errno));
}

int
h4h_file_read(const char *path, int style, char **buf, size_t *len,
    h4h_err *err)
{
	FILE *f;
	size_t cap = 0, n;
	int rc = 0;

	*buf = NULL;
	*len = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return fail(err, style, "open", path);
	do {
		if (cap - *len < 4096) {
			cap = cap ? 2 * cap : 16384;
			*buf = h4h_xrealloc(*buf, cap);
		}
		n = fread(*buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	if (ferror(f)) {
		rc = fail(err, style, "read", path);
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	fclose(f);
	return rc;
}

void
h4h_path_stem(const char *path, const char *fallback, char *out, size_t n)
{
	const char *b = strrchr(path, '/');
	size_t len;

	b = b != NULL ? b + 1 : path;
	len = strcspn(b, ".");
	if (len == 0) {
		b = fallback;
		len = strlen(fallback);
	}
	if (len >= n)
		len = n - 1;
	memcpy(out, b, len);
	out[len] = '\0';
}
