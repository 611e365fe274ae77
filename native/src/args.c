#include "args.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_SAFE_INTEGER 9007199254740991.0

static int fail(napi_env env, const char *what, const char *expected) {
  char message[160];

  snprintf(message, sizeof message, "%s must be %s", what, expected);
  napi_throw_type_error(env, NULL, message);
  return -1;
}

int args_read(napi_env env, napi_callback_info info, size_t argc, napi_value *argv,
              void **handle) {
  napi_value self;

  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return -1;
  if (handle && (napi_unwrap(env, self, handle) != napi_ok || *handle == NULL)) {
    napi_throw_type_error(env, NULL, "method called on an object that is not a libvirt handle");
    return -1;
  }
  return 0;
}

int arg_string(napi_env env, napi_value value, const char *what, char **out) {
  napi_valuetype type;
  size_t length;

  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string)
    return fail(env, what, "a string");
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return -1;
  *out = malloc(length + 1);
  if (!*out) {
    napi_throw_error(env, NULL, "out of memory");
    return -1;
  }
  return napi_get_value_string_utf8(env, value, *out, length + 1, &length) == napi_ok ? 0 : -1;
}

int arg_optional_string(napi_env env, napi_value value, const char *what, char **out) {
  napi_valuetype type;

  if (napi_typeof(env, value, &type) != napi_ok) return -1;
  if (type == napi_undefined || type == napi_null) {
    *out = NULL;
    return 0;
  }
  return arg_string(env, value, what, out);
}

static int arg_integer(napi_env env, napi_value value, const char *what, const char *expected,
                       double min, double max, double *out) {
  napi_valuetype type;

  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, value, out) != napi_ok || *out != trunc(*out) || *out < min ||
      *out > max)
    return fail(env, what, expected);
  return 0;
}

int arg_flags(napi_env env, napi_value value, unsigned int *out) {
  napi_valuetype type;
  double number;

  if (napi_typeof(env, value, &type) != napi_ok) return -1;
  if (type == napi_undefined) {
    *out = 0;
    return 0;
  }
  if (arg_integer(env, value, "flags", "an integer in [0, 2^32)", 0, UINT_MAX, &number) < 0)
    return -1;
  *out = (unsigned int)number;
  return 0;
}

int arg_uint64(napi_env env, napi_value value, const char *what, unsigned long long *out) {
  double number;

  if (arg_integer(env, value, what, "a non-negative safe integer", 0, MAX_SAFE_INTEGER,
                  &number) < 0)
    return -1;
  *out = (unsigned long long)number;
  return 0;
}

int arg_int(napi_env env, napi_value value, const char *what, int *out) {
  double number;

  if (arg_integer(env, value, what, "a 32-bit integer", INT_MIN, INT_MAX, &number) < 0) return -1;
  *out = (int)number;
  return 0;
}
