/* SPDX-License-Identifier: MIT */
/*
 * enc_report: what the encrypted datapath reports, in /v1/status
 * ("encryption") and /metrics (vxmesh_enc_*); arg is the core.
 */
#ifndef VXMESH_ENC_REPORT_H
#define VXMESH_ENC_REPORT_H

#include <jansson.h>
#include <stdio.h>

void drv_enc_status(void *arg, json_t *status);
void drv_enc_metrics(void *arg, FILE *f);

#endif
