/**
 * The crash matrix: a live migration and a cold migration on the lab, each crashed at every status
 * it reports — kill -9 of the control worker, of the source's agent, of the destination's agent,
 * each then restarted — and the Temporal server restarted (persistent SQLite) while a live
 * migration runs and while a cold migration waits for its confirm.
 *
 * Each case crashes exactly at its named status: the control worker, which runs every step that
 * writes the Migration row, is paused (SIGSTOP) between two reads of the row until it shows that
 * status, and stays paused while the victim is killed and the row read again, so the status
 * recorded is the one at the kill. A case whose status went by between two reads fails as missed.
 * The outcome must be one the workflows allow for that point (the table below says which and why);
 * then the invariants a user checks: the instance running on exactly one host and counting, its
 * disk unchanged (the cold-migrated one has a disk), the database agreeing with libvirt, no orphan
 * domain, file or claim, and the Migration row terminal. Last, a drain of a third host whose
 * control worker is killed while a move runs: each instance moves exactly once. Prints the table
 * of cases at the end.
 */
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { bootLabInstance } from '../../lab/fleet';
import { guestDiagnosis } from '../../lab/guest-diagnosis';
import { rootNamespacePath } from '../../lab/layout';
import { ferry } from '../support/ferry-cli';
import { canRunLab } from '../support/lab';
import { until, useLabStack } from '../support/lab-stack';

const describeLab = canRunLab ? describe : describe.skip;

/** A case takes up to two minutes: a dead agent's activity is retried after its timeout. */
const CASE_TIMEOUT_MS = 300_000;
/** Live migrations at 16 MiB/s: several seconds in `running`, long enough to crash inside. */
const AGENT_ENV = { FERRY_LIVE_MIGRATION_BANDWIDTH: '16' };
const HOSTS = ['host1', 'host2'];
/** The statuses a migration passes through before it ends, in order, and those it ends in. */
const LIVE_ORDER = ['accepted', 'queued', 'preparing', 'running'];
const LIVE_END = ['completed', 'failed', 'cancelled', 'error'];
const COLD_ORDER = [
  'pre-migrating',
  'queued',
  'migrating',
  'post-migrating',
  'finished',
  'confirming',
];
const COLD_END = ['confirmed', 'reverted', 'error'];
/** How long the control worker runs between two reads of the Migration row. */
const STEP_MS = 10;

type Operation = 'live migration' | 'cold migration';
type Victim = 'control worker' | 'source agent' | 'destination agent' | 'Temporal server';
interface Allowed {
  outcomes: string[];
  why: string;
}
interface CaseResult {
  case: string;
  observed: string;
  outcome: string;
  allowed: string;
  why: string;
  invariants: string;
}

const DURABLE =
  'the workflow is durable: a new control worker replays it and re-runs the interrupted local activity, which is idempotent';

/** The outcomes live-migration.ts and resize.ts allow after each crash, and why. */
function allowedOutcomes(operation: Operation, victim: Victim, at: string): Allowed {
  if (victim === 'control worker') {
    return { outcomes: [operation === 'live migration' ? 'completed' : 'confirmed'], why: DURABLE };
  }
  if (operation === 'live migration') {
    const why: Record<string, string> = {
      'source agent at accepted':
        'the source pre-check is retried on the restarted agent within its 2 min schedule-to-close',
      'source agent at preparing':
        'no source step runs while the destination prepares; the restarted agent takes the migration',
      'destination agent at accepted':
        'the destination pre-check is retried on the restarted agent within its 2 min schedule-to-close',
      'destination agent at preparing':
        'prepare is retried on the restarted agent, and reports only what it made',
      'destination agent at running':
        "the destination's agent has no part in a running migration (libvirtd to libvirtd)",
      'Temporal server at running':
        "Temporal's state is persistent: the migrate activity's heartbeat and result reach the restarted server, or its retry finds the guest landed",
    };
    if (victim === 'source agent' && at === 'running') {
      return {
        outcomes: ['completed', 'failed'],
        why: "libvirtd's job outlives the agent: the retried migrate activity attaches to it and completes, or, the guest still on the source, the workflow rolls back",
      };
    }
    return { outcomes: ['completed'], why: why[`${victim} at ${at}`] };
  }
  const why: Record<string, string> = {
    'source agent at pre-migrating': 'no host step has run yet: the restarted agent powers off',
    'source agent at migrating':
      'power-off and copy heartbeat: their retry after the heartbeat timeout powers off idempotently or resumes the copy from its last offset',
    'source agent at post-migrating':
      'no source step runs while the destination starts the guest; the confirm goes to the restarted agent',
    'source agent at finished': "the confirm's clean-up of the source goes to the restarted agent",
    'destination agent at pre-migrating': 'no host step has run yet',
    'destination agent at migrating':
      "the copy goes to the destination's sshd, not to its agent; the restarted agent starts the guest",
    'destination agent at post-migrating':
      'starting the guest at the destination is retried on the restarted agent after its heartbeat timeout',
    'destination agent at finished': 'the guest runs under libvirtd, which the agent does not own',
    'Temporal server at finished':
      "Temporal's state is persistent: the workflow waits for the confirm on the restarted server",
  };
  return { outcomes: ['confirmed'], why: why[`${victim} at ${at}`] };
}

