#include "classes.h"
#include "js_object.h"
#include "results.h"

static int exec_create(op *o) { return virDomainCreateWithFlags(o->dom, o->flags); }

static napi_value create_domain(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainCreateWithFlags", exec_create, NULL, 1);
}

static int exec_shutdown(op *o) { return virDomainShutdownFlags(o->dom, o->flags); }

static napi_value shutdown_domain(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainShutdownFlags", exec_shutdown, NULL, 1);
}

static int exec_destroy(op *o) { return virDomainDestroyFlags(o->dom, o->flags); }

static napi_value destroy_domain(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainDestroyFlags", exec_destroy, NULL, 1);
}

static int exec_undefine(op *o) { return virDomainUndefineFlags(o->dom, o->flags); }

static napi_value undefine_domain(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainUndefineFlags", exec_undefine, NULL, 1);
}

static int exec_suspend(op *o) { return virDomainSuspend(o->dom); }

static napi_value suspend_domain(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainSuspend", exec_suspend, NULL, 0);
}

static int exec_resume(op *o) { return virDomainResume(o->dom); }

static napi_value resume_domain(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainResume", exec_resume, NULL, 0);
}

static int exec_get_xml_desc(op *o) {
  o->out.text = virDomainGetXMLDesc(o->dom, o->flags);
  return o->out.text ? 0 : -1;
}

static napi_value get_xml_desc(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainGetXMLDesc", exec_get_xml_desc, result_text, 1);
}

static int exec_get_info(op *o) { return virDomainGetInfo(o->dom, &o->out.info); }

static napi_status result_info(napi_env env, op *o, napi_value *result) {
  const virDomainInfo *info = &o->out.info;
  js_object object;

  js_object_init(&object, env);
  js_object_number(&object, "state", info->state);
  js_object_number(&object, "maxMem", (double)info->maxMem);
  js_object_number(&object, "memory", (double)info->memory);
  js_object_number(&object, "nrVirtCpu", info->nrVirtCpu);
  js_object_number(&object, "cpuTime", (double)info->cpuTime);
  return js_object_done(&object, result);
}

static napi_value get_info(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainGetInfo", exec_get_info, result_info, 0);
}

static int exec_get_state(op *o) {
  return virDomainGetState(o->dom, &o->out.state.state, &o->out.state.reason, 0);
}

static napi_status result_state(napi_env env, op *o, napi_value *result) {
  js_object object;

  js_object_init(&object, env);
  js_object_number(&object, "state", o->out.state.state);
  js_object_number(&object, "reason", o->out.state.reason);
  return js_object_done(&object, result);
}

static napi_value get_state(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainGetState", exec_get_state, result_state, 0);
}

static int exec_is_active(op *o) {
  o->out.integer = virDomainIsActive(o->dom);
  return o->out.integer < 0 ? -1 : 0;
}

static napi_value is_active(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainIsActive", exec_is_active, result_bool, 0);
}

static int exec_is_persistent(op *o) {
  o->out.integer = virDomainIsPersistent(o->dom);
  return o->out.integer < 0 ? -1 : 0;
}

static napi_value is_persistent(napi_env env, napi_callback_info info) {
  return domain_call(env, info, "virDomainIsPersistent", exec_is_persistent, result_bool, 0);
}

static const napi_property_descriptor methods[] = {
    METHOD("create", create_domain),
    METHOD("shutdown", shutdown_domain),
    METHOD("destroy", destroy_domain),
    METHOD("undefine", undefine_domain),
    METHOD("suspend", suspend_domain),
    METHOD("resume", resume_domain),
    METHOD("getXMLDesc", get_xml_desc),
    METHOD("getInfo", get_info),
    METHOD("getState", get_state),
    METHOD("isActive", is_active),
    METHOD("isPersistent", is_persistent),
};

const method_table domain_lifecycle_methods = {methods, sizeof methods / sizeof methods[0]};
