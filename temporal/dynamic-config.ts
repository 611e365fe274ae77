/**
 * The Temporal server settings ferry runs with, on the dev server and on a production cluster
 * (docs/temporal-tuning.md). Temporal's default lets each history shard read its transfer queue at
 * most 20 times a second, so every step that hands work to a task queue (an activity scheduled,
 * a workflow task after an activity completed) waits up to 50 ms, about 40 ms on average, before
 * it is dispatched: seven host activities cost a live migration about 0.6 s of that wait alone.
 */
export const FERRY_TEMPORAL_DYNAMIC_CONFIG: Readonly<Record<string, number>> = {
  'history.transferProcessorMaxPollRPS': 1000,
};

/** The settings as `temporal server start-dev` flags. */
export function devServerDynamicConfigArgs(): string[] {
  return Object.entries(FERRY_TEMPORAL_DYNAMIC_CONFIG).flatMap(([key, value]) => [
    '--dynamic-config-value',
    `${key}=${value}`,
  ]);
}

/** The settings as a temporal-server dynamic config file (JSON, which the server reads as YAML). */
export function dynamicConfigFile(): string {
  const entries = Object.entries(FERRY_TEMPORAL_DYNAMIC_CONFIG).map(([key, value]) => [
    key,
    [{ value, constraints: {} }],
  ]);
  return `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`;
}
