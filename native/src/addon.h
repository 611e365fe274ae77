#ifndef FERRY_ADDON_H
#define FERRY_ADDON_H

#include <node_api.h>

/* Per-environment state (a worker_thread loading the addon gets its own). */
typedef struct {
  napi_ref connection_class;
  napi_ref domain_class;
  napi_ref error_class; /* LibvirtError constructor registered by JS, or NULL */
} addon_state;

addon_state *addon_state_get(napi_env env);

#endif
