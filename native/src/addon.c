#include "addon.h"

#include <stdlib.h>

#include "args.h"
#include "classes.h"
#include "constants.h"
#include "runtime.h"

addon_state *addon_state_get(napi_env env) {
  void *state = NULL;

  napi_get_instance_data(env, &state);
  return state;
}

static void free_state(napi_env env, void *data, void *hint) {
  addon_state *state = data;

  (void)hint;
  if (state->connection_class) napi_delete_reference(env, state->connection_class);
  if (state->domain_class) napi_delete_reference(env, state->domain_class);
  if (state->error_class) napi_delete_reference(env, state->error_class);
  free(state);
}

/* setErrorClass(cls): errors are then built with `new cls(message, code, domain)`. */
static napi_value set_error_class(napi_env env, napi_callback_info info) {
  addon_state *state = addon_state_get(env);
  napi_value argv[1];
  napi_valuetype type;
  napi_ref ref;

  if (args_read(env, info, 1, argv, NULL) < 0) return NULL;
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "the error class must be a constructor");
    return NULL;
  }
  if (napi_create_reference(env, argv[0], 1, &ref) != napi_ok) return NULL;
  if (state->error_class) napi_delete_reference(env, state->error_class);
  state->error_class = ref;
  return NULL;
}

static napi_status export_function(napi_env env, napi_value exports, const char *name,
                                   napi_callback fn) {
  napi_value value;
  napi_status status = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);

  return status == napi_ok ? napi_set_named_property(env, exports, name, value) : status;
}

static napi_status init(napi_env env, napi_value exports, addon_state *state) {
  napi_value connection, domain, constants;
  napi_status status;

  if ((status = connection_define(env, &connection)) != napi_ok ||
      (status = napi_create_reference(env, connection, 1, &state->connection_class)) != napi_ok ||
      (status = domain_define(env, &domain)) != napi_ok ||
      (status = napi_create_reference(env, domain, 1, &state->domain_class)) != napi_ok ||
      (status = constants_create(env, &constants)) != napi_ok ||
      (status = napi_set_named_property(env, exports, "constants", constants)) != napi_ok ||
      (status = export_function(env, exports, "open", connection_open)) != napi_ok)
    return status;
  return export_function(env, exports, "setErrorClass", set_error_class);
}

NAPI_MODULE_INIT() {
  addon_state *state;

  if (runtime_start() < 0) {
    napi_throw_error(env, NULL, "could not initialise libvirt and its event loop thread");
    return NULL;
  }
  state = calloc(1, sizeof *state);
  if (!state || napi_set_instance_data(env, state, free_state, NULL) != napi_ok) {
    free(state);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (init(env, exports, state) != napi_ok) {
    bool pending = false;

    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "could not define the libvirt binding");
    return NULL;
  }
  return exports;
}
