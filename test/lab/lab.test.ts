import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ssh2';
import {
  bootGuest,
  guestDirOnHost,
  labDown,
  labStatus,
  labUp,
  readCounter,
  rootNamespacePath,
  runInHost,
  waitForCounter,
  type LabGuest,
  type LabHost,
  type LabState,
} from '../../lab';
import { projectRoot } from '../../config/project-root';

const execFileAsync = promisify(execFile);

/** Lab of this test; the capabilities and guest image cache is the default lab's, kept warm. */
const root = projectRoot();
const stateDir = join(root, 'data', 'lab-test');
const cacheDir = join(root, 'data', 'lab', 'cache');
const canRunLab = process.getuid?.() === 0 && existsSync('/usr/sbin/libvirtd');

async function stdout(program: string, args: string[]): Promise<string> {
  return (await execFileAsync(program, args)).stdout;
}

function virsh(host: LabHost, args: string[]): Promise<string> {
  return stdout('virsh', ['-c', host.libvirtUri, ...args]);
}

async function timed<T>(label: string, action: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await action();
  process.stdout.write(`lab timing: ${label} ${Date.now() - started} ms\n`);
  return result;
}

/** The counter line the guest wrote to sector 0 of its disk, read while the guest runs. */
async function diskLine(host: LabHost, name: string): Promise<string> {
  const disk = join(guestDirOnHost(host, name), 'disk.qcow2');
  const copy = join(await mkdtemp(join(tmpdir(), 'ferry-lab-')), 'sector0.raw');
  const operands = ['bs=512', 'count=1', `if=${disk}`, `of=${copy}`];
  await stdout('qemu-img', ['dd', '-U', '-f', 'qcow2', '-O', 'raw', ...operands]);
  const line = (await readFile(copy, 'latin1')).trim();
  await rm(dirname(copy), { recursive: true });
  return line;
}

function sshHostname(host: LabHost): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const [, blob] = host.sshHostPublicKey.split(' ');
    client
      .on('ready', () =>
        client.exec('hostname', (error, channel) => {
          if (error) return reject(error);
          let output = '';
          channel.on('data', (chunk: Buffer) => (output += chunk.toString()));
          channel.on('close', () => {
            client.end();
            resolve(output.trim());
          });
        }),
      )
      .on('error', reject);
    readFile(host.sshClientKeyPath).then(
      (privateKey) =>
        client.connect({
          sock: connect(host.sshSocket),
          username: 'root',
          privateKey,
          hostVerifier: (key: Buffer) => key.equals(Buffer.from(blob, 'base64')),
        }),
      reject,
    );
  });
}

