/** What a workflow's history recorded in markers: the patches it checked and its local activities. */
import type { temporal } from '@temporalio/proto';

export interface HistoryMarkers {
  /** Patch ids, in the order the workflow checked them. */
  patches: string[];
  /** Local activity types, in the order they ran. */
  localActivities: string[];
}

/**
 * The local activities of a live migration that completed with its steps merged
 * (docs/local-activities.md, "Merged steps"), its progress saves left out.
 */
export const MERGED_LIVE_MIGRATION_STEPS = [
  'beginLiveMigration',
  'selectDestinations',
  'claimResources',
  'queueMigration',
  'startLiveMigration',
  'recordActionEvents',
  'completeLiveMigration',
];

export function markersOf(history: temporal.api.history.v1.IHistory): HistoryMarkers {
  const patches: string[] = [];
  const localActivities: string[] = [];
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (!marker) continue;
    const details = marker.details ?? {};
    const payload = (key: string): Record<string, unknown> => {
      const data = details[key]?.payloads?.[0]?.data;
      return data
        ? (JSON.parse(Buffer.from(data).toString('utf8')) as Record<string, unknown>)
        : {};
    };
    if (marker.markerName === 'core_patch') patches.push(String(payload('patch-data').id));
    if (marker.markerName === 'core_local_activity') {
      localActivities.push(String(payload('data').activity_type));
    }
  }
  return { patches, localActivities };
}
