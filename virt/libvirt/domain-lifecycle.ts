/**
 * Defining, starting, stopping and undefining a host's domains, for host activities. Each
 * operation accepts the state it is meant to reach already holding (a retried activity must not
 * fail on its own earlier success) and says which it was; every other failure rejects with
 * libvirt's LibvirtError, unchanged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DOMAIN_STATE, VIR_ERR, isLibvirtError } from './binding';
import type { HypervisorConnection as Connection, HypervisorDomain as Domain } from '../driver';

/** How a shutdown ended: the guest powered off, was destroyed at the timeout, or was off. */
export type ShutdownOutcome = 'graceful' | 'destroyed' | 'already-off';

export interface ShutdownOptions {
  /** Called at every look while waiting (an activity heartbeats there). */
  onWait?: () => void;
  /** How long the guest has to power off after the ACPI power button before it is destroyed. */
  timeoutMs: number;
}

/** How often shutdownDomain asks whether the guest has powered off. */
const SHUTDOWN_POLL_MS = 250;

/** Shut off, or gone: a transient domain disappears once it is off. */
async function isShutOff(domain: Domain): Promise<boolean> {
  try {
    return (await domain.getState()).state === DOMAIN_STATE.SHUTOFF;
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return true;
    throw error;
  }
}

/** Runs `action`: true when it ran, false when libvirt refused it because the domain is off. */
async function unlessShutOff(domain: Domain, action: () => Promise<void>): Promise<boolean> {
  try {
    await action();
    return true;
  } catch (error) {
    if (isLibvirtError(error) && (await isShutOff(domain).catch(() => false))) return false;
    throw error;
  }
}

/** Defines (or redefines, for the same name and UUID) a persistent domain from its XML. */
export function defineDomain(conn: Connection, xml: string): Promise<Domain> {
  return conn.defineXML(xml);
}

/** Starts a defined domain: true if this call started it, false if it was already running. */
export async function startDomain(domain: Domain): Promise<boolean> {
  try {
    await domain.create();
    return true;
  } catch (error) {
    if (isLibvirtError(error) && (await domain.isActive().catch(() => false))) return false;
    throw error;
  }
}

/** Pulls the plug: true if the domain was running, false if it was already off (or gone). */
export function destroyDomain(domain: Domain): Promise<boolean> {
  return unlessShutOff(domain, () => domain.destroy());
}

/**
 * Presses the guest's ACPI power button and waits for it to power off, asking every 250 ms;
 * destroys it once `timeoutMs` has passed. A guest without ACPI never reacts to the button.
 */
export async function shutdownDomain(
  domain: Domain,
  { timeoutMs, onWait }: ShutdownOptions,
): Promise<ShutdownOutcome> {
  if (!(await unlessShutOff(domain, () => domain.shutdown()))) return 'already-off';
  const deadline = Date.now() + timeoutMs;
  do {
    await sleep(Math.min(SHUTDOWN_POLL_MS, Math.max(0, deadline - Date.now())));
    if (await isShutOff(domain)) return 'graceful';
    onWait?.();
  } while (Date.now() < deadline);
  return (await destroyDomain(domain)) ? 'destroyed' : 'graceful';
}

/**
 * Removes the persistent definition of the domain with this UUID: true if there was one, false
 * if there was none (no such domain, or only a running transient one). A running domain keeps
 * running, transient, until it is destroyed.
 */
export async function undefineDomain(conn: Connection, uuid: string): Promise<boolean> {
  let domain: Domain;
  try {
    domain = await conn.lookupByUUIDString(uuid);
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return false;
    throw error;
  }
  try {
    await domain.undefine();
    return true;
  } catch (error) {
    if (isLibvirtError(error, VIR_ERR.NO_DOMAIN)) return false;
    if (isLibvirtError(error) && !(await domain.isPersistent().catch(() => true))) return false;
    throw error;
  } finally {
    await domain.close();
  }
}
