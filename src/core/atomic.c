/*
 * atomic.c - temporary file, fsync, rename (see atomic.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "core/atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
h4h_write_atomic(const char *path, const char *what, h4h_writer_fn fn,
    const void *ctx, h4h_err *err)
{
	size_t len = strlen(path) + 16;
	char *tmp = h4h_xmalloc(len);
	FILE *f = NULL;
	int fd, rc = 0;

	snprintf(tmp, len, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = h4h_errf(err, H4H_EIO, "cannot write %s '%s': %s", what,
		    path, strerror(errno));
		free(tmp);
		return rc;
	}
	/* mkstemp makes the file 0600: give it the mode a plain fopen
	 * would (0666 less the umask). */
	{
		mode_t mask = umask(0);

		umask(mask);
		fchmod(fd, 0666 & ~mask);
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		goto fail;
	}
	fn(f, ctx);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0)
		goto fail;
	if (rename(tmp, path) != 0)
		goto fail;
	free(tmp);
	return 0;
fail:
	rc = h4h_errf(err, H4H_EIO, "cannot write %s '%s': %s", what, path,
	    strerror(errno));
	unlink(tmp);
	free(tmp);
	return rc;
}

int
h4h_writable_place(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (slash == NULL)
		return access(".", W_OK) == 0;
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path),
	    path);
	return access(dir, W_OK) == 0;
}
