#include "runtime.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>

#include "threads.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int outcome = -1;

static void ignore_error(void *data, virErrorPtr error) {
  (void)data;
  (void)error;
}

static void *run_event_loop(void *arg) {
  (void)arg;
  for (;;) virEventRunDefaultImpl();
  return NULL;
}

static void start(void) {
  if (virInitialize() < 0) return;
  virSetErrorFunc(NULL, ignore_error);
  if (virEventRegisterDefaultImpl() < 0) return;
  if (thread_spawn_detached(run_event_loop, NULL) < 0) return;
  outcome = 0;
}

int runtime_start(void) {
  pthread_once(&once, start);
  return outcome;
}
