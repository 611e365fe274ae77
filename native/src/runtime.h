#ifndef FERRY_RUNTIME_H
#define FERRY_RUNTIME_H

/* Process-wide libvirt setup, done once whatever the number of Node environments loading the
 * addon: virInitialize, silence libvirt's default error printer (errors are reported to JS
 * instead), register the default event implementation and start the native thread that runs it
 * (keepalive and connection-close detection need it). Returns 0 on success. */
int runtime_start(void);

#endif
