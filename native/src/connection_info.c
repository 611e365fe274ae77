#include <string.h>

#include "args.h"
#include "classes.h"
#include "js_object.h"
#include "results.h"

static int exec_get_type(op *o) {
  o->out.static_text = virConnectGetType(o->conn);
  return o->out.static_text ? 0 : -1;
}

static napi_value get_type(napi_env env, napi_callback_info info) {
  return connection_call(env, info, "virConnectGetType", exec_get_type, result_static_text, 0);
}

static int exec_get_version(op *o) { return virConnectGetVersion(o->conn, &o->out.ulong); }

static napi_value get_version(napi_env env, napi_callback_info info) {
  return connection_call(env, info, "virConnectGetVersion", exec_get_version, result_ulong, 0);
}

static int exec_get_lib_version(op *o) { return virConnectGetLibVersion(o->conn, &o->out.ulong); }

static napi_value get_lib_version(napi_env env, napi_callback_info info) {
  return connection_call(env, info, "virConnectGetLibVersion", exec_get_lib_version, result_ulong,
                         0);
}

static int exec_get_hostname(op *o) {
  o->out.text = virConnectGetHostname(o->conn);
  return o->out.text ? 0 : -1;
}

static napi_value get_hostname(napi_env env, napi_callback_info info) {
  return connection_call(env, info, "virConnectGetHostname", exec_get_hostname, result_text, 0);
}

static int exec_get_capabilities(op *o) {
  o->out.text = virConnectGetCapabilities(o->conn);
  return o->out.text ? 0 : -1;
}

static napi_value get_capabilities(napi_env env, napi_callback_info info) {
  return connection_call(env, info, "virConnectGetCapabilities", exec_get_capabilities,
                         result_text, 0);
}

static int exec_get_sysinfo(op *o) {
  o->out.text = virConnectGetSysinfo(o->conn, o->flags);
  return o->out.text ? 0 : -1;
}

static napi_value get_sysinfo(napi_env env, napi_callback_info info) {
  return connection_call(env, info, "virConnectGetSysinfo", exec_get_sysinfo, result_text, 1);
}

static int exec_node_get_info(op *o) { return virNodeGetInfo(o->conn, &o->out.node); }

static napi_status result_node_info(napi_env env, op *o, napi_value *result) {
  const virNodeInfo *node = &o->out.node;
  char model[sizeof node->model + 1];
  js_object object;

  memcpy(model, node->model, sizeof node->model);
  model[sizeof node->model] = '\0';
  js_object_init(&object, env);
  js_object_string(&object, "model", model);
  js_object_number(&object, "memory", (double)node->memory);
  js_object_number(&object, "cpus", node->cpus);
  js_object_number(&object, "mhz", node->mhz);
  js_object_number(&object, "nodes", node->nodes);
  js_object_number(&object, "sockets", node->sockets);
  js_object_number(&object, "cores", node->cores);
  js_object_number(&object, "threads", node->threads);
  return js_object_done(&object, result);
}

static napi_value node_get_info(napi_env env, napi_callback_info info) {
  return connection_call(env, info, "virNodeGetInfo", exec_node_get_info, result_node_info, 0);
}

static int exec_compare_cpu(op *o) {
  o->out.integer = virConnectCompareCPU(o->conn, o->str[0], o->flags);
  return o->out.integer == VIR_CPU_COMPARE_ERROR ? -1 : 0;
}

/* compareCPU(xml, flags): Promise<number> (a VIR_CPU_COMPARE_* value). */
static napi_value compare_cpu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  conn_handle *handle;
  op *o;

  if (args_read(env, info, 2, argv, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new("virConnectCompareCPU", exec_compare_cpu, result_int);
  if (o && (arg_string(env, argv[0], "xml", &o->str[0]) < 0 ||
            arg_flags(env, argv[1], &o->flags) < 0)) {
    return op_fail(env, o);
  }
  return op_on_connection(env, o, handle);
}

static int exec_compare_hypervisor_cpu(op *o) {
  o->out.integer = virConnectCompareHypervisorCPU(o->conn, o->str[1], o->str[2], o->str[3],
                                                  o->str[4], o->str[0], o->flags);
  return o->out.integer == VIR_CPU_COMPARE_ERROR ? -1 : 0;
}

static int read_hypervisor_options(napi_env env, napi_value options, op *o) {
  static const char *const keys[] = {"emulator", "arch", "machine", "virttype"};
  napi_valuetype type;
  napi_value value;

  if (napi_typeof(env, options, &type) != napi_ok) return -1;
  if (type == napi_undefined || type == napi_null) return 0;
  if (type != napi_object) {
    napi_throw_type_error(env, NULL, "options must be an object");
    return -1;
  }
  for (int i = 0; i < 4; i++)
    if (napi_get_named_property(env, options, keys[i], &value) != napi_ok ||
        arg_optional_string(env, value, keys[i], &o->str[i + 1]) < 0)
      return -1;
  return 0;
}

/* compareHypervisorCPU(xml, {emulator?, arch?, machine?, virttype?}, flags): Promise<number>. */
static napi_value compare_hypervisor_cpu(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  conn_handle *handle;
  op *o;

  if (args_read(env, info, 3, argv, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new("virConnectCompareHypervisorCPU", exec_compare_hypervisor_cpu, result_int);
  if (o && (arg_string(env, argv[0], "xml", &o->str[0]) < 0 ||
            read_hypervisor_options(env, argv[1], o) < 0 ||
            arg_flags(env, argv[2], &o->flags) < 0)) {
    return op_fail(env, o);
  }
  return op_on_connection(env, o, handle);
}

static const napi_property_descriptor methods[] = {
    METHOD("getType", get_type),
    METHOD("getVersion", get_version),
    METHOD("getLibVersion", get_lib_version),
    METHOD("getHostname", get_hostname),
    METHOD("getCapabilities", get_capabilities),
    METHOD("getSysinfo", get_sysinfo),
    METHOD("nodeGetInfo", node_get_info),
    METHOD("compareCPU", compare_cpu),
    METHOD("compareHypervisorCPU", compare_hypervisor_cpu),
};

const method_table connection_info_methods = {methods, sizeof methods / sizeof methods[0]};
