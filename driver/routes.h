/* SPDX-License-Identifier: MIT */
/*
 * routes: the control API's handlers for networks, endpoints, the FDB,
 * status, reconcile and metrics.  They parse and check the request, call
 * the core, and turn its errno into the HTTP answer (api_error_errno()).
 * Other modules add their own routes (cluster, alloc) and their part of
 * /v1/status and /metrics through struct drv_report.
 */
#ifndef VXMESH_ROUTES_H
#define VXMESH_ROUTES_H

#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "driver/api.h"
struct drv_alloc;
struct drv_api;
struct drv_config;
struct drv_core;

#define DRV_REPORTS_MAX 8

/* A module's part of /v1/status and /metrics; members optional. */
struct drv_report {
	void (*status)(void *arg, json_t *status);
	void (*metrics)(void *arg, FILE *f);
	void *arg;
};

/* The handlers' arg. */
struct drv_routes {
	struct drv_core *core;
	struct drv_alloc *al;
	const struct drv_config *cfg;
	struct drv_api *api; /* for its request counters; NULL until served */
	time_t started;
	struct drv_report reports[DRV_REPORTS_MAX];
	size_t nreports;
};

extern const struct api_route drv_routes[];
extern const size_t drv_nroutes;

#endif
