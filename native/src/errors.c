#include "errors.h"

#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "js_object.h"

static void record(lv_error *error, int code, int domain, const char *message) {
  lv_error_clear(error);
  error->code = code;
  error->domain = domain;
  error->message = strdup(message);
}

void lv_error_capture(lv_error *error) {
  virErrorPtr last = virGetLastError();

  if (last && last->code != VIR_ERR_OK && last->message)
    record(error, last->code, last->domain, last->message);
  else
    record(error, VIR_ERR_INTERNAL_ERROR, VIR_FROM_NONE, "libvirt call failed without an error");
}

void lv_error_set(lv_error *error, int code, const char *message) {
  record(error, code, VIR_FROM_NONE, message);
}

int lv_error_is_set(const lv_error *error) { return error->message != NULL; }

void lv_error_clear(lv_error *error) {
  free(error->message);
  error->message = NULL;
}

static napi_status instantiate(napi_env env, napi_value message, napi_value code,
                               napi_value domain, napi_value *result) {
  addon_state *state = addon_state_get(env);
  napi_value cls = NULL;
  napi_value argv[3] = {message, code, domain};

  if (state && state->error_class)
    napi_get_reference_value(env, state->error_class, &cls);
  if (cls) return napi_new_instance(env, cls, 3, argv, result);

  js_object plain = {env, NULL, napi_ok};
  plain.status = napi_create_error(env, NULL, message, &plain.value);
  js_object_string(&plain, "name", "LibvirtError");
  return js_object_done(&plain, result);
}

napi_value lv_error_to_js(napi_env env, const lv_error *error) {
  napi_value message, code, domain, result;
  const char *text = error->message ? error->message : "unknown libvirt error";

  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_int32(env, error->code, &code) != napi_ok ||
      napi_create_int32(env, error->domain, &domain) != napi_ok ||
      instantiate(env, message, code, domain, &result) != napi_ok)
    return NULL;

  js_object fields = {env, result, napi_ok};
  js_object_set(&fields, "code", code);
  js_object_set(&fields, "domain", domain);
  return js_object_done(&fields, &result) == napi_ok ? result : NULL;
}

napi_value lv_error_throw_last(napi_env env) {
  lv_error error = {0, 0, NULL};
  napi_value value;

  lv_error_capture(&error);
  value = lv_error_to_js(env, &error);
  lv_error_clear(&error);
  if (value) napi_throw(env, value);
  return NULL;
}
