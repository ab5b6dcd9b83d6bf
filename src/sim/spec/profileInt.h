/*
 * profileInt.h - private to profile.c and profile_keys.c: the shape of a
 * key's entry in the key table, and the table itself.
 */
#ifndef H4H_SIM_SPEC_PROFILEINT_H
#define H4H_SIM_SPEC_PROFILEINT_H

#include <stddef.h>

#include "sim/spec/profile.h"

typedef enum key_type {
	KT_INT,
	KT_DOUBLE,
	KT_BOOL,
	KT_ENUM,		/* an int named by key_def.names */
	KT_STRING,		/* sim_profile.name */
	KT_LIST,		/* system.include: only in files, not stored */
} key_type;

enum {
	R_MIN_EXCL = 1,		/* value must be > min, not >= min */
	R_NO_MAX = 2,		/* no upper bound */
};

typedef struct key_def {
	const char *section;
	const char *key;
	key_type type;
	size_t off;		/* offsetof(sim_profile, ...) */
	double min, max;	/* KT_INT, KT_DOUBLE; max is inclusive */
	int flags;
	const int *set;		/* allowed values, 0-terminated, or NULL */
	const char *const *names; /* KT_ENUM: value i is names[i], NULL-ended */
	const char *unit;
	const char *def;	/* default, as it would be written in a file */
	const char *desc;
	const char *source;	/* where the default comes from */
} key_def;

/* The key table (profile_keys.c). */
extern const key_def profile_keys[];
extern const size_t profile_n_keys;
#define N_KEYS	profile_n_keys

/* Objective names, in sim_objective order. */
extern const char *const profile_objective_names[];
#define N_OBJECTIVES	3

/* A parsed value, before it is stored into a profile. */
typedef struct kval {
	long long i;		/* KT_INT, KT_BOOL, KT_ENUM */
	double d;		/* KT_DOUBLE */
	char s[sizeof ((sim_profile *)0)->name];	/* KT_STRING */
} kval;

#endif
