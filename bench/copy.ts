/**
 * copyDisk against Nova's two transports, OpenSSH scp and `rsync --sparse`, between two lab hosts,
 * in rounds that rotate which goes first: a 1 GiB random image and a 4 GiB sparse image with 10%
 * data. Each round also times the ceiling: the same bytes through `ssh HOST 'cat > /dev/null'`
 * with copyDisk's cipher and no shell start-up. All run inside host1 (as ferry's agent on a source
 * host would), over the lab network to host2's sshd, with host1's key and strict host key
 * checking. Also the CPU time of copyDisk's two ends: this process's, and the receiver's as the
 * shell that runs it on host2 counts it (`times`). Prints progress on stderr and, last, the medians
 * as one JSON line.
 * `npm run bench:copy -- [--rounds N] [--json]`
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { copyDisk } from '../activities/host/copy-disk';
import { hostCommand, INSTANCES_DIR, labDown, labUp, type LabState } from '../lab';
import { projectRoot } from '../config/project-root';
import { median } from '../test/support/statistics';
import { ownCpuMs } from './measure';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
/** The cipher ssh2 negotiates for copyDisk (AES-NI). */
const CEILING_CIPHER = 'aes128-gcm@openssh.com';

interface Case {
  name: 'random' | 'sparse';
  bytes: number;
  /** MiB offsets holding random data. */
  dataAtMiB: number[];
}

const CASES: Case[] = [
  { name: 'random', bytes: 1024 * MiB, dataAtMiB: Array.from({ length: 1024 }, (_, i) => i) },
  { name: 'sparse', bytes: 4096 * MiB, dataAtMiB: Array.from({ length: 410 }, (_, i) => i * 10) },
];

