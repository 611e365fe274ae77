#ifndef FERRY_ERRORS_H
#define FERRY_ERRORS_H

#include <node_api.h>

/* A libvirt error copied out of libvirt's thread-local storage, so that it can travel from the
 * worker thread where the call failed to the main thread that rejects the promise. */
typedef struct {
  int code;      /* virErrorNumber */
  int domain;    /* virErrorDomain */
  char *message; /* NULL while no error is recorded */
} lv_error;

/* Copies the calling thread's last libvirt error (or a generic one if libvirt reported none). */
void lv_error_capture(lv_error *error);

/* Records an error that did not come from libvirt itself, e.g. a call on a closed handle. */
void lv_error_set(lv_error *error, int code, const char *message);

int lv_error_is_set(const lv_error *error);

void lv_error_clear(lv_error *error);

/* Builds the JS error: an instance of the registered LibvirtError class (new C(message, code,
 * domain)), or a plain Error named LibvirtError; both carry `code` and `domain`. NULL with a
 * pending exception on failure. */
napi_value lv_error_to_js(napi_env env, const lv_error *error);

/* Throws the calling thread's last libvirt error synchronously. Returns NULL for convenience. */
napi_value lv_error_throw_last(napi_env env);

#endif
