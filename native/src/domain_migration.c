#include "args.h"
#include "classes.h"
#include "js_object.h"
#include "migrate_params.h"
#include "results.h"
#include "typed_params.h"

static int exec_migrate(op *o) {
  return virDomainMigrateToURI3(o->dom, o->str[0], o->params, (unsigned int)o->nparams, o->flags);
}

/* migrateToURI3(dconnuri, params, flags): Promise<void>. Runs on its own native thread for the
 * whole migration. dconnuri may be null when the flags do not include VIR_MIGRATE_PEER2PEER. */
static napi_value migrate_to_uri3(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  dom_handle *handle;
  op *o;

  if (args_read(env, info, 3, argv, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new("virDomainMigrateToURI3", exec_migrate, NULL);
  if (o && (arg_optional_string(env, argv[0], "dconnuri", &o->str[0]) < 0 ||
            migrate_params_from_js(env, argv[1], &o->params, &o->nparams) < 0 ||
            arg_flags(env, argv[2], &o->flags) < 0)) {
    return op_fail(env, o);
  }
  return op_on_domain_thread(env, o, handle);
}

static int exec_get_job_stats(op *o) {
  return virDomainGetJobStats(o->dom, &o->out.stats.type, &o->out.stats.list,
                              &o->out.stats.count, o->flags);
}

static napi_status result_job_stats(napi_env env, op *o, napi_value *result) {
  js_object object;
  napi_value params;
  napi_status status =
      typed_params_to_js(env, o->out.stats.list, o->out.stats.count, &params);

  virTypedParamsFree(o->out.stats.list, o->out.stats.count);
  o->out.stats.list = NULL;
  if (status != napi_ok) return status;
  js_object_init(&object, env);
  js_object_number(&object, "type", o->out.stats.type);
  js_object_set(&object, "params", params);
  return js_object_done(&object, result);
}

/* getJobStats(flags): Promise<{type, params}> with params keyed by VIR_DOMAIN_JOB_* names. */
static napi_value get_job_stats(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainGetJobStats", exec_get_job_stats, result_job_stats, 1);
}

static int exec_get_job_info(op *o) { return virDomainGetJobInfo(o->dom, &o->out.job); }

static napi_status result_job_info(napi_env env, op *o, napi_value *result) {
  const virDomainJobInfo *job = &o->out.job;
  js_object object;

  js_object_init(&object, env);
  js_object_number(&object, "type", job->type);
  js_object_number(&object, "timeElapsed", (double)job->timeElapsed);
  js_object_number(&object, "timeRemaining", (double)job->timeRemaining);
  js_object_number(&object, "dataTotal", (double)job->dataTotal);
  js_object_number(&object, "dataProcessed", (double)job->dataProcessed);
  js_object_number(&object, "dataRemaining", (double)job->dataRemaining);
  js_object_number(&object, "memTotal", (double)job->memTotal);
  js_object_number(&object, "memProcessed", (double)job->memProcessed);
  js_object_number(&object, "memRemaining", (double)job->memRemaining);
  js_object_number(&object, "fileTotal", (double)job->fileTotal);
  js_object_number(&object, "fileProcessed", (double)job->fileProcessed);
  js_object_number(&object, "fileRemaining", (double)job->fileRemaining);
  return js_object_done(&object, result);
}

static napi_value get_job_info(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainGetJobInfo", exec_get_job_info, result_job_info, 0);
}

static int exec_abort_job(op *o) { return virDomainAbortJobFlags(o->dom, o->flags); }

static napi_value abort_job(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainAbortJobFlags", exec_abort_job, NULL, 1);
}

static int exec_start_post_copy(op *o) { return virDomainMigrateStartPostCopy(o->dom, o->flags); }

static napi_value migrate_start_post_copy(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainMigrateStartPostCopy", exec_start_post_copy, NULL, 1);
}

/* A setter taking a number then flags. */
static napi_value set_number(napi_env env, napi_callback_info info, const char *name,
                             const char *what, op_exec_fn exec) {
  napi_value argv[2];
  dom_handle *handle;
  op *o;

  if (args_read(env, info, 2, argv, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new(name, exec, NULL);
  if (o && (arg_uint64(env, argv[0], what, &o->number) < 0 ||
            arg_flags(env, argv[1], &o->flags) < 0)) {
    return op_fail(env, o);
  }
  return op_on_domain(env, o, handle);
}

static int exec_set_max_downtime(op *o) {
  return virDomainMigrateSetMaxDowntime(o->dom, o->number, o->flags);
}

/* migrateSetMaxDowntime(ms, flags): Promise<void>. */
static napi_value migrate_set_max_downtime(napi_env env, napi_callback_info info) {
  return set_number(env, info, "virDomainMigrateSetMaxDowntime", "downtime",
                    exec_set_max_downtime);
}

static int exec_get_max_downtime(op *o) {
  return virDomainMigrateGetMaxDowntime(o->dom, &o->out.ullong, o->flags);
}

/* migrateGetMaxDowntime(flags): Promise<number> (ms). */
static napi_value migrate_get_max_downtime(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainMigrateGetMaxDowntime", exec_get_max_downtime,
                     result_ullong, 1);
}

static int exec_set_max_speed(op *o) {
  return virDomainMigrateSetMaxSpeed(o->dom, (unsigned long)o->number, o->flags);
}

/* migrateSetMaxSpeed(MiB/s, flags): Promise<void>. */
static napi_value migrate_set_max_speed(napi_env env, napi_callback_info info) {
  return set_number(env, info, "virDomainMigrateSetMaxSpeed", "bandwidth", exec_set_max_speed);
}

static int exec_get_max_speed(op *o) {
  return virDomainMigrateGetMaxSpeed(o->dom, &o->out.ulong, o->flags);
}

/* migrateGetMaxSpeed(flags): Promise<number> (MiB/s). */
static napi_value migrate_get_max_speed(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainMigrateGetMaxSpeed", exec_get_max_speed, result_ulong,
                     1);
}

static const napi_property_descriptor methods[] = {
    METHOD("migrateToURI3", migrate_to_uri3),
    METHOD("getJobStats", get_job_stats),
    METHOD("getJobInfo", get_job_info),
    METHOD("abortJob", abort_job),
    METHOD("migrateStartPostCopy", migrate_start_post_copy),
    METHOD("migrateSetMaxDowntime", migrate_set_max_downtime),
    METHOD("migrateGetMaxDowntime", migrate_get_max_downtime),
    METHOD("migrateSetMaxSpeed", migrate_set_max_speed),
    METHOD("migrateGetMaxSpeed", migrate_get_max_speed),
};

const method_table domain_migration_methods = {methods, sizeof methods / sizeof methods[0]};