async function rootCanReachPostgres(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(5432, '127.0.0.1');
    socket.on('error', () => resolve(false));
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

/** Alive and not a zombie waiting to be reaped. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

(canRunLab ? describe : describe.skip)('the lab: libvirt hosts in network namespaces', () => {
  let lab: LabState;
  let host1: LabHost;
  let host2: LabHost;
  let guest: LabGuest;
  let qemuPid: number;
  let hadInstancesParent: boolean;

  beforeAll(async () => {
    hadInstancesParent = existsSync('/var/lib/ferry');
    const tsc = require.resolve('typescript/bin/tsc');
    await execFileAsync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')]).catch(
      () => undefined,
    );
    expect(existsSync(join(root, 'dist', 'lab', 'relay.js'))).toBe(true);
    await labDown({ stateDir });
  });

  afterAll(async () => {
    await labDown({ stateDir });
  });

  it('brings up two hosts, each libvirtd answering on a root-namespace socket', async () => {
    lab = await timed('labUp', () => labUp({ hosts: 2, stateDir, cacheDir }));
    [host1, host2] = lab.hosts;
    expect(lab.hosts.map((host) => host.name)).toEqual(['host1', 'host2']);
    expect((await virsh(host1, ['hostname'])).trim()).toBe('host1');
    expect((await virsh(host2, ['hostname'])).trim()).toBe('host2');
    const uuids = await Promise.all(
      lab.hosts.map(
        async (host) => /<host>\s*<uuid>([^<]+)</.exec(await virsh(host, ['capabilities']))?.[1],
      ),
    );
    expect(uuids).toEqual([host1.hostUuid, host2.hostUuid]);
    expect(host1.hostUuid).not.toBe(host2.hostUuid);
    expect(await labUp({ hosts: 2, stateDir, cacheDir })).toEqual(lab);
  });

  it('gives the root namespace no address on the lab network', async () => {
    expect(await stdout('ip', ['-o', 'addr'])).not.toContain('10.77.0.');
    expect(await runInHost(host1, ['ip', '-o', '-4', 'addr', 'show', 'eth0'])).toContain(
      `${host1.address}/24`,
    );
  });

  it('lets host2 ssh to host1 by key, host key checked, and refuses passwords', async () => {
    const ssh = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'];
    expect((await runInHost(host2, [...ssh, `root@${host1.address}`, 'hostname'])).trim()).toBe(
      'host1',
    );
    const passwordOnly = [
      '-o',
      'PubkeyAuthentication=no',
      '-o',
      'PreferredAuthentications=password',
    ];
    await expect(
      runInHost(host2, [...ssh, ...passwordOnly, `root@${host1.address}`, 'true']),
    ).rejects.toThrow('Permission denied (publickey)');
  });

  it("reaches a host's sshd from the root namespace through its unix socket", async () => {
    expect(await sshHostname(host1)).toBe('host1');
  });

  it('gives a host no way to PostgreSQL of the root namespace: agents hold no database', async () => {
    expect(await rootCanReachPostgres()).toBe(true);
    const probe = [
      "require('net').connect(5432, '127.0.0.1')",
      ".on('connect', () => console.log('connected'))",
      ".on('error', (error) => console.log(error.code))",
    ].join('');
    expect((await runInHost(host1, [process.execPath, '-e', probe])).trim()).toBe('ECONNREFUSED');
  });

  it('boots a guest whose counter keeps rising on the serial console and its disk', async () => {
    guest = await timed('bootGuest', () =>
      bootGuest({ stateDir, name: 'g1', host: 'host1', diskMb: 8 }),
    );
    expect(guest.serialLog).toBe(
      rootNamespacePath(host1.rootPath, '/var/lib/ferry/instances/g1/console.log'),
    );
    const first = await timed('guest boot to first counter', () => waitForCounter(guest.serialLog));
    await waitForCounter(guest.serialLog, first + 1);
    expect(await diskLine(host1, 'g1')).toMatch(/^ferry-guest g1 counter \d+$/);
    qemuPid = Number(await readFile(join(host1.rootPath, 'run/libvirt/qemu/g1.pid'), 'utf8'));
  });

  it('live-migrates the guest to host2 with virsh, the counter continuing', async () => {
    await mkdir(guestDirOnHost(host2, 'g1'), { recursive: true });
    const disk = join(guestDirOnHost(host2, 'g1'), 'disk.qcow2');
    await stdout('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '8M']);
    const flags = ['--live', '--p2p', '--persistent', '--undefinesource', '--unsafe'];
    const before = (await readCounter(guest.serialLog)) as number;
    await timed('virsh migrate', () =>
      runInHost(host1, ['virsh', 'migrate', ...flags, 'g1', host2.libvirtUriInLab]),
    );
    const onHost2 = rootNamespacePath(host2.rootPath, '/var/lib/ferry/instances/g1/console.log');
    const firstOnHost2 = await waitForCounter(onHost2);
    expect(firstOnHost2).toBeGreaterThanOrEqual(before);
    await waitForCounter(onHost2, firstOnHost2 + 1);
    expect(await diskLine(host2, 'g1')).toMatch(/^ferry-guest g1 counter \d+$/);
    expect((await virsh(host1, ['list', '--all', '--name'])).trim()).toBe('');
    expect((await virsh(host2, ['list', '--all', '--name'])).trim()).toBe('g1');
  });

  it('reports the guest on host2 in labStatus, from another process too', async () => {
    const status = await labStatus({ stateDir });
    expect(status.up).toBe(true);
    expect(status.hosts.map((host) => [host.name, host.running])).toEqual([
      ['host1', true],
      ['host2', true],
    ]);
    const onHost2 = rootNamespacePath(host2.rootPath, '/var/lib/ferry/instances/g1/console.log');
    expect(status.guests).toEqual([
      { name: 'g1', uuid: guest.uuid, host: 'host2', serialLog: onHost2 },
    ]);
    const script =
      'require(process.argv[1]).labStatus({ stateDir: process.argv[2] })' +
      '.then((status) => console.log(JSON.stringify(status)))';
    const args = ['-e', script, join(root, 'dist', 'lab'), stateDir];
    const fromAfar = JSON.parse(await stdout(process.execPath, args));
    expect(fromAfar.guests).toEqual(status.guests);
  });

  it('takes everything down, idempotently', async () => {
    const pids = [lab.relayPid, qemuPid, ...lab.hosts.flatMap((host) => Object.values(host.pids))];
    await timed('labDown', () => labDown({ stateDir }));
    await labDown({ stateDir });
    expect(await stdout('ip', ['netns', 'list'])).not.toMatch(/ferry-/);
    expect(pids.filter(isRunning)).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
    expect((await labStatus({ stateDir })).up).toBe(false);
  });

  it('cleans up a lab whose state file was lost', async () => {
    const lost = await labUp({ hosts: 1, stateDir, cacheDir });
    await rm(join(stateDir, 'state.json'));
    await labDown({ stateDir });
    expect(await stdout('ip', ['netns', 'list'])).not.toMatch(/ferry-/);
    expect([lost.relayPid, ...Object.values(lost.hosts[0].pids)].filter(isRunning)).toEqual([]);
    expect(existsSync(stateDir)).toBe(false);
    expect(existsSync('/var/lib/ferry')).toBe(hadInstancesParent);
  });
});
