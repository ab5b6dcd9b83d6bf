/*
 * atomic.h - write an output file so that readers see the old file or the
 * complete new one, never a prefix: a temporary file in the same directory,
 * fsync, rename.  Every file h4h writes (traces, CSV, JSON) goes through it.
 */
#ifndef H4H_CORE_ATOMIC_H
#define H4H_CORE_ATOMIC_H

#include <stdio.h>

#include "core/err.h"

typedef void (*h4h_writer_fn)(FILE *f, const void *ctx);

/* `what` names the file's role in messages ("trace", "csv"). */
int h4h_write_atomic(const char *path, const char *what, h4h_writer_fn fn,
    const void *ctx, h4h_err *err);

/* The directory `path` would be written in exists and is writable: checked
 * before a long run, so a bad output path costs nothing. */
int h4h_writable_place(const char *path);

#endif
