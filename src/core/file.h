/*
 * file.h - whole-file reading and file-name stems for the readers of
 * networks, architectures, calibration tables and checkpoints.
 *
 * Failures are H4H_EINPUT (an input file that is missing or unreadable is
 * bad input) with the path and strerror's reason in the message.
 */
#ifndef H4H_CORE_FILE_H
#define H4H_CORE_FILE_H

#include <stddef.h>

#include "core/err.h"

/* h4h_file_read's message forms. */
enum {
	H4H_FILE_PATH_LAST = 0,	/* "cannot open 'PATH': REASON" (the
				 * simulator's inputs) */
	H4H_FILE_PATH_FIRST = 1,	/* "'PATH': cannot open: REASON" (the
				 * training engine's, doc/nn-data.md) */
};

/* Reads a whole file into a new buffer, not NUL-terminated (the caller
 * frees it); on failure *buf is NULL, *len 0 and the message says "cannot
 * open" or "cannot read" in the form `style` names. */
int h4h_file_read(const char *path, int style, char **buf, size_t *len,
    h4h_err *err);

/* The path's file name without directory and extension (from the first
 * '.'), cut to n - 1 bytes; `fallback` where that is empty. */
void h4h_path_stem(const char *path, const char *fallback, char *out,
    size_t n);

#endif