describeLab('crash matrix on the lab', () => {
  const stack = useLabStack({
    name: 'crash',
    agentEnv: AGENT_ENV,
    ownTemporal: true,
    env: { FERRY_RESIZE_CONFIRM_WINDOW: '0', FERRY_SHUTDOWN_TIMEOUT: '10' },
  });
  const results: CaseResult[] = [];
  const digests = new Map<string, string>();

  afterAll(() => {
    const columns: (keyof CaseResult)[] = [
      'case',
      'observed',
      'outcome',
      'allowed',
      'invariants',
      'why',
    ];
    const widths = columns.map((c) => Math.max(c.length, ...results.map((r) => r[c].length)));
    const line = (cells: string[]) =>
      cells
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    process.stdout.write(
      `\ncrash matrix\n${[line(columns), ...results.map((r) => line(columns.map((c) => r[c])))].join('\n')}\n\n`,
    );
  });

  // lm has no local disk, which keeps each live case short; the block migration itself is tested
  // in live-migration.test.ts. cm's disk is checked after every case.
  beforeAll(async () => {
    await bootLabInstance(stack.config, { name: 'lm', host: 'host1' });
    await bootLabInstance(stack.config, { name: 'cm', host: 'host1', diskMb: 128, diskDataMb: 96 });
    await stack.counting('host1', 'lm');
    await stack.counting('host1', 'cm');
    digests.set('cm', await stack.diskDigest(stack.diskOn('host1', 'cm')));
  });

  const migrationOf = async (name: string) => {
    const { migrations } = await stack.instance(name);
    return migrations.sort((a, b) => b.id - a.id)[0];
  };
  const statusOf = async (id: number) =>
    (await stack.db.migration.findUniqueOrThrow({ where: { id } })).status;

  /** The status and the step under way (the instance action event not finished), as now. */
  async function observe(id: number): Promise<string> {
    const migration = await stack.db.migration.findUniqueOrThrow({ where: { id } });
    const open = await stack.db.instanceActionEvent.findFirst({
      where: { action: { instanceUuid: migration.instanceUuid }, finishTime: null },
      orderBy: { id: 'desc' },
    });
    return open ? `${migration.status} (in ${open.event})` : migration.status;
  }

  /**
   * Runs the control worker in slices of STEP_MS until the migration's row shows `at`; returns
   * with the worker paused there. Throws when the row went past `at` between two reads.
   */
  async function pauseAt(id: number, at: string, order: string[]): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      stack.pauseControl();
      const status = await statusOf(id);
      if (status === at) return;
      stack.resumeControl();
      if (!order.includes(status) || order.indexOf(status) > order.indexOf(at)) {
        throw new Error(`missed the crash point ${at}: the migration went on to ${status}`);
      }
      if (Date.now() > deadline) throw new Error(`the migration stayed at ${status}, not ${at}`);
      await sleep(STEP_MS);
    }
  }

  /** Crashes the victim while the control worker is paused; returns the row as at the crash. */
  async function crash(victim: Victim, id: number, source: string, dest: string) {
    if (victim === 'control worker') {
      await stack.killControl();
      const observed = await observe(id);
      await sleep(1000);
      stack.startControl();
      return observed;
    }
    if (victim === 'Temporal server') {
      await stack.stopTemporal();
      const observed = await observe(id);
      stack.resumeControl();
      await stack.startTemporalAgain();
      return observed;
    }
    const host = victim === 'source agent' ? source : dest;
    await stack.killAgent(host);
    const observed = await observe(id);
    stack.resumeControl();
    await sleep(1000);
    await stack.startAgent(host);
    return observed;
  }

  /** Waits for the migration to end, confirming a cold migration that waits for it. */
  async function settle(name: string, id: number, operation: Operation): Promise<string> {
    const ends = operation === 'live migration' ? LIVE_END : [...COLD_END, 'finished'];
    const ended = await until(`migration ${id} ended`, 240_000, async () => {
      const status = await statusOf(id);
      return ends.includes(status) ? status : undefined;
    });
    if (ended !== 'finished') return ended;
    const confirmed = await ferry(['confirm', name, '--json'], stack.env);
    expect({ code: confirmed.code, stderr: confirmed.stderr }).toEqual({ code: 0, stderr: '' });
    return until(`migration ${id} confirmed`, 120_000, async () => {
      const status = await statusOf(id);
      return COLD_END.includes(status) ? status : undefined;
    });
  }

  /**
   * What a user checks after the crash: one running domain, where the database says, counting;
   * nothing of the instance defined or left in the instances dir of the other host; the disk's
   * contents unchanged; no claim left; the instance idle and its Migration row terminal.
   */
  async function checkInvariants(name: string): Promise<void> {
    const row = await stack.instance(name);
    const running = [];
    for (const host of HOSTS) {
      const active = await stack.virsh(host, ['list', '--name']);
      if (active.split('\n').some((line) => line.trim() === name)) running.push(host);
    }
    if (running.length !== 1 || running[0] !== row.hostName) {
      const diagnoses = await Promise.all(HOSTS.map((h) => guestDiagnosis(stack.host(h), name)));
      throw new Error(
        `${name} runs on [${running.join(', ')}], the database says ${row.hostName}\n${diagnoses.join('\n')}`,
      );
    }
    expect({ vmState: row.vmState, taskState: row.taskState }).toEqual({
      vmState: 'active',
      taskState: null,
    });
    const other = HOSTS.find((host) => host !== row.hostName) as string;
    expect(await stack.domainsOn(other)).not.toContain(name);
    const otherDir = rootNamespacePath(stack.host(other).rootPath, stack.host(other).instancesDir);
    const leftovers = (await readdir(otherDir).catch(() => [])).filter((f) => f.includes(name));
    expect(leftovers).toEqual([]);
    await stack.counting(row.hostName, name);
    const digest = digests.get(name);
    if (digest) expect(await stack.diskDigest(stack.diskOn(row.hostName, name))).toBe(digest);
    expect(await stack.db.resourceClaim.count()).toBe(0);
    expect([...LIVE_END, ...COLD_END]).toContain((await migrationOf(name)).status);
  }

  async function runCase(operation: Operation, victim: Victim, at: string): Promise<void> {
    const name = operation === 'live migration' ? 'lm' : 'cm';
    const order = operation === 'live migration' ? LIVE_ORDER : COLD_ORDER;
    const allowed = allowedOutcomes(operation, victim, at);
    const source = (await stack.instance(name)).hostName;
    const dest = HOSTS.find((host) => host !== source) as string;
    const crashName = `${victim === 'Temporal server' ? 'restart' : 'kill -9'} ${victim}`;
    const result: CaseResult = {
      case: `${operation}: ${crashName} at ${at}`,
      observed: '-',
      outcome: '?',
      allowed: allowed.outcomes.join(' | '),
      why: allowed.why,
      invariants: 'broken',
    };
    results.push(result);
    const previous = (await migrationOf(name))?.id ?? 0;
    // The first status is the one the request records: the worker paused before the request
    // keeps the row there until the crash. Paused outside its own writes, or the request's
    // insert would wait for its lock.
    if (at === order[0]) await stack.pauseControlOutsideWrites();
    const command = operation === 'live migration' ? 'live-migrate' : 'migrate';
    const started = await ferry([command, name, '--host', dest, '--json'], stack.env);
    let id = previous;
    try {
      expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
      id = (await migrationOf(name)).id;
      expect(id).toBeGreaterThan(previous);
      await pauseAt(id, at, order);
    } catch (error) {
      stack.resumeControl();
      if (id > previous) result.outcome = await settle(name, id, operation).catch(() => '?');
      throw error;
    }
    result.observed = await crash(victim, id, source, dest);
    expect(result.observed.split(' ')[0]).toBe(at);
    result.outcome = await settle(name, id, operation);
    expect(allowed.outcomes).toContain(result.outcome);
    await checkInvariants(name);
    result.invariants = 'hold';
  }

  const victims: Victim[] = ['control worker', 'source agent', 'destination agent'];
  for (const victim of victims) {
    for (const at of ['accepted', 'preparing', 'running']) {
      it(
        `live migration survives a kill -9 of the ${victim} at ${at}`,
        () => runCase('live migration', victim, at),
        CASE_TIMEOUT_MS,
      );
    }
  }
  it(
    'live migration survives a Temporal server restart while running',
    () => runCase('live migration', 'Temporal server', 'running'),
    CASE_TIMEOUT_MS,
  );

  for (const victim of victims) {
    for (const at of ['pre-migrating', 'migrating', 'post-migrating', 'finished']) {
      it(
        `cold migration survives a kill -9 of the ${victim} at ${at}`,
        () => runCase('cold migration', victim, at),
        CASE_TIMEOUT_MS,
      );
    }
  }
  it(
    'cold migration survives a Temporal server restart while it waits for the confirm',
    () => runCase('cold migration', 'Temporal server', 'finished'),
    CASE_TIMEOUT_MS,
  );

  it(
    'a drain survives a kill -9 of the control worker while its second move runs: each instance moved once',
    async () => {
      // host3 is none of the other cases' hosts. Concurrency 1: da moves, then db, then dc.
      const drained = ['da', 'db', 'dc'];
      for (const name of drained) {
        await bootLabInstance(stack.config, {
          name,
          host: 'host3',
          ...(name === 'dc' ? { diskMb: 32, diskDataMb: 8 } : {}),
        });
        await stack.counting('host3', name);
      }
      await stack.virsh('host3', ['destroy', 'dc']);
      await stack.db.instance.update({ where: { name: 'dc' }, data: { powerState: 'shutdown' } });
      const digest = await stack.diskDigest(stack.diskOn('host3', 'dc'));
      const result: CaseResult = {
        case: 'drain: kill -9 control worker at its second move running',
        observed: '-',
        outcome: '?',
        allowed: 'completed',
        why: 'the drain and its children are durable: the new control worker replays them; a move recorded once is never started again',
        invariants: 'broken',
      };
      results.push(result);

      const started = await ferry(
        ['hosts', 'drain', 'host3', '--concurrency', '1', '--json'],
        stack.env,
      );
      expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
      const id = await until('the second move recorded', 180_000, async () => {
        const migration = await migrationOf('db');
        return migration?.id;
      });
      await pauseAt(id, 'running', LIVE_ORDER);
      result.observed = await crash('control worker', id, 'host3', '');
      expect(result.observed.split(' ')[0]).toBe('running');
      const ended = await until('the drain ended', 240_000, async () => {
        const shown = await ferry(['drains', 'show', 'host3', '--json'], stack.env);
        const { status } = JSON.parse(shown.stdout) as { status: string };
        return status === 'running' ? undefined : status;
      });
      result.outcome = ended;
      expect(ended).toBe('completed');

      for (const name of drained) {
        const row = await stack.instance(name);
        expect(row.migrations).toEqual([
          expect.objectContaining({
            sourceHost: 'host3',
            status: name === 'dc' ? 'confirmed' : 'completed',
          }),
        ]);
        const defined = [];
        for (const host of [...HOSTS, 'host3']) {
          if ((await stack.domainsOn(host)).includes(name)) defined.push(host);
        }
        expect(defined).toEqual([row.hostName]);
        expect(row).toMatchObject({ vmState: 'active', taskState: null });
        if (name === 'dc') {
          expect(await stack.virsh(row.hostName, ['domstate', name])).toMatch(/shut off/);
          expect(await stack.diskDigest(stack.diskOn(row.hostName, name))).toBe(digest);
        } else {
          await stack.counting(row.hostName, name);
        }
      }
      const host3Dir = rootNamespacePath(
        stack.host('host3').rootPath,
        stack.host('host3').instancesDir,
      );
      expect(await stack.domainsOn('host3')).toEqual([]);
      expect(
        (await readdir(host3Dir).catch(() => [])).filter((f) => drained.some((n) => f.includes(n))),
      ).toEqual([]);
      expect(await stack.db.resourceClaim.count()).toBe(0);
      result.invariants = 'hold';
    },
    CASE_TIMEOUT_MS,
  );

  it('leaves the fleet clean: both instances idle where the database says', async () => {
    for (const name of ['lm', 'cm']) await checkInvariants(name);
  });
});
