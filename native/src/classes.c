#include "classes.h"

#define MAX_METHODS 64

napi_status class_define(napi_env env, const char *name, napi_callback constructor,
                         const method_table *const *tables, size_t ntables, napi_value *cls) {
  napi_property_descriptor all[MAX_METHODS];
  size_t count = 0;

  for (size_t t = 0; t < ntables; t++)
    for (size_t i = 0; i < tables[t]->count; i++) {
      if (count == MAX_METHODS) return napi_generic_failure;
      all[count++] = tables[t]->methods[i];
    }
  return napi_define_class(env, name, NAPI_AUTO_LENGTH, constructor, NULL, count, all, cls);
}

napi_value class_construct(napi_env env, napi_callback_info info, napi_finalize finalize,
                           const char *misuse) {
  size_t argc = 1;
  napi_value argv[1], self;
  napi_valuetype type;
  void *handle;

  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
  if (argc != 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_external) {
    napi_throw_type_error(env, NULL, misuse);
    return NULL;
  }
  if (napi_get_value_external(env, argv[0], &handle) != napi_ok ||
      napi_wrap(env, self, handle, finalize, NULL, NULL) != napi_ok)
    return NULL;
  return self;
}

napi_status class_instantiate(napi_env env, napi_ref cls, void *handle, napi_value *result) {
  napi_value constructor, external;
  napi_status status = napi_get_reference_value(env, cls, &constructor);

  if (status == napi_ok) status = napi_create_external(env, handle, NULL, NULL, &external);
  if (status == napi_ok) status = napi_new_instance(env, constructor, 1, &external, result);
  return status;
}
