#ifndef FERRY_MIGRATE_PARAMS_H
#define FERRY_MIGRATE_PARAMS_H

#include <libvirt/libvirt.h>
#include <node_api.h>

/* Maps the JS migration parameters object onto VIR_MIGRATE_PARAM_* typed parameters:
 *   migrateUri            VIR_MIGRATE_PARAM_URI                        string
 *   destinationName       VIR_MIGRATE_PARAM_DEST_NAME                  string
 *   destinationXml        VIR_MIGRATE_PARAM_DEST_XML                   string
 *   persistentXml         VIR_MIGRATE_PARAM_PERSIST_XML                string
 *   bandwidthMiBs         VIR_MIGRATE_PARAM_BANDWIDTH                  ullong (MiB/s)
 *   bandwidthPostcopyMiBs VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY         ullong (MiB/s)
 *   migrateDisks          VIR_MIGRATE_PARAM_MIGRATE_DISKS              string, repeated
 *   autoConvergeInitial   VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL      int (percent)
 *   autoConvergeIncrement VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT    int (percent)
 *   parallelConnections   VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS       int
 * undefined/null gives no parameters; undefined fields are skipped; unknown fields throw.
 * Returns 0, or -1 with an exception pending (params then freed). */
int migrate_params_from_js(napi_env env, napi_value object, virTypedParameterPtr *params,
                           int *count);

#endif
