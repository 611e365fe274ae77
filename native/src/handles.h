#ifndef FERRY_HANDLES_H
#define FERRY_HANDLES_H

#include <libvirt/libvirt.h>

/* The native state behind the JS Connection and Domain objects. Touched on the main thread
 * only: worker threads use references (virConnectRef / virDomainRef) taken when a call is
 * queued, so closing a handle never pulls a pointer from under a running call. */

typedef struct dom_handle dom_handle;

typedef struct {
  virConnectPtr conn;  /* NULL once closed */
  unsigned int refs;   /* the JS object, each dom_handle and each queued call */
  dom_handle *domains; /* domain handles obtained through this connection */
} conn_handle;

struct dom_handle {
  virDomainPtr dom; /* NULL once closed, or once its connection was closed */
  conn_handle *owner;
  dom_handle *prev;
  dom_handle *next;
};

conn_handle *conn_handle_new(virConnectPtr conn);
void conn_handle_retain(conn_handle *handle);
void conn_handle_release(conn_handle *handle);

/* Explicit close: frees the domain handles' pointers and hands over the connection reference
 * (NULL if already closed), which the caller closes off the main thread. */
virConnectPtr conn_handle_take(conn_handle *handle);

/* The JS object was collected: drop its connection reference. Domain handles stay usable,
 * since each libvirt domain object keeps its connection alive. */
void conn_handle_finalize(conn_handle *handle);

dom_handle *dom_handle_new(conn_handle *owner, virDomainPtr dom);

/* Explicit close: hands over the domain reference (NULL if already closed). */
virDomainPtr dom_handle_take(dom_handle *handle);

/* The JS object was collected. */
void dom_handle_finalize(dom_handle *handle);

#endif
