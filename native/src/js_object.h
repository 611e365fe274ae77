#ifndef FERRY_JS_OBJECT_H
#define FERRY_JS_OBJECT_H

#include <node_api.h>

/* Builds a JS object field by field; the first failure sticks in `status` and makes the later
 * setters no-ops, so callers check once at the end with js_object_done. */
typedef struct {
  napi_env env;
  napi_value value;
  napi_status status;
} js_object;

void js_object_init(js_object *object, napi_env env);
void js_object_set(js_object *object, const char *key, napi_value value);
void js_object_number(js_object *object, const char *key, double value);
void js_object_string(js_object *object, const char *key, const char *value); /* NULL -> null */
void js_object_bool(js_object *object, const char *key, int value);
napi_status js_object_done(js_object *object, napi_value *result);

#endif
