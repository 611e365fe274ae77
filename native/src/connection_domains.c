#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "classes.h"
#include "js_object.h"

static void free_summaries(domain_summary *items, int count) {
  for (int i = 0; i < count; i++) free(items[i].name);
  free(items);
}

/* Copies what the list needs and frees the libvirt objects here, on the worker thread. */
static int exec_list_all_domains(op *o) {
  virDomainPtr *domains = NULL;
  int count = virConnectListAllDomains(o->conn, &domains, o->flags), failed = 0;
  domain_summary *items;

  if (count < 0) return -1;
  items = calloc(count > 0 ? count : 1, sizeof *items);
  for (int i = 0; i < count; i++) {
    if (items && !failed) {
      const char *name = virDomainGetName(domains[i]);

      items[i].name = name ? strdup(name) : NULL;
      items[i].id = virDomainGetID(domains[i]);
      items[i].active = items[i].id != (unsigned int)-1;
      failed = !items[i].name || virDomainGetUUIDString(domains[i], items[i].uuid) < 0;
    }
    virDomainFree(domains[i]);
  }
  free(domains);
  if (!items || failed) {
    if (items) free_summaries(items, count);
    lv_error_set(&o->error, VIR_ERR_NO_MEMORY, "out of memory listing domains");
    return -1;
  }
  o->out.domains.items = items;
  o->out.domains.count = count;
  return 0;
}

static napi_status result_domain_list(napi_env env, op *o, napi_value *result) {
  domain_summary *items = o->out.domains.items;
  int count = o->out.domains.count;
  napi_status status = napi_create_array_with_length(env, count, result);

  for (int i = 0; i < count && status == napi_ok; i++) {
    js_object entry;
    napi_value element;

    js_object_init(&entry, env);
    js_object_string(&entry, "name", items[i].name);
    js_object_string(&entry, "uuid", items[i].uuid);
    js_object_bool(&entry, "active", items[i].active);
    if (items[i].active)
      js_object_number(&entry, "id", items[i].id);
    else
      js_object_string(&entry, "id", NULL);
    status = js_object_done(&entry, &element);
    if (status == napi_ok) status = napi_set_element(env, *result, i, element);
  }
  free_summaries(items, count);
  return status;
}

/* listAllDomains(flags): Promise<{name, uuid, active, id}[]> (id null when inactive). */
static napi_value list_all_domains(napi_env env, napi_callback_info info) {
  return connection_call(env, info, "virConnectListAllDomains", exec_list_all_domains,
                         result_domain_list, 1);
}

/* A call taking one string and returning a new Domain. */
static napi_value domain_from_string(napi_env env, napi_callback_info info, const char *name,
                                     const char *what, op_exec_fn exec) {
  napi_value argv[1];
  conn_handle *handle;
  op *o;

  if (args_read(env, info, 1, argv, (void **)&handle) < 0) return op_fail(env, NULL);
  o = op_new(name, exec, domain_result);
  if (o && arg_string(env, argv[0], what, &o->str[0]) < 0) {
    return op_fail(env, o);
  }
  return op_on_connection(env, o, handle);
}

static int exec_lookup_by_name(op *o) {
  o->out.dom = virDomainLookupByName(o->conn, o->str[0]);
  return o->out.dom ? 0 : -1;
}

static napi_value lookup_by_name(napi_env env, napi_callback_info info) {
  return domain_from_string(env, info, "virDomainLookupByName", "name", exec_lookup_by_name);
}

static int exec_lookup_by_uuid_string(op *o) {
  o->out.dom = virDomainLookupByUUIDString(o->conn, o->str[0]);
  return o->out.dom ? 0 : -1;
}

static napi_value lookup_by_uuid_string(napi_env env, napi_callback_info info) {
  return domain_from_string(env, info, "virDomainLookupByUUIDString", "uuid",
                            exec_lookup_by_uuid_string);
}

static int exec_define_xml(op *o) {
  o->out.dom = virDomainDefineXML(o->conn, o->str[0]);
  return o->out.dom ? 0 : -1;
}

static napi_value define_xml(napi_env env, napi_callback_info info) {
  return domain_from_string(env, info, "virDomainDefineXML", "xml", exec_define_xml);
}

static const napi_property_descriptor methods[] = {
    METHOD("listAllDomains", list_all_domains),
    METHOD("lookupByName", lookup_by_name),
    METHOD("lookupByUUIDString", lookup_by_uuid_string),
    METHOD("defineXML", define_xml),
};

const method_table connection_domain_methods = {methods, sizeof methods / sizeof methods[0]};
