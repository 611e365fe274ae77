#ifndef FERRY_CONSTANTS_H
#define FERRY_CONSTANTS_H

#include <node_api.h>

/* An object of the libvirt constants ferry uses, keyed by their C names, with the values of the
 * headers the addon was compiled against. */
napi_status constants_create(napi_env env, napi_value *result);

#endif
