/**
 * The hypervisor driver interface the host activities run on (docs/sim-driver.md): the part of
 * libvirt's connection and domain API they call, in libvirt's own vocabulary (DOMAIN_STATE,
 * JOB_TYPE, MIGRATE flags, LibvirtError codes), so that the libvirt binding implements it as it
 * is and the simulated driver (virt/sim) answers as libvirt would.
 */
import type { Connection, Domain } from './libvirt/binding';

/** A domain handle: calls on a domain that has gone reject with VIR_ERR.NO_DOMAIN. */
export type HypervisorDomain = Pick<
  Domain,
  | 'close'
  | 'getName'
  | 'getUUIDString'
  | 'create'
  | 'shutdown'
  | 'destroy'
  | 'undefine'
  | 'suspend'
  | 'resume'
  | 'getXMLDesc'
  | 'getInfo'
  | 'getState'
  | 'isActive'
  | 'isPersistent'
  | 'migrateToURI3'
  | 'getJobStats'
  | 'abortJob'
  | 'migrateSetMaxDowntime'
  | 'migrateStartPostCopy'
>;

/** A connection to one host's hypervisor; lookups of a missing domain reject with NO_DOMAIN. */
export interface HypervisorConnection extends Pick<
  Connection,
  'close' | 'getType' | 'getVersion' | 'getCapabilities' | 'nodeGetInfo' | 'compareHypervisorCPU'
> {
  lookupByName(name: string): Promise<HypervisorDomain>;
  lookupByUUIDString(uuid: string): Promise<HypervisorDomain>;
  defineXML(xml: string): Promise<HypervisorDomain>;
}

/** A hypervisor driver: opens connections by URI (this host's, or a migration peer's). */
export interface Hypervisor {
  /** A connection of the caller's own, which it closes. */
  openConnection(uri: string): Promise<HypervisorConnection>;
  /**
   * Runs `fn` on a connection to `uri`: a fresh one, closed afterwards whatever `fn` did, or one
   * the driver keeps (activities/host/kept-connection.ts). `fn` never closes it.
   */
  withConnection<T>(uri: string, fn: (conn: HypervisorConnection) => Promise<T>): Promise<T>;
}
