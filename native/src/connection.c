#include <stdlib.h>

#include "addon.h"
#include "args.h"
#include "classes.h"

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  conn_handle_finalize(data);
}

static napi_value construct(napi_env env, napi_callback_info info) {
  return class_construct(env, info, finalize, "Connection objects are made by open()");
}

/* Wraps a freshly opened connection; on failure the connection is closed here. */
static napi_status connection_wrap(napi_env env, virConnectPtr conn, napi_value *result) {
  conn_handle *handle = conn_handle_new(conn);
  napi_status status =
      handle ? class_instantiate(env, addon_state_get(env)->connection_class, handle, result)
             : napi_generic_failure;

  if (status != napi_ok) {
    free(handle);
    virConnectClose(conn);
  }
  return status;
}

static int exec_open(op *o) {
  o->out.conn = virConnectOpenAuth(o->str[0], NULL, o->flags);
  return o->out.conn ? 0 : -1;
}

static napi_status result_connection(napi_env env, op *o, napi_value *result) {
  return connection_wrap(env, o->out.conn, result);
}

napi_value connection_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  op *o;

  if (args_read(env, info, 2, argv, NULL) < 0) return op_fail(env, NULL);
  o = op_new("virConnectOpenAuth", exec_open, result_connection);
  if (o && (arg_optional_string(env, argv[0], "uri", &o->str[0]) < 0 ||
            arg_flags(env, argv[1], &o->flags) < 0)) {
    return op_fail(env, o);
  }
  return op_run(env, o);
}

napi_value connection_call(napi_env env, napi_callback_info info, const char *name,
                           op_exec_fn exec, op_result_fn result, int with_flags) {
  napi_value argv[1];
  conn_handle *handle;
  op *o;

  if (args_read(env, info, 1, argv, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new(name, exec, result);
  if (o && with_flags && arg_flags(env, argv[0], &o->flags) < 0) {
    return op_fail(env, o);
  }
  return op_on_connection(env, o, handle);
}

static int exec_close(op *o) {
  int rc = o->conn ? virConnectClose(o->conn) : 0;

  o->conn = NULL;
  return rc < 0 ? -1 : 0;
}

/* close(): Promise<void>. Idempotent. Domain handles from this connection are closed too;
 * calls already running finish on their own references. */
static napi_value close_connection(napi_env env, napi_callback_info info) {
  conn_handle *handle;
  op *o;

  if (args_read(env, info, 0, NULL, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new("virConnectClose", exec_close, NULL);
  if (o) o->conn = conn_handle_take(handle);
  return op_run(env, o);
}

static const napi_property_descriptor methods[] = {
    METHOD("close", close_connection),
};

const method_table connection_methods = {methods, sizeof methods / sizeof methods[0]};

napi_status connection_define(napi_env env, napi_value *cls) {
  static const method_table *const tables[] = {&connection_methods, &connection_info_methods,
                                               &connection_domain_methods};

  return class_define(env, "Connection", construct, tables, sizeof tables / sizeof tables[0],
                      cls);
}
