/**
 * Cold migration and resize end to end on the lab: real libvirt daemons, QEMU guests and sshd in
 * three hosts, the real control worker and host agents, driven through the `ferry` CLI (confirm,
 * revert, and the resize_confirm_window's auto-confirm), checked in libvirt, in the guests' serial
 * consoles, on their disks and in the database.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { CopyHeartbeat } from '../../activities/host/resize/copy-to-peer';
import { run } from '../../lab/command';
import { bootLabInstance } from '../../lab/fleet';
import { instanceWorkflowId } from '../../workflows/operation-types';
import { resizeStatusQuery } from '../../workflows/resize-messages';
import { ferry } from '../support/ferry-cli';
import { canRunLab } from '../support/lab';
import { until, useLabStack } from '../support/lab-stack';

const describeLab = canRunLab ? describe : describe.skip;

/** A window short enough to watch the auto-confirm happen. */
const CONFIRM_WINDOW_S = 8;

describeLab('cold migration and resize on the lab', () => {
  const stack = useLabStack({
    name: 'resize',
    env: { FERRY_RESIZE_CONFIRM_WINDOW: '0', FERRY_SHUTDOWN_TIMEOUT: '10' },
  });
  const { host, domainsOn, diskOn, instance, counting, diskDigest, recordHistory } = stack;

  beforeAll(async () => {
    const flavor = await ferry(
      ['flavors', 'create', 'lab.large', '--vcpus', '2', '--memory-mb', '192', '--disk-gb', '2'],
      stack.env,
    );
    expect(flavor).toMatchObject({ code: 0 });
  });
  const operate = async (args: string[]) => {
    const result = await ferry([...args, '--wait', '--json'], stack.env);
    return { ...result, state: result.code === 0 ? JSON.parse(result.stdout) : undefined };
  };
  const dumpxml = (hostName: string, guest: string) =>
    run('virsh', ['-c', host(hostName).libvirtUri, 'dumpxml', guest]);
  const virtualSize = async (path: string) =>
    JSON.parse(await run('qemu-img', ['info', '-U', '--output=json', path]))['virtual-size'];
  const gone = (path: string) =>
    readFile(path).then(
      () => false,
      () => true,
    );

  it('cold-migrates a guest with a disk: identical data, running on the destination; confirm cleans the source', async () => {
    await bootLabInstance(stack.config, {
      name: 'epsilon',
      host: 'host1',
      diskMb: 64,
      diskDataMb: 16,
    });
    await counting('host1', 'epsilon');
    const source = diskOn('host1', 'epsilon');
    const digest = await diskDigest(source);

    const { code, stderr, state } = await operate(['migrate', 'epsilon', '--host', 'host2']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(state).toMatchObject({ status: 'finished', destHost: 'host2', operation: 'migration' });
    await counting('host2', 'epsilon');
    expect(await instance('epsilon')).toMatchObject({ hostName: 'host2', vmState: 'resized' });
    // The source keeps the old domain (shut off) and its disks aside until the confirm.
    expect(await domainsOn('host1')).toContain('epsilon');

    const confirmed = await ferry(['confirm', 'epsilon', '--json'], stack.env);
    expect(confirmed.code).toBe(0);
    expect(JSON.parse(confirmed.stdout)).toMatchObject({
      status: 'confirmed',
      confirmedBy: 'user',
    });
    expect(await domainsOn('host1')).not.toContain('epsilon');
    expect(await gone(source)).toBe(true);
    expect(await gone(`${dirname(source)}_resize`)).toBe(true);
    expect(await diskDigest(diskOn('host2', 'epsilon'))).toBe(digest);
    expect(await instance('epsilon')).toMatchObject({
      hostName: 'host2',
      vmState: 'active',
      taskState: null,
    });
    expect(await stack.db.resourceClaim.count()).toBe(0);
    await recordHistory('epsilon', 'cold-migration-confirmed');
  });

  it('resizes to more vCPUs, memory and disk, then reverts: back on the source with its data, nothing left behind', async () => {
    await bootLabInstance(stack.config, {
      name: 'zeta',
      host: 'host1',
      diskMb: 64,
      diskDataMb: 16,
    });
    await counting('host1', 'zeta');
    const digest = await diskDigest(diskOn('host1', 'zeta'));

    const { code, stderr, state } = await operate(['resize', 'zeta', '--flavor', 'lab.large']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(state).toMatchObject({ status: 'finished', operation: 'resize' });
    const dest = state.destHost as string;
    expect(dest).not.toBe('host1');
    const xml = await dumpxml(dest, 'zeta');
    expect(xml).toMatch(/<vcpu[^>]*>2<\/vcpu>/);
    expect(xml).toMatch(/<memory unit='KiB'>196608<\/memory>/);
    expect(await virtualSize(diskOn(dest, 'zeta'))).toBe(2 * 1024 ** 3);
    await counting(dest, 'zeta');
    expect(await instance('zeta')).toMatchObject({ flavorId: 'lab.large', hostName: dest });

    const reverted = await ferry(['revert', 'zeta', '--json'], stack.env);
    expect(reverted.code).toBe(0);
    expect(JSON.parse(reverted.stdout)).toMatchObject({ status: 'reverted' });
    await counting('host1', 'zeta');
    expect(await domainsOn(dest)).not.toContain('zeta');
    expect(await gone(diskOn(dest, 'zeta'))).toBe(true);
    expect(await dumpxml('host1', 'zeta')).toMatch(/<vcpu[^>]*>1<\/vcpu>/);
    expect(await instance('zeta')).toMatchObject({
      hostName: 'host1',
      flavorId: 'lab.tiny',
      vmState: 'active',
      taskState: null,
    });
    expect(await stack.db.resourceClaim.count()).toBe(0);
    await run('virsh', ['-c', host('host1').libvirtUri, 'destroy', 'zeta']);
    expect(await diskDigest(diskOn('host1', 'zeta'))).toBe(digest);
    await recordHistory('zeta', 'resize-reverted');
  });

  it('confirms by itself when resize_confirm_window passes, and records it as an auto-confirm', async () => {
    await bootLabInstance(stack.config, { name: 'eta', host: 'host1' });
    await counting('host1', 'eta');
    // The window is the control plane's: the CLI's own setting would not count.
    await stack.restartControl({ FERRY_RESIZE_CONFIRM_WINDOW: String(CONFIRM_WINDOW_S) });
    const asked = Date.now();
    const { code, stderr, state } = await operate(['migrate', 'eta', '--host', 'host3']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    // The window runs from the finish, which came after the request.
    expect(Date.parse(state.confirmDeadline)).toBeGreaterThanOrEqual(
      asked + CONFIRM_WINDOW_S * 1000,
    );
    const row = await instance('eta');
    expect(row.migrations[0].confirmDeadline?.toISOString()).toBe(state.confirmDeadline);

    await until('the auto-confirm', (CONFIRM_WINDOW_S + 30) * 1000, async () =>
      (await instance('eta')).migrations[0].status === 'confirmed' ? true : undefined,
    );
    expect(await domainsOn('host1')).not.toContain('eta');
    await counting('host3', 'eta');
    const events = await stack.db.instanceActionEvent.findMany({
      where: { action: { instanceUuid: row.uuid } },
    });
    expect(events.map((e) => e.event)).toContain('auto_confirm');
    await recordHistory('eta', 'cold-migration-auto-confirmed');
    await stack.restartControl({});
  });

  it('survives kill -9 of the source agent mid-copy: the restarted agent resumes the copy from its offset', async () => {
    await bootLabInstance(stack.config, {
      name: 'theta',
      host: 'host1',
      diskMb: 1024,
      diskDataMb: 800,
    });
    await counting('host1', 'theta');
    const digest = await diskDigest(diskOn('host1', 'theta'));
    const started = await ferry(['migrate', 'theta', '--host', 'host2', '--json'], stack.env);
    expect(started.code).toBe(0);
    const { uuid } = await instance('theta');
    const copying = () =>
      stack.db.instanceActionEvent.findFirst({
        where: { action: { instanceUuid: uuid }, event: 'copy_disk:vda' },
      });
    await until('the copy started', 60_000, async () => ((await copying()) ? true : undefined));
    // The kill comes once the copy has heartbeated an offset inside the disk's first half, so
    // that the retry resumes from there with most of the data still to send.
    const handle = stack.temporal.workflow.getHandle(instanceWorkflowId(uuid));
    const half = 512 * 1024 * 1024;
    const offset = await until('a heartbeat of the copy', 60_000, async () => {
      const { raw } = await handle.describe();
      const copy = raw.pendingActivities?.find((a) => a.activityType?.name === 'copyDiskToHost');
      const [details] = copy?.heartbeatDetails?.payloads ?? [];
      const heartbeat = details
        ? defaultPayloadConverter.fromPayload<CopyHeartbeat>(details)
        : undefined;
      return heartbeat && heartbeat.offset > 0 ? heartbeat.offset : undefined;
    });
    expect(offset).toBeLessThan(half);

    await stack.restartAgentAfterKill('host1');

    const state = await until('VERIFY_RESIZE', 180_000, async () => {
      const now = await handle.query(resizeStatusQuery);
      if (now.status === 'error') throw new Error(now.error ?? 'error');
      return now.status === 'finished' ? now : undefined;
    });
    // The retried copy sent only what the first attempt had not: less than the disk's data.
    expect(state.copiedBytes).toBeLessThan(800 * 1024 * 1024);
    expect(state.copiedBytes).toBeGreaterThan(0);
    await counting('host2', 'theta');
    const confirmed = await ferry(['confirm', 'theta'], stack.env);
    expect(confirmed.code).toBe(0);
    await run('virsh', ['-c', host('host2').libvirtUri, 'destroy', 'theta']);
    expect(await diskDigest(diskOn('host2', 'theta'))).toBe(digest);
    await recordHistory('theta', 'cold-migration-agent-killed');
  });
});
