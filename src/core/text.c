/*
 * text.c - shortest round-trip doubles and CSV fields (text.h).
 *
 * The database once printed doubles by trying 15, 16 and 17 digits: for
 * every double that gives the same text as the fewest digits from 1 up
 * (a p-digit form that reads back is within half an ulp, closer than half
 * the 15-digit grid, so %.15g rounds to it and %g drops the zeros; and a
 * value that is not whole needs more digits than its exponent, so both
 * pick the same fixed or exponent form), so one rule serves both.
 */
#include "core/text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
h4h_fmt_double(char *buf, size_t size, double v)
{
	int prec;

	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, size, "%.0f", v);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, size, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, size, "%.17g", v);
}

void
h4h_fmt_double_real(char *buf, size_t size, double v)
{
	h4h_fmt_double(buf, size, v);
	if (isfinite(v) && strpbrk(buf, ".e") == NULL &&
	    strlen(buf) + 3 <= size)
		strcat(buf, ".0");
}

void
h4h_csv_field(FILE *f, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}
