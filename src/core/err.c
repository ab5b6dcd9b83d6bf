/*
 * err.c - error messages and allocation helpers (see err.h).
 */
#include "core/err.h"
#include "core/text.h"

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
	while (*s != '\0') {
		const unsigned char *u = (const unsigned char *)s;
		int len = h4h_utf8_len(u);

		/* C1 controls (U+0080..U+009F, e.g. the CSI that starts a
		 * terminal escape) are controls too */
		if (len == 1 && u[0] >= 0x20 && u[0] != 0x7f) {
			if (o + 1 >= n)
				break;
			out[o++] = (char)u[0];
		} else if (len > 1 && !(len == 2 && u[0] == 0xc2 &&
		    u[1] < 0xa0)) {
			if (o + (size_t)len >= n)
				break;
			memcpy(out + o, s, (size_t)len);
			o += (size_t)len;
		} else {
			/* a control, or a byte that is not well-formed
			 * UTF-8: one byte as \xNN, then go on */
			if (o + 4 >= n)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[u[0] >> 4];
			out[o++] = hex[u[0] & 15];
			len = 1;
		}
		s += len;
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
