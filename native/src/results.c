#include "results.h"

#include <stdlib.h>

napi_status result_text(napi_env env, op *o, napi_value *result) {
  napi_status status = napi_create_string_utf8(env, o->out.text, NAPI_AUTO_LENGTH, result);

  free(o->out.text);
  o->out.text = NULL;
  return status;
}

napi_status result_static_text(napi_env env, op *o, napi_value *result) {
  return napi_create_string_utf8(env, o->out.static_text, NAPI_AUTO_LENGTH, result);
}

napi_status result_ulong(napi_env env, op *o, napi_value *result) {
  return napi_create_double(env, (double)o->out.ulong, result);
}

napi_status result_ullong(napi_env env, op *o, napi_value *result) {
  return napi_create_double(env, (double)o->out.ullong, result);
}

napi_status result_int(napi_env env, op *o, napi_value *result) {
  return napi_create_int32(env, o->out.integer, result);
}

napi_status result_bool(napi_env env, op *o, napi_value *result) {
  return napi_get_boolean(env, o->out.integer != 0, result);
}
