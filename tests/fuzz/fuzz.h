/*
 * fuzz.h - the fuzz targets of doc/reliability.md: one function per parser
 * of untrusted input, h4h_fuzz_<format>(data, size), that feeds it one input
 * and checks what every input must get: no crash, no leak, and either
 * success or a documented error code with a one-line message (non-empty, no
 * control character, no newline).  A broken promise aborts, so the fuzzer
 * and the replay both report it.
 *
 * Each fuzz_<format>.c defines its function; the table in fuzz_util.c
 * names them.  make fuzz builds tests/fuzz/h4h_fuzz (fuzz_main.c, clang
 * -fsanitize=fuzzer) and runs each target for FUZZ_SECONDS;
 * tests/check_fuzz_replay (replay.c, make check) calls each one on every
 * file under tests/fuzz/regress/<format>/ and on its shipped seeds.
 *
 * A new format gets tests/fuzz/fuzz_FORMAT.c with h4h_fuzz_FORMAT, a
 * declaration here, a line in the table of fuzz_util.c, the file in
 * FUZZ_SRC of Makefile.am, seeds (a glob of shipped files in the table, or
 * cases in mkseeds.py) and a tests/fuzz/regress/FORMAT/ folder for what the
 * fuzzer finds, as the ONNX importer's fuzz_onnx.c has (its corpus written
 * by tests/fuzz/mkonnx.c).
 */
#ifndef H4H_TESTS_FUZZ_H
#define H4H_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

int h4h_fuzz_profile(const uint8_t *data, size_t size);
int h4h_fuzz_net(const uint8_t *data, size_t size);
int h4h_fuzz_arch(const uint8_t *data, size_t size);
int h4h_fuzz_space(const uint8_t *data, size_t size);
int h4h_fuzz_gene(const uint8_t *data, size_t size);
int h4h_fuzz_csv(const uint8_t *data, size_t size);
int h4h_fuzz_ckpt(const uint8_t *data, size_t size);
int h4h_fuzz_idx(const uint8_t *data, size_t size);
int h4h_fuzz_dbblob(const uint8_t *data, size_t size);
int h4h_fuzz_onnx(const uint8_t *data, size_t size);

/* The input as a NUL-terminated string (embedded NULs end it early, as
 * they would for a text parser); the caller frees it. */
char *fuzz_text(const uint8_t *data, size_t size);
/* The input written to this process's scratch file with extension `ext`
 * (for the parsers that take a path); returns the path (static). */
const char *fuzz_file(const uint8_t *data, size_t size, const char *ext);
/* Removes this process's scratch files (the replay calls it at exit). */
void fuzz_cleanup(void);
/* A path under the source tree ($H4H_SRCDIR, else the one configure saw). */
const char *fuzz_src(const char *rel);
/* rc is 0, or a documented code with a one-line message: abort if not. */
void fuzz_check(const char *target, int rc, const h4h_err *err);

/* The targets, by name: what tests/check_fuzz_replay replays and what
 * tests/fuzz/h4h_fuzz (make fuzz) runs as $H4H_FUZZ_TARGET.  `seeds` is a
 * glob of shipped files under the source tree that seed it (NULL: none;
 * tests/fuzz/mkseeds.py makes the rest). */
typedef struct h4h_fuzz_target {
	const char *name;
	int (*fn)(const uint8_t *data, size_t size);
	const char *seeds;
} h4h_fuzz_target;

extern const h4h_fuzz_target h4h_fuzz_targets[];
extern const int h4h_fuzz_n_targets;

#endif
