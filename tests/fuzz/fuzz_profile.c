/*
 * fuzz_profile.c - INI system profiles (sim_profile_load, then validate),
 * through a file as the CLI reads them.
 */
#include "tests/fuzz/fuzz.h"

#include "sim/spec/profile.h"

int
h4h_fuzz_profile(const uint8_t *data, size_t size)
{
	sim_profile p;
	h4h_err err = { "" };
	int rc;

	sim_profile_defaults(&p);
	rc = sim_profile_load(fuzz_file(data, size, "ini"), &p, &err);
	if (rc == 0)
		rc = sim_profile_validate(&p, &err);
	fuzz_check("profile", rc, &err);
	return 0;
}
