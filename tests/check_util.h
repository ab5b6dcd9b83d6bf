/*
 * check_util.h - what the Check programs share: finding a shipped file
 * under $H4H_SRCDIR (make check sets it; "." when run by hand from the
 * source tree) and temporary directories made with mkdtemp and removed
 * whole.  Header-only (static inline) so each test stays one source file;
 * included as "check_util.h", found beside the test in any build tree.
 */
#ifndef H4H_TESTS_CHECK_UTIL_H
#define H4H_TESTS_CHECK_UTIL_H

/* mkdtemp and nftw: include this header before any system header. */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* $H4H_SRCDIR/rel into buf (n bytes); returns buf. */
static inline const char *
tu_src_path(char *buf, size_t n, const char *rel)
{
	const char *d = getenv("H4H_SRCDIR");

	snprintf(buf, n, "%s/%s", d != NULL && *d != '\0' ? d : ".", rel);
	return buf;
}

/* The source tree's root ($H4H_SRCDIR or "."). */
static inline const char *
tu_src_dir(void)
{
	const char *d = getenv("H4H_SRCDIR");

	return d != NULL && *d != '\0' ? d : ".";
}

/* A test's temporary directory and up to eight paths in it. */
typedef struct tu_tmpdir {
	char dir[64];
	char path[8][160];
} tu_tmpdir;
#define TU_TMPDIR_INIT { "", { "" } }

/* Makes t->dir a new empty directory $TMPDIR/NAME.XXXXXX (TMPDIR default
 * /tmp); fails the test if it cannot. */
static inline void
tu_tmpdir_make(tu_tmpdir *t, const char *name)
{
	const char *d = getenv("TMPDIR");

	snprintf(t->dir, sizeof t->dir, "%s/%s.XXXXXX",
	    d != NULL && *d != '\0' ? d : "/tmp", name);
	ck_assert_msg(mkdtemp(t->dir) != NULL, "cannot make %s", t->dir);
}

/* t->dir/name into path slot `slot` (0..7); returns it. */
static inline const char *
tu_tmpdir_path(tu_tmpdir *t, int slot, const char *name)
{
	char buf[sizeof t->path[0]];

	/* Through a local buffer: gcc -Wrestrict cannot tell dir and path
	 * apart inside one struct. */
	snprintf(buf, sizeof buf, "%s/%s", t->dir, name);
	memcpy(t->path[slot], buf, sizeof buf);
	return t->path[slot];
}

static inline int
tu_unlock_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (sb->st_mode & 07777) | S_IRWXU);
	return 0;
}

static inline int
tu_remove_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes t->dir and everything under it, directories a test made
 * read-only included; a no-op when t->dir was never made. */
static inline void
tu_tmpdir_remove(tu_tmpdir *t)
{
	if (t->dir[0] == '\0')
		return;
	nftw(t->dir, tu_unlock_one, 16, FTW_PHYS);
	nftw(t->dir, tu_remove_one, 16, FTW_DEPTH | FTW_PHYS);
	t->dir[0] = '\0';
}

#endif
