/*
 * gpool.c - strided pools before a global pool of a large map (gpool.h).
 */
#include "sim/front/gpool.h"

#include <stdio.h>

int
sim_front_pre_pool(sim_net *net, sim_layer *l, const char *base,
    int unique, h4h_err *err)
{
	int h, w, step = 0;

	if (l->view) {
		h = l->in_h;
		w = l->in_w;
	} else if (l->inputs[0] < 0) {
		h = net->in_h;
		w = net->in_w;
	} else {
		h = net->layers[l->inputs[0]].out_h;
		w = net->layers[l->inputs[0]].out_w;
	}
	while (h > SIM_GLOBAL_POOL_MAX || w > SIM_GLOBAL_POOL_MAX) {
		int m = h > w ? h : w;
		int k = (m + SIM_GLOBAL_POOL_MAX - 1) / SIM_GLOBAL_POOL_MAX;
		sim_layer p = *l;
		int rc;

		k = k > 8 ? 8 : k;
		p.global = 0;
		p.kh = k;
		p.stride = k;
		p.out_h = p.out_w = 0;
		snprintf(p.name, sizeof p.name, "%.52s~pre%d", base,
		    ++step % 100);
		if ((rc = unique ? sim_net_append_named(net, &p, err) :
		    sim_net_append(net, &p, err)) != 0)
			return rc;
		h = (h + k - 1) / k;
		w = (w + k - 1) / k;
		l->inputs[0] = net->n_layers - 1;
		l->n_inputs = 1;
		l->view = 0;
	}
	return 0;
}
