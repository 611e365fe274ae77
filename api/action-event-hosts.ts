/**
 * The host an instance action event happened on, as Nova shows it from 2.62. ferry records events
 * from the control worker and stores no host with them, so the host follows from the step: each
 * step of an operation runs on the migration's source or destination, or on the host its name
 * carries. Steps of the scheduler (`schedule`, `schedule:<attempt>`) and unknown steps have none.
 */

/**
 * Steps run by the source host's agent (`copy_disk:<disk>` and `copy_disk_in_shared_storage:<disk>`
 * too). `check_shared_storage` is the source's look for the destination's probe file.
 */
const ON_SOURCE = new Set([
  'check_shared_storage',
  'compute_check_can_live_migrate_source',
  'compute_live_migration',
  'compute_post_live_migration',
  'compute_rollback_live_migration',
  'compute_resize_instance',
  'confirm_resize',
  'revert_resize',
]);

/** Steps run by the destination host's agent. */
const ON_DESTINATION = new Set([
  'compute_pre_live_migration',
  'compute_finish_resize',
  'compute_rebuild_instance',
]);

/** The hosts of the migration an action carries out. */
export interface MigrationHosts {
  sourceHost: string;
  destHost: string | null;
}

/** The host an event's step ran on, given the action's migration (null when it has none). */
export function eventHost(event: string, migration: MigrationHosts | null): string | null {
  const colon = event.indexOf(':');
  if (colon >= 0) {
    const [step, detail] = [event.slice(0, colon), event.slice(colon + 1)];
    if (step === 'compute_check_can_live_migrate_destination') return detail;
    const onSource = step === 'copy_disk' || step === 'copy_disk_in_shared_storage';
    return onSource ? (migration?.sourceHost ?? null) : null;
  }
  if (ON_SOURCE.has(event)) return migration?.sourceHost ?? null;
  if (ON_DESTINATION.has(event)) return migration?.destHost ?? null;
  return null;
}
