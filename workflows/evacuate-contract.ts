/**
 * The contract of the evacuate workflow (docs/evacuate.md): an instance of a host that is down
 * defined and started on another host from the definition ferry recorded, on the same disks. Its
 * input and state, and the activities it calls beside the shared ones (operation-types.ts).
 * Pure declarations, safe for workflow code.
 */
import type { OperationState } from './operation-types';

/**
 * Nova's migration statuses of an evacuation: accepted (recorded), pre-migrating (begun), done
 * (the instance runs on the destination), completed (its source has destroyed the stale domain
 * since), or failed (the instance left recorded on its source, nothing on the destination).
 */
export type EvacuationStatus = 'accepted' | 'pre-migrating' | 'done' | 'completed' | 'failed';

export interface EvacuateInput {
  migrationUuid: string;
  instanceUuid: string;
  instanceName: string;
  sourceHost: string;
  requestedHost: string | null;
  requestedBy: string;
}

/** The live status an evacuate workflow answers to its `status` query. */
export interface EvacuationState extends OperationState<EvacuationStatus> {
  operation: 'evacuation';
}

/** What the evacuation needs of the instance once it has begun, from the database. */
export interface EvacuationPlan {
  /** The persistent definition ferry last recorded for the instance. */
  domainXml: string;
  /** Its power state as recorded: started on the destination only if it was running. */
  wasRunning: boolean;
  /**
   * The source's libvirt URI, which the destination must find unreachable before anything is
   * defined there; null when the operator forced the source down (their word that it is fenced).
   */
  fenceUri: string | null;
}

/** A host agent's evacuation activities. They never touch a disk's content. */
export interface EvacuateHostActivities {
  /**
   * Destination, before anything is defined: refuses with ComputeServiceInUse when libvirt at
   * `fenceUri` still answers; with InvalidSharedStorage when a disk of `domainXml` is not a file
   * this host sees in its instances dir (ferry keeps no image to rebuild from); with
   * MigrationPreCheckError when the host already has a domain of the instance.
   */
  checkEvacuationDestination(request: {
    instanceUuid: string;
    fenceUri: string | null;
    domainXml: string;
  }): Promise<void>;

  /** Destination: defines the domain from `domainXml` and starts it when `start`. Idempotent. */
  defineEvacuatedInstance(request: {
    instanceUuid: string;
    domainXml: string;
    start: boolean;
  }): Promise<void>;

  /**
   * Destroys and undefines the instance's domain on this host, never touching its disks: the
   * destination's undo, and a returning source's stale definition. Idempotent.
   */
  destroyEvacuatedInstance(request: { instanceUuid: string }): Promise<{ found: boolean }>;
}

/** A returning source's domain of an instance that an evacuation moved away. */
export interface EvacuatedDomain {
  migrationUuid: string;
  instanceUuid: string;
  host: string;
}

/** The control activities only an evacuation calls. */
export interface EvacuateControlActivities {
  /**
   * Compare-and-set of the instance's task_state null → rebuilding when it is on the migration's
   * source, that host is down or forced down, it is not locked and a definition is recorded;
   * status pre-migrating, InstanceAction `evacuate` opened. Idempotent for the same migration.
   * Fails with InstanceInvalidState, InstanceLocked or ComputeServiceUnavailable (the host is up).
   */
  beginEvacuation(request: { migrationUuid: string; requestedBy: string }): Promise<EvacuationPlan>;

  /**
   * The instance is on `destHost` (task_state null), the migration done, its claims released, its
   * action finished, and the source disabled: it stays so until an operator enables it.
   * Idempotent.
   */
  finishEvacuation(request: { migrationUuid: string; destHost: string }): Promise<void>;

  /**
   * The evacuation failed: status failed with the reason, claims released, task_state cleared,
   * the instance left on its source. Idempotent; a finished evacuation is left as it is.
   */
  failEvacuation(request: { migrationUuid: string; error: string }): Promise<void>;

  /** The chosen destination on the Migration row, so it shows while the evacuation runs. */
  evacuationDestinationChosen(request: { migrationUuid: string; destHost: string }): Promise<void>;

  /** Done evacuations from `hosts` (which answer again) whose source has not been cleaned yet. */
  evacuatedDomains(request: { hosts: string[] }): Promise<EvacuatedDomain[]>;

  /** The source destroyed its stale domain: the evacuation is completed. Idempotent. */
  evacuationSourceCleaned(request: { migrationUuid: string }): Promise<void>;
}
