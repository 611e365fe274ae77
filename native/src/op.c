#include "op.h"

#include <libvirt/virterror.h>
#include <stdlib.h>

#include "threads.h"

op *op_new(const char *name, op_exec_fn exec, op_result_fn result) {
  op *o = calloc(1, sizeof *o);

  if (o) {
    o->name = name;
    o->exec = exec;
    o->result = result;
  }
  return o;
}

/* Frees everything but the owner reference; safe on any thread. */
static void op_free(op *o) {
  for (int i = 0; i < OP_STRINGS; i++) free(o->str[i]);
  if (o->params) virTypedParamsFree(o->params, o->nparams);
  if (o->dom) virDomainFree(o->dom);
  if (o->conn) virConnectClose(o->conn);
  lv_error_clear(&o->error);
  free(o);
}

void op_discard(op *o) {
  if (o->owner) conn_handle_release(o->owner);
  op_free(o);
}

static void op_execute(op *o) {
  if (o->exec(o) < 0 && !lv_error_is_set(&o->error)) lv_error_capture(&o->error);
  if (o->dom) virDomainFree(o->dom);
  o->dom = NULL;
  if (o->conn) virConnectClose(o->conn);
  o->conn = NULL;
}

static void reject(napi_env env, napi_deferred deferred, const lv_error *error) {
  napi_value reason = NULL, message;
  bool pending = false;

  if (lv_error_is_set(error)) reason = lv_error_to_js(env, error);
  if (!reason && napi_is_exception_pending(env, &pending) == napi_ok && pending)
    napi_get_and_clear_last_exception(env, &reason);
  if (!reason && napi_create_string_utf8(env, "native call failed", NAPI_AUTO_LENGTH,
                                         &message) == napi_ok)
    napi_create_error(env, NULL, message, &reason);
  napi_reject_deferred(env, deferred, reason);
}

napi_value op_fail(napi_env env, op *o) {
  napi_deferred deferred;
  napi_value promise, reason;

  if (o) op_discard(o);
  /* Creating the promise needs the exception cleared first. */
  if (napi_get_and_clear_last_exception(env, &reason) != napi_ok ||
      napi_create_promise(env, &deferred, &promise) != napi_ok)
    return NULL;
  napi_reject_deferred(env, deferred, reason);
  return promise;
}

static void op_settle(napi_env env, op *o) {
  napi_value value = NULL;
  napi_status status = napi_ok;

  if (!lv_error_is_set(&o->error))
    status = o->result ? o->result(env, o, &value) : napi_get_undefined(env, &value);
  if (status == napi_ok && !lv_error_is_set(&o->error))
    napi_resolve_deferred(env, o->deferred, value);
  else
    reject(env, o->deferred, &o->error);
  op_discard(o);
}

static void pool_execute(napi_env env, void *data) {
  (void)env;
  op_execute(data);
}

static void pool_complete(napi_env env, napi_status status, void *data) {
  op *o = data;
  napi_async_work work = o->work;

  if (status != napi_ok) lv_error_set(&o->error, VIR_ERR_OPERATION_ABORTED, "call cancelled");
  op_settle(env, o);
  napi_delete_async_work(env, work);
}

static int start_on_pool(napi_env env, op *o, napi_value name) {
  if (napi_create_async_work(env, NULL, name, pool_execute, pool_complete, o, &o->work) !=
      napi_ok)
    return -1;
  if (napi_queue_async_work(env, o->work) == napi_ok) return 0;
  napi_delete_async_work(env, o->work);
  return -1;
}

/* Main thread, or env NULL while the environment is torn down: the promise is gone then, and
 * only the native resources are freed (the owner reference is left, with its environment). */
static void thread_done(napi_env env, napi_value callback, void *context, void *data) {
  (void)callback;
  (void)context;
  if (env)
    op_settle(env, data);
  else
    op_free(data);
}

static void *thread_main(void *data) {
  op *o = data;
  napi_threadsafe_function tsfn = o->tsfn;

  op_execute(o);
  if (napi_call_threadsafe_function(tsfn, o, napi_tsfn_blocking) != napi_ok) op_free(o);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

static int start_on_thread(napi_env env, op *o, napi_value name) {
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, thread_done,
                                      &o->tsfn) != napi_ok)
    return -1;
  if (thread_spawn_detached(thread_main, o) == 0) return 0;
  napi_release_threadsafe_function(o->tsfn, napi_tsfn_abort);
  return -1;
}

static napi_value op_start(napi_env env, op *o, int (*start)(napi_env, op *, napi_value)) {
  napi_value promise, name;

  if (!o) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_create_promise(env, &o->deferred, &promise) != napi_ok) {
    op_discard(o);
    return NULL;
  }
  if (lv_error_is_set(&o->error)) { /* the handle was closed */
    op_settle(env, o);
    return promise;
  }
  /* Once started, the op belongs to the worker, which may be done with it already. */
  if (napi_create_string_utf8(env, o->name, NAPI_AUTO_LENGTH, &name) == napi_ok &&
      start(env, o, name) == 0)
    return promise;
  lv_error_set(&o->error, VIR_ERR_INTERNAL_ERROR, "could not start the native call");
  op_settle(env, o);
  return promise;
}

napi_value op_run(napi_env env, op *o) { return op_start(env, o, start_on_pool); }

static void bind_connection(op *o, conn_handle *handle) {
  if (!o) return;
  if (!handle->conn) {
    lv_error_set(&o->error, VIR_ERR_INVALID_CONN, "connection is closed");
    return;
  }
  o->conn = handle->conn;
  virConnectRef(o->conn);
  o->owner = handle;
  conn_handle_retain(handle);
}

static void bind_domain(op *o, dom_handle *handle) {
  if (!o) return;
  if (!handle->dom) {
    lv_error_set(&o->error, VIR_ERR_INVALID_DOMAIN,
                 "domain handle is closed (or the connection it came from is)");
    return;
  }
  o->dom = handle->dom;
  virDomainRef(o->dom);
  o->owner = handle->owner;
  conn_handle_retain(handle->owner);
}

napi_value op_on_connection(napi_env env, op *o, conn_handle *handle) {
  bind_connection(o, handle);
  return op_start(env, o, start_on_pool);
}

napi_value op_on_domain(napi_env env, op *o, dom_handle *handle) {
  bind_domain(o, handle);
  return op_start(env, o, start_on_pool);
}

napi_value op_on_domain_thread(napi_env env, op *o, dom_handle *handle) {
  bind_domain(o, handle);
  return op_start(env, o, start_on_thread);
}
