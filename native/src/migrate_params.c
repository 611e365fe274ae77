#include "migrate_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "errors.h"

typedef enum { KIND_STRING, KIND_STRING_LIST, KIND_ULLONG, KIND_INT } param_kind;

typedef struct {
  const char *key;
  const char *field;
  param_kind kind;
} param_spec;

static const param_spec specs[] = {
    {"migrateUri", VIR_MIGRATE_PARAM_URI, KIND_STRING},
    {"destinationName", VIR_MIGRATE_PARAM_DEST_NAME, KIND_STRING},
    {"destinationXml", VIR_MIGRATE_PARAM_DEST_XML, KIND_STRING},
    {"persistentXml", VIR_MIGRATE_PARAM_PERSIST_XML, KIND_STRING},
    {"bandwidthMiBs", VIR_MIGRATE_PARAM_BANDWIDTH, KIND_ULLONG},
    {"bandwidthPostcopyMiBs", VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY, KIND_ULLONG},
    {"migrateDisks", VIR_MIGRATE_PARAM_MIGRATE_DISKS, KIND_STRING_LIST},
    {"autoConvergeInitial", VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL, KIND_INT},
    {"autoConvergeIncrement", VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT, KIND_INT},
    {"parallelConnections", VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, KIND_INT},
};

#define SPEC_COUNT (sizeof specs / sizeof specs[0])

typedef struct {
  virTypedParameterPtr list;
  int count;
  int max;
} param_list;

/* The typed-parameter helpers fail only on allocation or an invalid field; report as thrown. */
static int added(napi_env env, int rc) {
  if (rc == 0) return 0;
  lv_error_throw_last(env);
  return -1;
}

static int add_string_list(napi_env env, napi_value array, const char *what, const char *field,
                           param_list *params) {
  bool is_array;
  uint32_t length;
  char **strings;
  int rc = -1;

  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, array, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "migrateDisks must be an array of strings");
    return -1;
  }
  strings = calloc(length + 1, sizeof *strings);
  if (!strings) {
    napi_throw_error(env, NULL, "out of memory");
    return -1;
  }
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;

    if (napi_get_element(env, array, i, &element) != napi_ok ||
        arg_string(env, element, what, &strings[i]) < 0)
      goto done;
  }
  rc = added(env, virTypedParamsAddStringList(&params->list, &params->count, &params->max, field,
                                              (const char **)strings));
done:
  for (uint32_t i = 0; i < length; i++) free(strings[i]);
  free(strings);
  return rc;
}

static int add_param(napi_env env, const param_spec *spec, napi_value value,
                     param_list *params) {
  char *text;
  unsigned long long ullong;
  int integer, rc;

  switch (spec->kind) {
  case KIND_STRING:
    if (arg_string(env, value, spec->key, &text) < 0) return -1;
    rc = virTypedParamsAddString(&params->list, &params->count, &params->max, spec->field, text);
    free(text);
    return added(env, rc);
  case KIND_STRING_LIST:
    return add_string_list(env, value, spec->key, spec->field, params);
  case KIND_ULLONG:
    if (arg_uint64(env, value, spec->key, &ullong) < 0) return -1;
    return added(env, virTypedParamsAddULLong(&params->list, &params->count, &params->max,
                                              spec->field, ullong));
  case KIND_INT:
    if (arg_int(env, value, spec->key, &integer) < 0) return -1;
    return added(env, virTypedParamsAddInt(&params->list, &params->count, &params->max,
                                           spec->field, integer));
  }
  return -1;
}

static const param_spec *find_spec(const char *key) {
  for (size_t i = 0; i < SPEC_COUNT; i++)
    if (strcmp(specs[i].key, key) == 0) return &specs[i];
  return NULL;
}

static int add_field(napi_env env, napi_value object, napi_value name, param_list *params) {
  char key[64], message[128];
  size_t length;
  const param_spec *spec;
  napi_value value;
  napi_valuetype type;

  if (napi_get_value_string_utf8(env, name, key, sizeof key, &length) != napi_ok) return -1;
  spec = find_spec(key);
  if (!spec) {
    snprintf(message, sizeof message, "unknown migration parameter '%s'", key);
    napi_throw_type_error(env, NULL, message);
    return -1;
  }
  if (napi_get_property(env, object, name, &value) != napi_ok ||
      napi_typeof(env, value, &type) != napi_ok)
    return -1;
  return type == napi_undefined ? 0 : add_param(env, spec, value, params);
}

int migrate_params_from_js(napi_env env, napi_value object, virTypedParameterPtr *result,
                           int *count) {
  param_list params = {NULL, 0, 0};
  napi_valuetype type;
  napi_value names;
  uint32_t length;

  *result = NULL;
  *count = 0;
  if (napi_typeof(env, object, &type) != napi_ok) return -1;
  if (type == napi_undefined || type == napi_null) return 0;
  if (type != napi_object) {
    napi_throw_type_error(env, NULL, "migration parameters must be an object");
    return -1;
  }
  if (napi_get_all_property_names(env, object, napi_key_own_only,
                                  napi_key_enumerable | napi_key_skip_symbols,
                                  napi_key_numbers_to_strings, &names) != napi_ok ||
      napi_get_array_length(env, names, &length) != napi_ok)
    return -1;
  for (uint32_t i = 0; i < length; i++) {
    napi_value name;

    if (napi_get_element(env, names, i, &name) != napi_ok ||
        add_field(env, object, name, &params) < 0) {
      virTypedParamsFree(params.list, params.count);
      return -1;
    }
  }
  *result = params.list;
  *count = params.count;
  return 0;
}
