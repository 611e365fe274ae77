#ifndef FERRY_RESULTS_H
#define FERRY_RESULTS_H

#include "op.h"

/* op_result_fn implementations shared by several calls. */

napi_status result_text(napi_env env, op *o, napi_value *result);        /* out.text, freed */
napi_status result_static_text(napi_env env, op *o, napi_value *result); /* out.static_text */
napi_status result_ulong(napi_env env, op *o, napi_value *result);       /* out.ulong */
napi_status result_ullong(napi_env env, op *o, napi_value *result);      /* out.ullong */
napi_status result_int(napi_env env, op *o, napi_value *result);         /* out.integer */
napi_status result_bool(napi_env env, op *o, napi_value *result);        /* out.integer != 0 */

#endif
