/*
 * atomic.h - write an output file so that readers see the old file or the
 * complete new one, never a prefix, and never destroy what h4h does not own.
 * Every file h4h writes (traces, CSV, JSON, profiles, checkpoints) goes
 * through it.  What happens depends on what the path names
 * (doc/reliability.md):
 *
 *   - a regular file or nothing: a temporary file "PATH.tmpXXXXXX" in the
 *     same directory, fsync, rename over PATH (a replaced file keeps its
 *     permission bits);
 *   - a symbolic link: the same, on the file the link chain ends at, so the
 *     link stays a link;
 *   - a FIFO or a character device (/dev/null, /dev/stdout, a terminal):
 *     written directly, nothing is renamed over it;
 *   - "-": standard output;
 *   - anything else (a directory, a block device, a socket): refused.
 *
 * A failed write, flush or close is an H4H_EIO error naming the path.
 */
#ifndef H4H_CORE_ATOMIC_H
#define H4H_CORE_ATOMIC_H

#include <stdio.h>

#include "core/err.h"

typedef void (*h4h_writer_fn)(FILE *f, const void *ctx);

/* `what` names the file's role in messages ("trace", "csv"). */
int h4h_write_atomic(const char *path, const char *what, h4h_writer_fn fn,
    const void *ctx, h4h_err *err);

/* `path` can be written: "-", an existing FIFO or character device that is
 * writable, or a place whose directory exists and is writable.  Checked
 * before a long run, so a bad output path costs nothing. */
int h4h_writable_place(const char *path);

/* Removes the temporary files "PATH.tmpXXXXXX" that a killed
 * h4h_write_atomic of PATH (or of the file a symlink PATH points to) left
 * behind; returns how many.  Only for outputs one process owns at a time
 * (a training run's checkpoint): a concurrent writer's temporary file
 * would be removed too. */
int h4h_atomic_sweep(const char *path);

#endif
