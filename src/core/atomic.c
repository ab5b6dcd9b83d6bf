/*
 * atomic.c - outputs that readers see whole and that never replace what
 * h4h does not own (see atomic.h).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "core/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* As many links as Linux follows before ELOOP. */
#define MAX_LINKS 40

/* The path a chain of symbolic links starting at `path` ends at (itself if
 * it is no link; a dangling link's target is a new file there), as a new
 * string; NULL with errno set on a loop or a read error. */
static char *
resolve_links(const char *path)
{
	char *cur = h4h_xstrdup(path);

	for (int hops = 0; hops <= MAX_LINKS; hops++) {
		struct stat sb;
		char *target, *slash, *next;
		ssize_t n;

		if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode))
			return cur;	/* a new path, or the end of the chain */
		target = h4h_xmalloc((size_t)PATH_MAX + 1);
		n = readlink(cur, target, PATH_MAX);
		if (n < 0) {
			free(target);
			free(cur);
			return NULL;
		}
		target[n] = '\0';
		slash = strrchr(cur, '/');
		if (target[0] == '/' || slash == NULL) {
			next = target;
		} else {
			size_t dl = (size_t)(slash - cur) + 1;

			next = h4h_xmalloc(dl + (size_t)n + 1);
			memcpy(next, cur, dl);
			memcpy(next + dl, target, (size_t)n + 1);
			free(target);
		}
		free(cur);
		cur = next;
	}
	free(cur);
	errno = ELOOP;
	return NULL;
}

static int
io_fail(h4h_err *err, const char *what, const char *path, int e)
{
	return h4h_errf(err, H4H_EIO, "cannot write %s '%s': %s", what, path,
	    strerror(e));
}

/* stdout, or an existing FIFO or character device: written in place. */
static int
write_direct(FILE *f, const char *path, const char *what, h4h_writer_fn fn,
    const void *ctx, h4h_err *err)
{
	int e;

	fn(f, ctx);
	if (fflush(f) != 0 || ferror(f)) {
		e = errno ? errno : EIO;
		if (f != stdout)
			fclose(f);
		return io_fail(err, what, path, e);
	}
	if (f != stdout && fclose(f) != 0)
		return io_fail(err, what, path, errno);
	return 0;
}

static int
write_replace(const char *path, const char *what, const struct stat *old,
    h4h_writer_fn fn, const void *ctx, h4h_err *err)
{
	size_t len = strlen(path) + 16;
	char *tmp = h4h_xmalloc(len);
	FILE *f = NULL;
	mode_t mode;
	int fd, e, rc = 0;

	snprintf(tmp, len, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = io_fail(err, what, path, errno);
		free(tmp);
		return rc;
	}
	/* mkstemp makes the file 0600: give it the replaced file's bits, or
	 * the mode a plain fopen would (0666 less the umask). */
	if (old != NULL) {
		mode = old->st_mode & 07777;
	} else {
		mode_t mask = umask(0);

		umask(mask);
		mode = 0666 & ~mask;
	}
	fchmod(fd, mode);
	f = fdopen(fd, "w");
	if (f == NULL) {
		e = errno;
		close(fd);
		goto fail;
	}
	errno = 0;
	fn(f, ctx);
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		e = errno ? errno : EIO;
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0) {
		e = errno;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	rc = io_fail(err, what, path, e);
	unlink(tmp);
	free(tmp);
	return rc;
}

int
h4h_write_atomic(const char *path, const char *what, h4h_writer_fn fn,
    const void *ctx, h4h_err *err)
{
	struct stat sb;
	char *real;
	int rc;

	if (strcmp(path, "-") == 0)
		return write_direct(stdout, "stdout", what, fn, ctx, err);
	if ((real = resolve_links(path)) == NULL)
		return io_fail(err, what, path, errno);
	if (lstat(real, &sb) != 0) {
		if (errno != ENOENT) {
			rc = io_fail(err, what, path, errno);
		} else {
			rc = write_replace(real, what, NULL, fn, ctx, err);
		}
	} else if (S_ISREG(sb.st_mode)) {
		rc = write_replace(real, what, &sb, fn, ctx, err);
	} else if (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)) {
		int fd = open(real, O_WRONLY | O_NOCTTY);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

		if (f == NULL) {
			rc = io_fail(err, what, path, errno);
			if (fd >= 0)
				close(fd);
		} else {
			rc = write_direct(f, path, what, fn, ctx, err);
		}
	} else {
		rc = h4h_errf(err, H4H_EIO, "cannot write %s '%s': %s", what,
		    path, S_ISDIR(sb.st_mode) ? "is a directory" :
		    "not a regular file, FIFO or character device");
	}
	free(real);
	return rc;
}

int
h4h_writable_place(const char *path)
{
	const char *slash;
	char *real, dir[4096];
	struct stat sb;
	int ok;

	if (strcmp(path, "-") == 0)
		return 1;
	if ((real = resolve_links(path)) == NULL)
		return 0;
	if (stat(real, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		/* errno says why for the caller's message. */
		if (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode)) {
			ok = access(real, W_OK) == 0;
		} else {
			ok = 0;
			errno = S_ISDIR(sb.st_mode) ? EISDIR : EPERM;
		}
		free(real);
		return ok;
	}
	slash = strrchr(real, '/');
	if (slash == NULL) {
		ok = access(".", W_OK) == 0;
	} else {
		snprintf(dir, sizeof dir, "%.*s",
		    (int)(slash - real) + (slash == real), real);
		ok = access(dir, W_OK) == 0;
	}
	free(real);
	return ok;
}

int
h4h_atomic_sweep(const char *path)
{
	char *real = resolve_links(path), *slash, *dname, *base;
	size_t bl;
	DIR *d;
	struct dirent *de;
	int removed = 0;

	if (real == NULL)
		return 0;
	slash = strrchr(real, '/');
	if (slash == NULL) {
		dname = h4h_xstrdup(".");
		base = real;
	} else {
		dname = h4h_xstrdup(real);
		dname[slash - real + (slash == real)] = '\0';
		base = slash + 1;
	}
	bl = strlen(base);
	if (bl > 0 && (d = opendir(dname)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			const char *s = de->d_name;
			char *full;
			struct stat sb;
			size_t fl;

			/* Exactly "BASE.tmp" and mkstemp's six characters. */
			if (strlen(s) != bl + 10 || strncmp(s, base, bl) != 0 ||
			    strncmp(s + bl, ".tmp", 4) != 0)
				continue;
			fl = strlen(dname) + strlen(s) + 2;
			full = h4h_xmalloc(fl);
			snprintf(full, fl, "%s/%s", dname, s);
			if (lstat(full, &sb) == 0 && S_ISREG(sb.st_mode) &&
			    unlink(full) == 0)
				removed++;
			free(full);
		}
		closedir(d);
	}
	free(dname);
	free(real);
	return removed;
}
