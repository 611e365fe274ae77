#ifndef FERRY_ARGS_H
#define FERRY_ARGS_H

#include <node_api.h>

/* Argument readers for the JS-facing methods. Each returns 0 on success, or -1 with a TypeError
 * pending (the method then returns NULL, so the JS call throws). */

/* Reads `argc` arguments (missing ones read as undefined) and, when `handle` is not NULL, the
 * native handle wrapped by `this`. */
int args_read(napi_env env, napi_callback_info info, size_t argc, napi_value *argv,
              void **handle);

/* A string, copied into a malloc'd buffer the caller frees. */
int arg_string(napi_env env, napi_value value, const char *what, char **out);

/* Like arg_string, but undefined and null give NULL. */
int arg_optional_string(napi_env env, napi_value value, const char *what, char **out);

/* A flags word: undefined gives 0, otherwise an integer in [0, 2^32). */
int arg_flags(napi_env env, napi_value value, unsigned int *out);

/* A non-negative safe integer (below 2^53). */
int arg_uint64(napi_env env, napi_value value, const char *what, unsigned long long *out);

/* An integer in the range of a C int. */
int arg_int(napi_env env, napi_value value, const char *what, int *out);

#endif
