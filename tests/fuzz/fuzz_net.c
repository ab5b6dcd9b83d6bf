/*
 * fuzz_net.c - network layer lists (sim_net_parse), and for a network that
 * parses, its canonical layer keys (what the cost database stores).
 */
#include "tests/fuzz/fuzz.h"

#include <stdlib.h>

#include "sim/spec/canon.h"
#include "sim/spec/net.h"
#include "sim/front/net_json.h"

int
h4h_fuzz_net(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	sim_net *net = NULL;
	h4h_err err = { "" };
	int rc = sim_net_parse(text, "fuzz.json", &net, &err);

	fuzz_check("net", rc, &err);
	for (int i = 0; rc == 0 && i < net->n_layers; i++)
		(void)sim_layer_hash(&net->layers[i]);
	sim_net_destroy(net);
	free(text);
	return 0;
}
