/*
 * net_json.h - the JSON layer list front end (doc/formats.md): a file or a
 * string in, a checked sim_net (spec/net.h) out.
 */
#ifndef H4H_SIM_FRONT_NET_JSON_H
#define H4H_SIM_FRONT_NET_JSON_H

#include "core/err.h"
#include "sim/spec/net.h"

/* Parse a JSON layer list (doc/formats.md) from a file.  On error returns
 * H4H_EINPUT with a message that names the file, and line:column or the
 * layer and key at fault (a missing or unreadable file is bad input too). */
int sim_net_load(const char *path, sim_net **out, h4h_err *err);
/* Same, from a string; `label` names the source in messages. */
int sim_net_parse(const char *json, const char *label, sim_net **out,
    h4h_err *err);

#endif
