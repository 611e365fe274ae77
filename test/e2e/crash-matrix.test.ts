/**
 * The crash matrix: a live migration and a cold migration on the lab, each crashed at
 * every step boundary it reports — kill -9 of the control worker, of the source's agent, of the
 * destination's agent, each then restarted — and the Temporal server restarted (persistent
 * SQLite) while a live migration runs and while a cold migration waits for its confirm. After each
 * case the invariants a user checks: the instance running on exactly one host and counting, its
 * disk unchanged (the cold-migrated one has a disk), the database agreeing with libvirt, no
 * orphan domain, file or claim, and the Migration row terminal. Prints the table of cases and
 * results at the end.
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

/** A case takes up to a minute: a dead agent's activity is retried after its timeout. */
const CASE_TIMEOUT_MS = 240_000;
/** Live migrations at 16 MiB/s: several seconds in `running`, long enough to crash inside. */
const AGENT_ENV = { FERRY_LIVE_MIGRATION_BANDWIDTH: '16' };
const HOSTS = ['host1', 'host2'];
const TERMINAL = ['completed', 'failed', 'cancelled', 'error', 'confirmed', 'reverted'];
const LIVE_ORDER = ['accepted', 'queued', 'preparing', 'running', ...TERMINAL];
const RESIZE_ORDER = ['pre-migrating', 'migrating', 'post-migrating', 'finished', ...TERMINAL];

type Victim = 'control worker' | 'source agent' | 'destination agent' | 'Temporal server';
interface CaseResult {
  operation: string;
  crash: string;
  at: string;
  outcome: string;
  invariants: string;
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
    const columns: (keyof CaseResult)[] = ['operation', 'crash', 'at', 'outcome', 'invariants'];
    const widths = columns.map((c) => Math.max(c.length, ...results.map((r) => r[c].length)));
    const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ');
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

  /** Waits until the newest migration of `name` is at `status` or past it; returns the status. */
  const reached = (name: string, status: string, order: string[]) =>
    until(`${name}'s migration at ${status}`, 120_000, async () => {
      const current = (await migrationOf(name))?.status ?? '';
      return order.indexOf(current) >= order.indexOf(status) ? current : undefined;
    });

  async function crash(victim: Victim, source: string, dest: string): Promise<void> {
    if (victim === 'control worker') await stack.restartControlAfterKill();
    else if (victim === 'source agent') await stack.restartAgentAfterKill(source);
    else if (victim === 'destination agent') await stack.restartAgentAfterKill(dest);
    else await stack.restartTemporal();
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
    expect(TERMINAL).toContain((await migrationOf(name)).status);
  }

  async function runCase(
    operation: 'live migration' | 'cold migration',
    victim: Victim,
    at: string,
  ): Promise<void> {
    const name = operation === 'live migration' ? 'lm' : 'cm';
    const order = operation === 'live migration' ? LIVE_ORDER : RESIZE_ORDER;
    const source = (await stack.instance(name)).hostName;
    const dest = HOSTS.find((host) => host !== source) as string;
    const result: CaseResult = {
      operation,
      crash: `${victim === 'Temporal server' ? 'restart' : 'kill -9'} ${victim}`,
      at,
      outcome: '?',
      invariants: 'broken',
    };
    results.push(result);
    const command = operation === 'live migration' ? 'live-migrate' : 'migrate';
    const started = await ferry([command, name, '--host', dest, '--json'], stack.env);
    expect({ code: started.code, stderr: started.stderr }).toEqual({ code: 0, stderr: '' });
    result.at = await reached(name, at, order);
    await crash(victim, source, dest);
    result.at = result.at === at ? at : `${at} (seen ${result.at})`;
    const settled = operation === 'live migration' ? 'completed' : 'finished';
    let outcome = await reached(name, settled, order);
    if (outcome === 'finished') {
      const confirmed = await ferry(['confirm', name, '--json'], stack.env);
      expect({ code: confirmed.code, stderr: confirmed.stderr }).toEqual({ code: 0, stderr: '' });
      outcome = await reached(name, 'confirmed', order);
    }
    result.outcome = outcome;
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

  it('leaves the fleet clean: both instances idle where the database says', async () => {
    await sleep(1000);
    for (const name of ['lm', 'cm']) await checkInvariants(name);
  });
});
