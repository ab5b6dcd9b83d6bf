/*
 * err.c - error messages and allocation helpers (see err.h).
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
h4h_errf(h4h_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		char raw[sizeof err->msg];

		va_start(ap, fmt);
		vsnprintf(raw, sizeof raw, fmt, ap);
		va_end(ap);
		h4h_escape(err->msg, sizeof err->msg, raw);
	}
	return code;
}

void
h4h_escape(char *out, size_t n, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (n == 0)
		return;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != 0x7f) {
			if (o + 1 >= n)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= n)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static void
oom(size_t n)
{
	fprintf(stderr, "h4h: out of memory (%zu bytes)\n", n);
	abort();
}

void *
h4h_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
h4h_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

void *
h4h_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
h4h_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = h4h_xmalloc(n);

	memcpy(p, s, n);
	return p;
}
