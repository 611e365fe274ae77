#include "handles.h"

#include <stdlib.h>

conn_handle *conn_handle_new(virConnectPtr conn) {
  conn_handle *handle = calloc(1, sizeof *handle);

  if (handle) {
    handle->conn = conn;
    handle->refs = 1;
  }
  return handle;
}

void conn_handle_retain(conn_handle *handle) { handle->refs++; }

void conn_handle_release(conn_handle *handle) {
  if (--handle->refs == 0) free(handle);
}

virConnectPtr conn_handle_take(conn_handle *handle) {
  virConnectPtr conn = handle->conn;

  for (dom_handle *d = handle->domains; d; d = d->next) {
    if (d->dom) virDomainFree(d->dom);
    d->dom = NULL;
  }
  handle->conn = NULL;
  return conn;
}

void conn_handle_finalize(conn_handle *handle) {
  if (handle->conn) virConnectClose(handle->conn);
  handle->conn = NULL;
  conn_handle_release(handle);
}

dom_handle *dom_handle_new(conn_handle *owner, virDomainPtr dom) {
  dom_handle *handle = calloc(1, sizeof *handle);

  if (!handle) return NULL;
  handle->dom = dom;
  handle->owner = owner;
  handle->next = owner->domains;
  if (owner->domains) owner->domains->prev = handle;
  owner->domains = handle;
  conn_handle_retain(owner);
  return handle;
}

virDomainPtr dom_handle_take(dom_handle *handle) {
  virDomainPtr dom = handle->dom;

  handle->dom = NULL;
  return dom;
}

void dom_handle_finalize(dom_handle *handle) {
  conn_handle *owner = handle->owner;

  if (handle->dom) virDomainFree(handle->dom);
  if (handle->prev)
    handle->prev->next = handle->next;
  else
    owner->domains = handle->next;
  if (handle->next) handle->next->prev = handle->prev;
  free(handle);
  conn_handle_release(owner);
}
