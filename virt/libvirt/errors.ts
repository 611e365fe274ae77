/**
 * The one error type of the libvirt binding. The addon builds it itself (it is registered with
 * the addon when the binding loads), for libvirt's own errors and for calls on closed handles
 * alike: `code` is a virErrorNumber (see VIR_ERR), `domain` a virErrorDomain (see VIR_FROM),
 * `message` libvirt's message.
 */
export class LibvirtError extends Error {
  override readonly name = 'LibvirtError';

  constructor(
    message: string,
    readonly code: number,
    readonly domain: number,
  ) {
    super(message);
  }
}

/** True for a LibvirtError, and when `code` is given, one with that code. */
export function isLibvirtError(error: unknown, code?: number): error is LibvirtError {
  return error instanceof LibvirtError && (code === undefined || error.code === code);
}

/** virErrorNumber values ferry tells apart (libvirt-9.0 virterror.h; checked against the addon). */
export const VIR_ERR = {
  OK: 0,
  INTERNAL_ERROR: 1,
  NO_MEMORY: 2,
  NO_SUPPORT: 3,
  NO_CONNECT: 5,
  INVALID_CONN: 6,
  INVALID_DOMAIN: 7,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  XML_DETAIL: 35,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  SYSTEM_ERROR: 38,
  RPC: 39,
  NO_DOMAIN: 42,
  AUTH_FAILED: 45,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  MIGRATE_PERSIST_FAILED: 69,
  ARGUMENT_UNSUPPORTED: 74,
  OPERATION_ABORTED: 78,
  MIGRATE_UNSAFE: 81,
  OPERATION_UNSUPPORTED: 84,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  CPU_INCOMPATIBLE: 91,
} as const;

/** virErrorDomain values: which part of libvirt raised the error. */
export const VIR_FROM = {
  NONE: 0,
  RPC: 7,
  QEMU: 10,
  TEST: 12,
  REMOTE: 13,
} as const;
