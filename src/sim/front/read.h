/*
 * read.h - the one load-then-parse step every network reader shares: read
 * the whole file (core/file.h's messages), hand it to the reader's parser
 * labelled with the path, free it.
 */
#ifndef H4H_SIM_FRONT_READ_H
#define H4H_SIM_FRONT_READ_H

#include <stddef.h>

#include "core/err.h"

/* A reader's parser: buf (len bytes, not NUL-terminated), label naming the
 * source in messages, out the reader's result (a sim_net ** or a struct). */
typedef int (*sim_front_parse_fn)(const char *buf, size_t len,
    const char *label, void *out, h4h_err *err);

/* Reads path and parses it; a missing or unreadable file is H4H_EINPUT
 * with the path in the message, like a parse error. */
int sim_front_load(const char *path, sim_front_parse_fn parse, void *out,
    h4h_err *err);

#endif
