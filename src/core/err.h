/*
 * err.h - error codes and the message buffer every fallible h4h call fills.
 *
 * A function that can fail returns 0 or a negative H4H_E* code and writes one
 * line (no trailing newline, no "h4h:" prefix) into an h4h_err the caller
 * owns; control characters in it are escaped (h4h_escape).  Only the CLI
 * prints messages and chooses exit statuses: H4H_EINPUT maps to exit 2 (bad usage or bad input), everything else to 1.
 */
#ifndef H4H_CORE_ERR_H
#define H4H_CORE_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	H4H_OK = 0,
	H4H_EINPUT = -1,	/* bad input: an input file that is missing or
				 * unreadable, a key, value or shape */
	H4H_EIO = -2,		/* an output could not be written */
	H4H_ENOMEM = -3,
	H4H_ESIM = -4,		/* the simulation kernel failed */
};

typedef struct h4h_err {
	char msg[512];
} h4h_err;

/* Formats into err->msg (if err is non-NULL) and returns code. */
int h4h_errf(h4h_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies s into out (n bytes, NUL included, cut if longer) with every
 * control character (below 0x20, 0x7f, and U+0080..U+009F) and every byte
 * that is not part of well-formed UTF-8 written as \xNN, so that input
 * echoed into a message keeps it one line and valid UTF-8.  h4h_errf
 * applies it to every message. */
void h4h_escape(char *out, size_t n, const char *s);

/* Allocation that never returns NULL: aborts with a message instead. */
void *h4h_xmalloc(size_t n);
void *h4h_xcalloc(size_t n, size_t size);
void *h4h_xrealloc(void *p, size_t n);
char *h4h_xstrdup(const char *s);

#ifdef __cplusplus
}
#endif

#endif
