import { control } from './activity-proxies';
import { failureMessage } from './failures';

/**
 * Runs one step of an operation as an instance action event: its start, then its finish with the
 * result. The step's own failure is what propagates, not a failure to record it.
 */
export async function asActionEvent<T>(
  migrationUuid: string,
  event: string,
  run: () => Promise<T>,
): Promise<T> {
  await control.recordActionEvent({ migrationUuid, event, phase: 'start' });
  try {
    const value = await run();
    await control.recordActionEvent({ migrationUuid, event, phase: 'finish', result: 'Success' });
    return value;
  } catch (error) {
    await control
      .recordActionEvent({
        migrationUuid,
        event,
        phase: 'finish',
        result: 'Error',
        details: failureMessage(error),
      })
      .catch(() => undefined);
    throw error;
  }
}
