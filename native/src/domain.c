#include <libvirt/virterror.h>

#include "addon.h"
#include "args.h"
#include "classes.h"

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  dom_handle_finalize(data);
}

static napi_value construct(napi_env env, napi_callback_info info) {
  return class_construct(env, info, finalize, "Domain objects are made by Connection methods");
}

/* virDomainFree only fails on an invalid pointer, which a handle never holds. */
static int exec_free(op *o) {
  if (o->dom) virDomainFree(o->dom);
  o->dom = NULL;
  return 0;
}

/* Drops a domain reference on a worker thread: it may be the last one keeping a remote
 * connection open, and closing that is a network round trip. Nothing waits for the outcome. */
static void free_in_background(napi_env env, virDomainPtr dom) {
  op *o = op_new("virDomainFree", exec_free, NULL);

  if (!o) {
    virDomainFree(dom);
    return;
  }
  o->dom = dom;
  op_run(env, o);
}

napi_status domain_result(napi_env env, op *o, napi_value *result) {
  virDomainPtr dom = o->out.dom;
  dom_handle *handle;
  napi_status status;

  if (!o->owner->conn) {
    free_in_background(env, dom);
    lv_error_set(&o->error, VIR_ERR_INVALID_CONN, "connection closed during the call");
    return napi_get_undefined(env, result);
  }
  handle = dom_handle_new(o->owner, dom);
  if (!handle) {
    virDomainFree(dom);
    return napi_generic_failure;
  }
  status = class_instantiate(env, addon_state_get(env)->domain_class, handle, result);
  if (status != napi_ok) dom_handle_finalize(handle);
  return status;
}

napi_value domain_call(napi_env env, napi_callback_info info, const char *name, op_exec_fn exec,
                       op_result_fn result, int with_flags) {
  napi_value argv[1];
  dom_handle *handle;
  op *o;

  if (args_read(env, info, 1, argv, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new(name, exec, result);
  if (o && with_flags && arg_flags(env, argv[0], &o->flags) < 0) {
    return op_fail(env, o);
  }
  return op_on_domain(env, o, handle);
}

/* close(): Promise<void>. Idempotent. */
static napi_value close_domain(napi_env env, napi_callback_info info) {
  dom_handle *handle;
  op *o;

  if (args_read(env, info, 0, NULL, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new("virDomainFree", exec_free, NULL);
  if (o) o->dom = dom_handle_take(handle);
  return op_run(env, o);
}

/* The synchronous getters read what libvirt cached in the domain object at lookup time. */
static virDomainPtr open_domain(napi_env env, napi_callback_info info) {
  dom_handle *handle;
  lv_error error = {0, 0, NULL};
  napi_value value;

  if (args_read(env, info, 0, NULL, (void **)&handle) < 0) return NULL;
  if (handle->dom) return handle->dom;
  lv_error_set(&error, VIR_ERR_INVALID_DOMAIN, "domain handle is closed");
  value = lv_error_to_js(env, &error);
  lv_error_clear(&error);
  if (value) napi_throw(env, value);
  return NULL;
}

static napi_value get_name(napi_env env, napi_callback_info info) {
  virDomainPtr dom = open_domain(env, info);
  const char *name = dom ? virDomainGetName(dom) : NULL;
  napi_value result;

  if (!dom) return NULL;
  if (!name) return lv_error_throw_last(env);
  return napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &result) == napi_ok ? result : NULL;
}

static napi_value get_uuid_string(napi_env env, napi_callback_info info) {
  virDomainPtr dom = open_domain(env, info);
  char uuid[VIR_UUID_STRING_BUFLEN];
  napi_value result;

  if (!dom) return NULL;
  if (virDomainGetUUIDString(dom, uuid) < 0) return lv_error_throw_last(env);
  return napi_create_string_utf8(env, uuid, NAPI_AUTO_LENGTH, &result) == napi_ok ? result : NULL;
}

/* getID(): number, or null for a domain that was inactive when looked up. */
static napi_value get_id(napi_env env, napi_callback_info info) {
  virDomainPtr dom = open_domain(env, info);
  unsigned int id;
  napi_value result;

  if (!dom) return NULL;
  id = virDomainGetID(dom);
  if (id == (unsigned int)-1)
    return napi_get_null(env, &result) == napi_ok ? result : NULL;
  return napi_create_uint32(env, id, &result) == napi_ok ? result : NULL;
}

static const napi_property_descriptor methods[] = {
    METHOD("close", close_domain),
    METHOD("getName", get_name),
    METHOD("getUUIDString", get_uuid_string),
    METHOD("getID", get_id),
};

const method_table domain_methods = {methods, sizeof methods / sizeof methods[0]};

napi_status domain_define(napi_env env, napi_value *cls) {
  static const method_table *const tables[] = {&domain_methods, &domain_lifecycle_methods,
                                               &domain_migration_methods};

  return class_define(env, "Domain", construct, tables, sizeof tables / sizeof tables[0], cls);
}
