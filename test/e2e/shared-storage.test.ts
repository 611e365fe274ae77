/**
 * Moves on shared storage, end to end: a lab of two hosts whose instances dir is one directory
 * (docs/lab.md, Shared storage), the real control worker and agents, driven through the `ferry`
 * CLI. A disk that stays where it is keeps its inode and bytes, and does not cross the lab network.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { run } from '../../lab/command';
import { bootLabInstance } from '../../lab/fleet';
import { ferry } from '../support/ferry-cli';
import { canRunLab } from '../support/lab';
import { useLabStack } from '../support/lab-stack';

const describeLab = canRunLab ? describe : describe.skip;

const MiB = 1024 * 1024;
/** Random data on the disk: a copy of it would show on the lab network and in the job stats. */
const DISK_DATA_MB = 192;

/** Bytes a host has sent and received on the lab network so far. */
async function networkBytes(netns: string): Promise<number> {
  const [link] = JSON.parse(await run('ip', ['-n', netns, '-j', '-s', 'link', 'show', 'eth0']));
  return link.stats64.rx.bytes + link.stats64.tx.bytes;
}

describeLab('moves on shared storage', () => {
  const stack = useLabStack({
    name: 'shared',
    hosts: 2,
    sharedStorage: true,
    env: { FERRY_RESIZE_CONFIRM_WINDOW: '0', FERRY_SHUTDOWN_TIMEOUT: '10' },
  });
  const { host, domainsOn, diskOn, instance, counting, diskDigest } = stack;
  const liveMigrate = (args: string[]) =>
    ferry(['live-migrate', ...args, '--wait', '--json'], stack.env);
  const inode = async (guest: string) => (await stat(diskOn('host1', guest))).ino;

  const networkBothHosts = async () =>
    (await networkBytes(host('host1').netns)) + (await networkBytes(host('host2').netns));
  /** `ferry ARGS --json` (confirm and revert return once done; others are told to wait). */
  const operate = async (args: string[]) => {
    const decision = ['confirm', 'revert'].includes(args[0]);
    const result = await ferry([...args, ...(decision ? [] : ['--wait']), '--json'], stack.env);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(result.stdout);
  };
  const virtualSize = async (guest: string) =>
    JSON.parse(await run('qemu-img', ['info', '-U', '--output=json', diskOn('host1', guest)]))[
      'virtual-size'
    ];
  const sharedDirEntries = () => readdir(dirname(dirname(diskOn('host1', 'alpha'))));
  const copyEvents = async (guest: string) => {
    const { uuid } = await instance(guest);
    const events = await stack.db.instanceActionEvent.findMany({
      where: { action: { instanceUuid: uuid }, event: { startsWith: 'copy_disk' } },
    });
    return [...new Set(events.map((e) => e.event))];
  };

  beforeAll(async () => {
    const flavor = await ferry(
      ['flavors', 'create', 'lab.large', '--vcpus', '1', '--memory-mb', '128', '--disk-gb', '2'],
      stack.env,
    );
    expect(flavor).toMatchObject({ code: 0 });
    await bootLabInstance(stack.config, {
      name: 'alpha',
      host: 'host1',
      diskMb: DISK_DATA_MB + 32,
      diskDataMb: DISK_DATA_MB,
    });
  });

  it('live-migrates with block migration auto: nothing is copied, the disk stays the same file', async () => {
    await counting('host1', 'alpha');
    const before = {
      inode: await inode('alpha'),
      digest: await diskDigest(diskOn('host1', 'alpha')),
    };
    const sent = await networkBytes(host('host1').netns);

    const { code, stderr, stdout } = await liveMigrate(['alpha', '--host', 'host2']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toMatchObject({ status: 'completed', blockMigration: false });
    const crossed = (await networkBytes(host('host1').netns)) - sent;

    await counting('host2', 'alpha');
    expect(await domainsOn('host1')).not.toContain('alpha');
    const [migration] = (await instance('alpha')).migrations;
    expect(migration).toMatchObject({ status: 'completed', destHost: 'host2' });
    // libvirt's completed job on the destination: memory went, no disk bytes did.
    const job = await stack.virsh('host2', [
      'domjobinfo',
      'alpha',
      '--completed',
      '--keep-completed',
    ]);
    expect(job).toMatch(/^Memory processed:\s+[1-9]/m);
    expect(job).not.toMatch(/^File processed:\s+[1-9]/m);
    expect(Number(migration.diskTotalBytes)).toBe(0);
    expect(Number(migration.diskProcessedBytes)).toBe(0);
    // All the lab network carried is the guest's memory and the protocols around it.
    expect(crossed).toBeLessThan(Number(migration.memoryProcessedBytes) + 16 * MiB);
    expect(crossed).toBeLessThan(DISK_DATA_MB * MiB);

    expect(await inode('alpha')).toBe(before.inode);
    expect(await diskDigest(diskOn('host2', 'alpha'))).toBe(before.digest);
  });

  it('refuses block migration onto shared storage (InvalidSharedStorage); the guest stays', async () => {
    const before = await inode('alpha');
    const { code, stdout, stderr } = await liveMigrate([
      'alpha',
      '--host',
      'host1',
      '--block-migration',
      'true',
    ]);
    expect(code).not.toBe(0);
    expect(`${stdout}${stderr}`).toMatch(/share the instances dir/);
    const [, refused] = (await instance('alpha')).migrations;
    expect(refused).toMatchObject({ status: 'error' });
    expect(await domainsOn('host2')).toContain('alpha');
    expect(await domainsOn('host1')).not.toContain('alpha');
    await counting('host2', 'alpha');
    expect(await inode('alpha')).toBe(before);
  });

  it('resizes by a copy inside the shared dir, not over SSH; a revert brings back the very same disk', async () => {
    const original = { inode: await inode('alpha'), size: await virtualSize('alpha') };
    const digest = await diskDigest(diskOn('host1', 'alpha'));
    const crossedBefore = await networkBothHosts();

    const resized = await operate(['resize', 'alpha', '--flavor', 'lab.large']);
    expect(resized).toMatchObject({ status: 'finished', sourceHost: 'host2', destHost: 'host1' });
    expect((await networkBothHosts()) - crossedBefore).toBeLessThan(8 * MiB);
    expect(await copyEvents('alpha')).toEqual(['copy_disk_in_shared_storage:vda']);
    await counting('host1', 'alpha');
    expect(await virtualSize('alpha')).toBe(2 * 1024 ** 3);
    // The original is kept aside, untouched, for the revert.
    expect(await sharedDirEntries()).toContain('alpha_resize');
    expect(await inode('alpha')).not.toBe(original.inode);

    expect(await operate(['revert', 'alpha'])).toMatchObject({ status: 'reverted' });
    await counting('host2', 'alpha');
    expect(await domainsOn('host1')).not.toContain('alpha');
    expect(await inode('alpha')).toBe(original.inode);
    expect(await virtualSize('alpha')).toBe(original.size);
    expect(await diskDigest(diskOn('host1', 'alpha'))).toBe(digest);
    expect(await sharedDirEntries()).not.toContain('alpha_resize');
  });

  it('resizes and confirms: the resized disk runs on, nothing of the resize is left', async () => {
    expect(await operate(['resize', 'alpha', '--flavor', 'lab.large'])).toMatchObject({
      status: 'finished',
      destHost: 'host1',
    });
    expect(await operate(['confirm', 'alpha'])).toMatchObject({ status: 'confirmed' });

    expect(await domainsOn('host2')).not.toContain('alpha');
    expect(await instance('alpha')).toMatchObject({ hostName: 'host1', flavorId: 'lab.large' });
    expect(await sharedDirEntries()).not.toContain('alpha_resize');
    expect(await virtualSize('alpha')).toBe(2 * 1024 ** 3);
    // The console log is the destination's too: the confirm left it, and the guest's count goes on.
    await counting('host1', 'alpha');
  });
});
