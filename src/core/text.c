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

int
h4h_utf8_len(const unsigned char *s)
{
	int n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* the NUL ends it too */
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}
