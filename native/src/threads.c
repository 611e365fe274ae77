#include "threads.h"

#include <pthread.h>
#include <signal.h>

int thread_spawn_detached(void *(*run)(void *), void *arg) {
  pthread_attr_t attr;
  pthread_t thread;
  sigset_t all, previous;
  int rc;

  if (pthread_attr_init(&attr) != 0) return -1;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  rc = pthread_create(&thread, &attr, run, arg);
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  pthread_attr_destroy(&attr);
  return rc == 0 ? 0 : -1;
}
