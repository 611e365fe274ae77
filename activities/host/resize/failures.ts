/**
 * Which failures of a resize step a retry cannot fix: those become non-retryable MigrationErrors
 * naming the step and the host; the rest (a daemon not answering, a peer not reachable) are thrown
 * as they are, for Temporal to retry.
 */
import { HostKeyMismatchError, InvalidHostPublicKeyError } from '../ssh';
import { InstancePathError } from '../../../virt/instance-paths';
import { VIR_ERR, isLibvirtError } from '../../../virt/libvirt/binding';
import { migrationFailure } from '../live-migration/failures';
import { QemuImgShrinkError } from '../../../virt/qemu-img';
import { DomainXmlError } from '../../../virt/libvirt/resize-xml';

const PERMANENT = [
  InstancePathError,
  DomainXmlError,
  QemuImgShrinkError,
  HostKeyMismatchError,
  InvalidHostPublicKeyError,
];

/** libvirt errors of the connection or the daemon, not of the request. */
const TRANSIENT_LIBVIRT: ReadonlySet<number> = new Set([
  VIR_ERR.NO_CONNECT,
  VIR_ERR.INVALID_CONN,
  VIR_ERR.RPC,
  VIR_ERR.SYSTEM_ERROR,
  VIR_ERR.OPERATION_TIMEOUT,
  VIR_ERR.AGENT_UNRESPONSIVE,
  VIR_ERR.RESOURCE_BUSY,
]);

/** The error to throw for `error`, raised by `step` (e.g. "finishResizeAtDestination on host2"). */
export function resizeFailure(error: unknown, step: string): unknown {
  const permanent =
    PERMANENT.some((type) => error instanceof type) ||
    (isLibvirtError(error) && !TRANSIENT_LIBVIRT.has(error.code));
  return permanent
    ? migrationFailure('MigrationError', `${step}: ${(error as Error).message}`)
    : error;
}
