#ifndef FERRY_THREADS_H
#define FERRY_THREADS_H

/* Starts a detached native thread with every signal blocked (signals stay with Node's threads).
 * Returns 0 on success. */
int thread_spawn_detached(void *(*run)(void *), void *arg);

#endif
