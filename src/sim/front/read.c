/*
 * read.c - the network readers' load-then-parse step (read.h), written
 * once so that every reader says "cannot open" the same way and none
 * leaks its buffer on a parse error.
 */
#include "sim/front/read.h"

#include <stdlib.h>

#include "core/file.h"

int
sim_front_load(const char *path, sim_front_parse_fn parse, void *out,
    h4h_err *err)
{
	char *buf;
	size_t len;
	int rc;

	if ((rc = h4h_file_read(path, H4H_FILE_PATH_LAST, &buf, &len,
	    err)) != 0)
		return rc;
	rc = parse(buf, len, path, out, err);
	free(buf);
	return rc;
}
