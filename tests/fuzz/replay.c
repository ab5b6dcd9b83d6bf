/*
 * replay.c - tests/check_fuzz_replay: every fuzz target (fuzz.h) on every
 * file under tests/fuzz/regress/<target>/ (what the fuzzer found, and the
 * hostile inputs of issue 12) and on the shipped files its seeds are made
 * from, with the normal build, as part of make check; under make
 * check-sanitize the same with ASan and UBSan.  A target aborts on a
 * broken promise; a crash fails the test.  With arguments
 * (check_fuzz_replay TARGET FILE...) it replays just those files, to
 * reproduce a crasher.
 */
#define _POSIX_C_SOURCE 200809L
#include "tests/fuzz/fuzz.h"

#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef h4h_fuzz_target target;

static int
replay_file(const target *t, const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		fprintf(stderr, "check_fuzz_replay: cannot open %s\n", path);
		return 1;
	}
	do {
		if (cap - len < 65536)
			buf = h4h_xrealloc(buf, cap = cap * 2 + 65536);
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	t->fn(buf, len);
	free(buf);
	return 0;
}

static int
replay_dir(const target *t, const char *dir, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int bad = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[2048];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		bad += replay_file(t, path);
		(*count)++;
	}
	closedir(d);
	return bad;
}

int
main(int argc, char **argv)
{
	int bad = 0, total = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2) {
		for (int i = 0; i < h4h_fuzz_n_targets; i++)
			if (strcmp(argv[1], h4h_fuzz_targets[i].name) == 0) {
				for (int k = 2; k < argc; k++)
					bad += replay_file(&h4h_fuzz_targets[i], argv[k]);
				fuzz_cleanup();
				return bad != 0;
			}
		fprintf(stderr, "check_fuzz_replay: no target '%s'\n", argv[1]);
		return 2;
	}
	for (int i = 0; i < h4h_fuzz_n_targets; i++) {
		const target *t = &h4h_fuzz_targets[i];
		char dir[1024];
		int count = 0;

		snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", t->name);
		bad += replay_dir(t, fuzz_src(dir), &count);
		if (t->seeds != NULL) {
			glob_t g;

			if (glob(fuzz_src(t->seeds), 0, NULL, &g) == 0) {
				for (size_t k = 0; k < g.gl_pathc; k++, count++)
					bad += replay_file(t, g.gl_pathv[k]);
				globfree(&g);
			}
		}
		if (count == 0) {
			fprintf(stderr, "check_fuzz_replay: %s: no inputs\n",
			    t->name);
			bad++;
		}
		printf("%s: %d inputs replayed\n", t->name, count);
		total += count;
	}
	printf("%d inputs, %d unreadable\n", total, bad);
	fuzz_cleanup();
	return bad != 0;
}
