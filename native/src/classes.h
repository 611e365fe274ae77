#ifndef FERRY_CLASSES_H
#define FERRY_CLASSES_H

#include <libvirt/libvirt.h>
#include <node_api.h>

#include "handles.h"
#include "op.h"

/* The JS classes wrapping connections and domains, and the method tables their files provide. */

#define METHOD(js_name, fn) {js_name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}

typedef struct {
  const napi_property_descriptor *methods;
  size_t count;
} method_table;

extern const method_table connection_methods;
extern const method_table connection_info_methods;
extern const method_table connection_domain_methods;
extern const method_table domain_methods;
extern const method_table domain_lifecycle_methods;
extern const method_table domain_migration_methods;

napi_status connection_define(napi_env env, napi_value *cls);
napi_status domain_define(napi_env env, napi_value *cls);

/* Defines a class from method tables. */
napi_status class_define(napi_env env, const char *name, napi_callback constructor,
                         const method_table *const *tables, size_t ntables, napi_value *cls);

/* The body of both constructors: wraps `this` around the handle passed as a napi_external, the
 * only argument they accept (JS cannot make one, so JS cannot construct them). */
napi_value class_construct(napi_env env, napi_callback_info info, napi_finalize finalize,
                           const char *misuse);

/* new cls(external(handle)); on failure the handle is not wrapped and stays the caller's. */
napi_status class_instantiate(napi_env env, napi_ref cls, void *handle, napi_value *result);

/* open(uri, flags): Promise<Connection>. */
napi_value connection_open(napi_env env, napi_callback_info info);

/* Methods whose only (optional) argument is a flags word, or that take none (with_flags 0). */
napi_value connection_call(napi_env env, napi_callback_info info, const char *name,
                           op_exec_fn exec, op_result_fn result, int with_flags);
napi_value domain_call(napi_env env, napi_callback_info info, const char *name, op_exec_fn exec,
                       op_result_fn result, int with_flags);

/* op_result_fn turning out.dom into a Domain attached to o->owner (or rejecting when that
 * connection was closed meanwhile). */
napi_status domain_result(napi_env env, op *o, napi_value *result);

#endif