async function createImage(path: string, { bytes, dataAtMiB }: Case): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.truncate(bytes);
    for (const at of dataAtMiB) await file.write(randomBytes(MiB), 0, MiB, at * MiB);
    // Flushed, so that writeback does not weigh on the first round.
    await file.sync();
  } finally {
    await file.close();
  }
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** One benchmark run, inside host1's namespaces: host1's instances dir to host2's. */
async function benchInHost1(rounds: number, state: LabState): Promise<void> {
  const [, host2] = state.hosts;
  const dir = join(INSTANCES_DIR, 'bench-copy');
  await mkdir(dir, { recursive: true });
  const privateKeyFile = '/root/.ssh/id_ed25519';
  const target = {
    host: host2.address,
    port: host2.sshPort,
    username: 'root',
    privateKey: await readFile(privateKeyFile),
    hostPublicKey: host2.sshHostPublicKey,
  };
  const remove = (name: string) =>
    execFileAsync('ssh', [
      '-o',
      'BatchMode=yes',
      `root@${host2.address}`,
      'rm',
      '-f',
      join(dir, name),
    ]);
  const receiverTimes = join(dir, 'receiver-times');
  const cpu = { source: [] as number[], receiver: [] as number[] };
  const ferry = async (name: string) => {
    const before = ownCpuMs();
    await copyDisk({
      source: join(dir, name),
      dest: { ...target, path: join(dir, name) },
      instancesDir: dir,
      destInstancesDir: dir,
      // The default receiver, run by a shell that writes its children's CPU time after it.
      destReceiverCommand: [
        ...['sh', '-c', 'node "$@"; status=$?; times > "$0"; exit $status', receiverTimes],
        join(projectRoot(), 'dist/activities/host/disk-receiver.js'),
      ],
    });
    cpu.source.push((ownCpuMs() - before) / 1000);
  };
  /** User + system seconds of the last receiver: the second line of `times`, e.g. `0m1.2s 0m0.3s`. */
  const receiverCpu = async () => {
    const { stdout } = await execFileAsync('ssh', [
      ...['-o', 'BatchMode=yes', `root@${host2.address}`, 'cat', receiverTimes],
    ]);
    const children = stdout.trim().split('\n')[1] ?? '';
    const parts = [...children.matchAll(/(\d+)m([\d.]+)s/g)];
    if (parts.length !== 2) throw new Error(`unexpected times output: ${JSON.stringify(stdout)}`);
    return parts.reduce(
      (sum, [, minutes, seconds]) => sum + Number(minutes) * 60 + Number(seconds),
      0,
    );
  };
  const sshOptions = [
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-i',
    privateKeyFile,
  ];
  const remotePath = (name: string) => `root@${host2.address}:${join(dir, name)}`;
  const scp = (name: string) =>
    execFileAsync('scp', ['-q', ...sshOptions, join(dir, name), remotePath(name)]);
  const rsync = (name: string) =>
    execFileAsync('rsync', [
      ...['--sparse', '-e', ['ssh', ...sshOptions].join(' ')],
      join(dir, name),
      remotePath(name),
    ]);
  const ceiling = (name: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        'ssh',
        [
          ...sshOptions,
          ...['-c', CEILING_CIPHER, '-o', 'SetEnv=SHLVL=1', `root@${host2.address}`],
          'cat > /dev/null',
        ],
        { stdio: ['pipe', 'ignore', 'inherit'] },
      );
      createReadStream(join(dir, name)).pipe(child.stdin);
      child.once('error', reject);
      child.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`ssh cat exited with ${code}`)),
      );
    });
  const tools = { ferry, scp, rsync, ceiling };
  const order = Object.keys(tools) as Array<keyof typeof tools>;
  await execFileAsync('ssh', ['-o', 'BatchMode=yes', `root@${host2.address}`, 'mkdir', '-p', dir]);

  const cases = [];
  for (const testCase of CASES) {
    const name = `${testCase.name}.raw`;
    await createImage(join(dir, name), testCase);
    cpu.source = [];
    cpu.receiver = [];
    const seconds: Record<keyof typeof tools, number[]> = {
      ferry: [],
      scp: [],
      rsync: [],
      ceiling: [],
    };
    for (let round = 0; round < rounds; round += 1) {
      // Each tool goes first in turn.
      const rotated = [
        ...order.slice(round % order.length),
        ...order.slice(0, round % order.length),
      ];
      for (const tool of rotated) {
        await remove(name);
        const elapsed = await timed(() => tools[tool](name));
        seconds[tool].push(elapsed);
        let line = `${testCase.name} round ${round} ${tool}: ${elapsed.toFixed(2)} s`;
        if (tool === 'ferry') {
          cpu.receiver.push(await receiverCpu());
          const [source, receiver] = [cpu.source.at(-1), cpu.receiver.at(-1)];
          line += ` (CPU: source ${source?.toFixed(2)} s, receiver ${receiver?.toFixed(2)} s)`;
        }
        process.stderr.write(`${line}\n`);
      }
    }
    await remove(name);
    await rm(join(dir, name), { force: true });
    const ferrySeconds = median(seconds.ferry);
    const scpSeconds = median(seconds.scp);
    cases.push({
      name: testCase.name,
      bytes: testCase.bytes,
      ferrySeconds,
      scpSeconds,
      rsyncSeconds: median(seconds.rsync),
      ceilingSeconds: median(seconds.ceiling),
      ferrySourceCpuSeconds: median(cpu.source),
      ferryReceiverCpuSeconds: median(cpu.receiver),
      ratio: scpSeconds / ferrySeconds,
    });
  }
  process.stdout.write(`${JSON.stringify({ cases })}\n`);
}

/** Brings up a lab of its own, runs the benchmark inside host1, and takes the lab down. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
      'in-host1': { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds: a positive integer');
  if (values['in-host1']) {
    const state: LabState = JSON.parse(
      await readFile(join(values['in-host1'], 'state.json'), 'utf8'),
    );
    return benchInHost1(rounds, state);
  }
  const stateDir = await mkdtemp(join(tmpdir(), 'ferry-bench-lab-'));
  try {
    const state = await labUp({ stateDir, cacheDir: join(projectRoot(), 'data', 'lab', 'cache') });
    const [program, ...args] = hostCommand(state.hosts[0], [
      process.execPath,
      __filename,
      '--rounds',
      String(rounds),
      '--in-host1',
      stateDir,
    ]);
    const child = spawn(program, args, { stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`benchmark inside host1 exited with ${code}`);
  } finally {
    await labDown({ stateDir });
    await rm(stateDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
