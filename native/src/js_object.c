#include "js_object.h"

void js_object_init(js_object *object, napi_env env) {
  object->env = env;
  object->status = napi_create_object(env, &object->value);
}

void js_object_set(js_object *object, const char *key, napi_value value) {
  if (object->status == napi_ok)
    object->status = napi_set_named_property(object->env, object->value, key, value);
}

void js_object_number(js_object *object, const char *key, double value) {
  napi_value number;

  if (object->status != napi_ok) return;
  object->status = napi_create_double(object->env, value, &number);
  js_object_set(object, key, number);
}

void js_object_string(js_object *object, const char *key, const char *value) {
  napi_value string;

  if (object->status != napi_ok) return;
  object->status = value ? napi_create_string_utf8(object->env, value, NAPI_AUTO_LENGTH, &string)
                         : napi_get_null(object->env, &string);
  js_object_set(object, key, string);
}

void js_object_bool(js_object *object, const char *key, int value) {
  napi_value boolean;

  if (object->status != napi_ok) return;
  object->status = napi_get_boolean(object->env, value != 0, &boolean);
  js_object_set(object, key, boolean);
}

napi_status js_object_done(js_object *object, napi_value *result) {
  if (object->status == napi_ok) *result = object->value;
  return object->status;
}
