/**
 * MOCK activities for the drain's unit tests: an in-memory Drain row and plan, and the scripted
 * outcome of each move the MOCK children (fake-move-workflows.ts) run; records how many moves ran
 * at once and what each instance went through.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  DrainControlActivities,
  DrainItem,
  DrainStatus,
} from '../../workflows/drain-contract';

/** What one move of an instance does: move (after `ms`), fail with a type, or hold until aborted. */
export type MoveScript =
  | { outcome: 'move'; destHost: string; ms?: number }
  | { outcome: 'fail'; type: string; message: string }
  | { outcome: 'hold' };

export interface FakeMoveActivities {
  moveBegan(request: { instanceUuid: string; kind: 'live' | 'cold' }): Promise<MoveScript>;
  abortReceived(request: { instanceUuid: string }): Promise<void>;
  moveEnded(request: { instanceUuid: string }): Promise<void>;
}

export class FakeDrain {
  readonly hosts: string[] = [];
  readonly plan: DrainItem[] = [];
  /** Each instance's scripts, one per attempt (the last repeats). */
  readonly scripts = new Map<string, MoveScript[]>();
  readonly began: { instanceUuid: string; kind: 'live' | 'cold' }[] = [];
  readonly aborted: string[] = [];
  readonly recorded = new Map<string, DrainItem>();
  status: DrainStatus | undefined;
  hostState = 'up';
  active = 0;
  maxActive = 0;
  /** Moves a script names 'move' wait until this many run at once (or 2 s), to show the window. */
  overlap = 1;

  /** An instance planned `action` (or left with `reason`), moving by `scripts`. */
  instance(name: string, action: DrainItem['action'], ...scripts: MoveScript[]): DrainItem {
    const item: DrainItem = {
      instanceUuid: randomUUID(),
      instanceName: name,
      action,
      state: action === 'none' ? 'left' : 'planned',
      reason: action === 'none' ? 'instance is locked' : null,
      attempts: 0,
      destHost: null,
      requestedHost: null,
      lastMigrationUuid: null,
    };
    this.plan.push(item);
    this.scripts.set(
      item.instanceUuid,
      scripts.length > 0 ? scripts : [{ outcome: 'move', destHost: 'dest' }],
    );
    return item;
  }

  beganFor(item: DrainItem): number {
    return this.began.filter((move) => move.instanceUuid === item.instanceUuid).length;
  }

  hostActivities(): object {
    return {};
  }

  controlActivities(): DrainControlActivities & FakeMoveActivities {
    return {
      planHostDrain: () => Promise.resolve(this.plan),
      beginDrain: (request) => {
        this.hostState = 'disabled';
        return Promise.resolve({
          concurrency: request.concurrency ?? 1,
          items: this.plan.map((item) => ({ ...item })),
        });
      },
      startDrainMove: (request) => {
        const item = this.plan.find((planned) => planned.instanceUuid === request.instanceUuid);
        if (!item) return Promise.resolve({ refused: 'the instance no longer exists' });
        const migrationUuid = randomUUID();
        const common = {
          migrationUuid,
          instanceUuid: item.instanceUuid,
          instanceName: item.instanceName,
          sourceHost: 'source',
          requestedHost: request.requestedHost,
          schedulerMaxAttempts: 3,
          requestedBy: 'test',
        };
        const size = { vcpus: 1, memoryMiB: 128, rootDiskGiB: 1 };
        return Promise.resolve(
          request.action === 'live'
            ? {
                workflowType: 'liveMigration' as const,
                migrationUuid,
                input: { ...common, blockMigration: 'auto' as const, maxConcurrentPerSource: 1 },
              }
            : {
                workflowType: 'resize' as const,
                migrationUuid,
                input: {
                  ...common,
                  migrationType: 'migration' as const,
                  oldFlavorId: 'f',
                  newFlavorId: 'f',
                  oldSize: size,
                  newSize: size,
                  allowSameHost: false,
                  confirmWindowSeconds: 0,
                  confirmAtOnce: true,
                  shutdownTimeoutSeconds: 5,
                },
              },
        );
      },
      discardDrainMove: () => Promise.resolve(),
      recordDrainItems: ({ items }) => {
        for (const item of items) this.recorded.set(item.instanceUuid, { ...item });
        return Promise.resolve();
      },
      finishDrain: ({ status }) => {
        this.status = status;
        return Promise.resolve();
      },
      moveBegan: async ({ instanceUuid, kind }) => {
        const attempt = this.began.filter((move) => move.instanceUuid === instanceUuid).length;
        this.began.push({ instanceUuid, kind });
        this.active += 1;
        this.maxActive = Math.max(this.maxActive, this.active);
        const scripts = this.scripts.get(instanceUuid) ?? [];
        const script = scripts[Math.min(attempt, scripts.length - 1)];
        if (script.outcome === 'move') {
          for (let waited = 0; this.active < this.overlap && waited < 2000; waited += 20) {
            await sleep(20);
          }
          if (script.ms) await sleep(script.ms);
        }
        return script;
      },
      abortReceived: ({ instanceUuid }) => {
        this.aborted.push(instanceUuid);
        return Promise.resolve();
      },
      moveEnded: () => {
        this.active -= 1;
        return Promise.resolve();
      },
    };
  }
}
