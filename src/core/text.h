/*
 * text.h - text output every part of h4h writes the same way: doubles with
 * the fewest digits that read back to the same bits, RFC 4180 CSV fields,
 * and UTF-8 checked before it is shown.
 */
#ifndef H4H_CORE_TEXT_H
#define H4H_CORE_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* The fewest significant digits that read back as the same double (%.17g
 * always would; 0.08 reads better than 0.080000000000000002), and whole
 * numbers below 1e15 without an exponent (500, not 5e+02): the form of
 * profiles and their dumps (doc/formats.md). */
void h4h_fmt_double(char *buf, size_t size, double v);

/* The same, marked as a real (".0") when finite and looking like an
 * integer, as SQLite prints a REAL: the database's exports and queries. */
void h4h_fmt_double_real(char *buf, size_t size, double v);

/* Writes s as one CSV field: quoted, with quotes doubled, when it holds a
 * comma, a quote or a line break (RFC 4180); nothing when s is NULL (SQL
 * NULL). */
void h4h_csv_field(FILE *f, const char *s);

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0: for the
 * outputs that must be valid UTF-8 (JSON, a terminal). */
int h4h_utf8_len(const unsigned char *s);

#endif
