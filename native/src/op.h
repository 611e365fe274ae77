#ifndef FERRY_OP_H
#define FERRY_OP_H

#include <libvirt/libvirt.h>
#include <node_api.h>

#include "errors.h"
#include "handles.h"

/* One asynchronous libvirt call behind a Promise: `exec` runs off the main thread, then
 * `result` turns its output into a JS value on the main thread (or the captured libvirt error
 * rejects the promise). */

typedef struct op op;

/* Worker thread. o->conn / o->dom hold references for the duration of the call and are released
 * right after it, still on the worker thread (releasing the last reference of a remote
 * connection is a network round trip). Returns -1 when libvirt failed; the error is captured. */
typedef int (*op_exec_fn)(op *o);

/* Main thread, only after exec succeeded. Must free whatever exec left in o->out. May record an
 * error in o->error to reject instead of resolving. */
typedef napi_status (*op_result_fn)(napi_env env, op *o, napi_value *result);

#define OP_STRINGS 5

typedef struct {
  char *name;
  char uuid[VIR_UUID_STRING_BUFLEN];
  int active;
  unsigned int id;
} domain_summary;

struct op {
  const char *name;
  op_exec_fn exec;
  op_result_fn result; /* NULL resolves with undefined */
  virConnectPtr conn;
  virDomainPtr dom;
  conn_handle *owner; /* connection whose domains a result may be attached to */

  /* Inputs, freed with the op. */
  char *str[OP_STRINGS];
  unsigned int flags;
  unsigned long long number;
  virTypedParameterPtr params;
  int nparams;

  /* Output of exec, consumed by result. */
  union {
    int integer;
    unsigned long ulong;
    unsigned long long ullong;
    char *text;
    const char *static_text;
    virConnectPtr conn;
    virDomainPtr dom;
    virNodeInfo node;
    virDomainInfo info;
    virDomainJobInfo job;
    struct {
      int state;
      int reason;
    } state;
    struct {
      domain_summary *items;
      int count;
    } domains;
    struct {
      int type;
      virTypedParameterPtr list;
      int count;
    } stats;
  } out;

  lv_error error;
  napi_deferred deferred;
  napi_async_work work;
  napi_threadsafe_function tsfn;
};

/* NULL when out of memory; the op_on_* functions then throw. */
op *op_new(const char *name, op_exec_fn exec, op_result_fn result);

/* Frees an op that was not started. */
void op_discard(op *o);

/* For a method whose arguments were invalid: discards `o` (may be NULL) and returns a promise
 * rejected with the pending exception, so that every promise-returning method reports argument
 * errors the way it reports libvirt's. */
napi_value op_fail(napi_env env, op *o);

/* Start the call on the libuv thread pool and return its promise (NULL with an exception
 * pending if even that failed). A closed handle gives a promise rejected with VIR_ERR_INVALID_CONN
 * or VIR_ERR_INVALID_DOMAIN. op_run uses whatever o->conn / o->dom already hold. */
napi_value op_run(napi_env env, op *o);
napi_value op_on_connection(napi_env env, op *o, conn_handle *handle);
napi_value op_on_domain(napi_env env, op *o, dom_handle *handle);

/* Like op_on_domain, but on a dedicated native thread: for calls that last as long as a
 * migration, which must not hold one of the libuv pool's few threads. */
napi_value op_on_domain_thread(napi_env env, op *o, dom_handle *handle);

#endif
