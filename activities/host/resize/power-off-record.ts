/**
 * What the source knew before it powered the instance off, kept for a retried
 * powerOffAndSetAsideSource, which finds the domain off already: whether it was running, and how
 * the power-off went. Kept in the activity's heartbeat details (retries of the same activity see
 * them) and, once there is an aside dir, in a file there, which outlives any one activity.
 */
import { Context } from '@temporalio/activity';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResizeSourceSnapshot } from '../../../workflows/resize-contract';

export type PowerOffRecord = Pick<ResizeSourceSnapshot, 'wasRunning'> & {
  /** Null until the shutdown has ended. */
  powerOff: ResizeSourceSnapshot['powerOff'] | null;
};

const RECORD_FILE = 'ferry-resize.json';
const OUTCOMES: ReadonlyArray<PowerOffRecord['powerOff']> = [
  'graceful',
  'destroyed',
  'already-off',
  null,
];

function asRecord(value: unknown): PowerOffRecord | null {
  const record = value as Partial<PowerOffRecord> | null | undefined;
  if (typeof record?.wasRunning !== 'boolean' || !OUTCOMES.includes(record.powerOff ?? null)) {
    return null;
  }
  return { wasRunning: record.wasRunning, powerOff: record.powerOff ?? null };
}

/** The record of an earlier attempt: from the aside dir (resolved), else the heartbeat details. */
export async function recallPowerOff(asideDir: string | null): Promise<PowerOffRecord | null> {
  if (asideDir !== null) {
    const text = await readFile(join(asideDir, RECORD_FILE), 'utf8').catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null;
        throw error;
      },
    );
    const record = text === null ? null : asRecord(JSON.parse(text));
    if (record !== null) return record;
  }
  return asRecord(Context.current().info.heartbeatDetails);
}

export async function rememberPowerOff(
  asideDir: string | null,
  record: PowerOffRecord,
): Promise<void> {
  Context.current().heartbeat(record);
  if (asideDir === null) return;
  await mkdir(asideDir, { recursive: true });
  const file = join(asideDir, RECORD_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(record)}\n`);
  await rename(`${file}.tmp`, file);
}
