// SPDX-License-Identifier: MIT
/*
 * enc_report: the encrypted datapath's counters as status and metrics.
 * The numbers come from the datapath process itself (its STATS answer),
 * so they survive agent restarts.
 */
#include "driver/enc_report.h"

#include <string.h>

#include "driver/core.h"

/* The datapath's counter names, in /metrics order. */
static const struct {
	const char *key, *help;
} ctrs[] = {
	{"tx_packets", "Frames sealed and sent."},
	{"tx_bytes", "Inner frame bytes sealed and sent."},
	{"rx_packets", "Frames opened and delivered."},
	{"rx_bytes", "Inner frame bytes opened and delivered."},
	{"auth_failures", "Datagrams whose tag did not verify (tampered, truncated, wrong key)."},
	{"replay_drops", "Datagrams with a counter seen before or older than the window."},
	{"unknown_session", "Datagrams from a sender session no member advertises."},
	{"no_key_drops", "Frames dropped for want of a key (none to seal with, none of the tag)."},
	{"bad_source", "Opened frames whose source MAC is not the sender's endpoint."},
	{"no_peer", "Frames for a MAC (or a VNI) this host knows no endpoint of."},
	{"bum_dropped", "Broadcast and multicast frames not answered locally (no flooding)."},
	{"arp_answered", "ARP requests answered from the replicated table."},
	{"malformed", "Datagrams or frames that did not parse."},
	{"send_errors", "Sends or TAP writes that failed."},
};

void drv_enc_status(void *arg, json_t *status)
{
	char why[320];
	json_t *st = drv_core_enc_stats(arg), *o;
	int ready = drv_core_enc_ready(arg, why, sizeof(why)) == 0;

	o = json_pack("{s:b,s:s?}", "ready", ready, "why", ready ? NULL : why);
	if (st)
		json_object_update(o, st);
	json_decref(st);
	json_object_set_new(status, "encryption", o);
}

static void ctr_lines(FILE *f, json_t *objs, const char *label, const char *key)
{
	size_t i;
	json_t *o;

	for (size_t k = 0; k < sizeof(ctrs) / sizeof(ctrs[0]); k++) {
		fprintf(f,
			"# HELP vxmesh_enc_%s_%s_total %s\n# TYPE vxmesh_enc_%s_%s_total counter\n",
			label, ctrs[k].key, ctrs[k].help, label, ctrs[k].key);
		json_array_foreach(objs, i, o)
		{
			json_t *v = json_object_get(o, key);
			json_int_t n = json_integer_value(
				json_object_get(json_object_get(o, "counters"), ctrs[k].key));

			if (json_is_integer(v))
				fprintf(f, "vxmesh_enc_%s_%s_total{vni=\"%lld\"} %lld\n", label,
					ctrs[k].key, (long long)json_integer_value(v),
					(long long)n);
			else
				fprintf(f, "vxmesh_enc_%s_%s_total{peer=\"%s:%lld\"} %lld\n", label,
					ctrs[k].key, json_string_value(v) ?: "",
					(long long)json_integer_value(
						json_object_get(o, "enc_port")),
					(long long)n);
		}
	}
}

void drv_enc_metrics(void *arg, FILE *f)
{
	json_t *st = drv_core_enc_stats(arg), *fb;
	const char *k;
	json_t *v;

	fprintf(f,
		"# HELP vxmesh_enc_up The encrypted datapath answers.\n"
		"# TYPE vxmesh_enc_up gauge\nvxmesh_enc_up %d\n",
		st != NULL);
	if (!st)
		return;
	ctr_lines(f, json_object_get(st, "networks"), "net", "vni");
	ctr_lines(f, json_object_get(st, "nodes"), "peer", "vtep");
	fprintf(f, "# HELP vxmesh_enc_offload_fallbacks_total Offloads given up (probed at start "
		   "or failed at run time); a fallback costs speed, never security.\n"
		   "# TYPE vxmesh_enc_offload_fallbacks_total counter\n");
	fb = json_object_get(st, "fallbacks");
	json_object_foreach(fb, k, v)
		fprintf(f, "vxmesh_enc_offload_fallbacks_total{offload=\"%s\"} %lld\n", k,
			(long long)json_integer_value(v));
	json_decref(st);
}
