#ifndef FERRY_TYPED_PARAMS_H
#define FERRY_TYPED_PARAMS_H

#include <libvirt/libvirt.h>
#include <node_api.h>

/* Converts libvirt typed parameters into a plain object keyed by field name. Integers of every
 * width become Numbers (exact below 2^53, rounded above), booleans Booleans, strings Strings.
 * A repeated field keeps its last value. */
napi_status typed_params_to_js(napi_env env, const virTypedParameter *params, int count,
                               napi_value *result);

#endif
