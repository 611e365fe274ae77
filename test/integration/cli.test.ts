import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLibsqlClient } from '../../db/libsql';
import { ferry } from '../support/ferry-cli';

/** The built CLI as an operator runs it, on a scratch SQLite database. */
describe('ferry CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
  const env = { FERRY_DATA_DIR: dir, FERRY_DATABASE_URL: `file:${join(dir, 'ferry.db')}` };

  beforeAll(async () => {
    expect(await ferry(['db', 'migrate'], env)).toMatchObject({ code: 0 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds hosts and lists them as a table and as JSON', async () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDx5Yl3YQ3kq1oZqB2sX0R6O3x2b4l6n8p0r2t4v6x8z';
    expect(
      await ferry(
        [
          'hosts',
          'add',
          'cmp-a',
          '--libvirt-uri',
          'qemu+tls://10.77.0.11/system',
          '--ssh-address',
          '10.77.0.11',
          '--ssh-host-key',
          key,
        ],
        env,
      ),
    ).toMatchObject({ code: 0, stdout: 'host cmp-a added\n' });
    const table = await ferry(['hosts', 'list'], env);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^NAME\s+STATE\s+LIVENESS\s+ARCH\s+HYPERVISOR/);
    // Enabled, and down until its agent answers a heartbeat.
    expect(row).toMatch(/^cmp-a\s+up\s+down\s+-/);
    const listed = JSON.parse((await ferry(['hosts', 'list', '--json'], env)).stdout);
    expect(listed).toEqual([
      expect.objectContaining({
        name: 'cmp-a',
        sshAddress: '10.77.0.11',
        sshPort: 22,
        state: 'up',
      }),
    ]);
  });

  it.each([
    [
      ['hosts', 'add', 'cmp-a', '--libvirt-uri', 'test:///default'],
      /host "cmp-a" is already registered/,
    ],
    [['hosts', 'add', 'bad name', '--libvirt-uri', 'test:///default'], /host name "bad name"/],
    [['hosts', 'add', 'cmp-b'], /--libvirt-uri: a libvirt URI/],
    [
      ['hosts', 'add', 'cmp-b', '--libvirt-uri', 'test:///default', '--ssh-port', '99999'],
      /--ssh-port/,
    ],
    [
      ['hosts', 'add', 'cmp-b', '--libvirt-uri', 'test:///default', '--ssh-host-key', 'hunter2'],
      /--ssh-host-key/,
    ],
    [
      ['hosts', 'add', 'cmp-b', '--libvirt-uri', 'test:///default', '--instances-dir', 'rel'],
      /--instances-dir/,
    ],
    [
      ['hosts', 'add', 'cmp-b', '--libvirt-uri', 'qemu+tcp://10.77.0.12/system'],
      /qemu\+tcp:\/\/ has no encryption .* --allow-insecure-tcp/,
    ],
    [['hosts', 'frobnicate'], /usage: ferry hosts/],
    [['teleport'], /unknown command "teleport"/],
  ])('refuses %j with exit 2 and one line naming the problem', async (args, message) => {
    const result = await ferry(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.startsWith('ferry: ')).toBe(true);
    expect(JSON.parse((await ferry(['hosts', 'list', '--json'], env)).stdout)).toHaveLength(1);
  });

  it('adds a qemu+tcp:// host only when told it is insecure on purpose', async () => {
    const args = ['hosts', 'add', 'cmp-lab', '--libvirt-uri', 'qemu+tcp://10.77.0.13/system'];
    expect(await ferry([...args, '--allow-insecure-tcp'], env)).toMatchObject({ code: 0 });
    const listed = JSON.parse((await ferry(['hosts', 'list', '--json'], env)).stdout);
    expect(listed.map((host: { name: string }) => host.name)).toContain('cmp-lab');
  });

  it('stops on an invalid setting, naming the variable', async () => {
    const result = await ferry(['hosts', 'list'], {
      ...env,
      FERRY_RESIZE_CONFIRM_WINDOW: 'tomorrow',
    });
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe(
      'ferry: FERRY_RESIZE_CONFIRM_WINDOW: "tomorrow" is not an integer\n',
    );
  });

  it('shows the configuration without secrets', async () => {
    const result = await ferry(['config', '--json'], {
      ...env,
      FERRY_API_TOKENS: 'averysecrettoken0001:admin',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('averysecrettoken0001');
    expect(JSON.parse(result.stdout)).toMatchObject({
      apiTokens: [{ token: '***', role: 'admin' }],
      resizeConfirmWindowSeconds: 86400,
    });
  });

  it("says whose settings apply: policy is the control plane's", async () => {
    const result = await ferry(['config'], env);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const control = lines.findIndex((line) => line.startsWith('control plane'));
    expect(control).toBeGreaterThanOrEqual(0);
    expect(lines.slice(control + 1, control + 7)).toEqual([
      '  resizeConfirmWindowSeconds = 86400',
      '  maxConcurrentLiveMigrations = 1',
      '  reportIntervalSeconds = 10',
      '  serviceDownTimeSeconds = 60',
      '  maxConcurrentMigrations = 5',
      '  schedulerMaxAttempts = 3',
    ]);
    expect(result.stdout).toMatch(
      /\n {2}libvirtUri = \S+ \(FERRY_LIBVIRT_URI or --libvirt-uri\)\n/,
    );
  });

  it('says in one line why the database refused a write, and leaves no half of it', async () => {
    // Another process's write transaction holds SQLite's lock past the CLI's busy timeout.
    const other = openLibsqlClient(env.FERRY_DATABASE_URL);
    const create = [
      'flavors',
      'create',
      'locked',
      '--vcpus',
      '1',
      '--memory-mb',
      '64',
      '--disk-gb',
      '1',
    ];
    const held = await other.transaction('write');
    try {
      expect(await ferry(create, env)).toEqual({
        code: 1,
        stdout: '',
        stderr: 'ferry: database: Operation has timed out (SQLITE_BUSY: database is locked)\n',
      });
    } finally {
      await held.rollback();
      other.close();
    }
    expect((await ferry(['flavors', 'list'], env)).stdout).not.toMatch(/locked/);
    expect(await ferry(create, env)).toMatchObject({ code: 0 });
  }, 30_000);

  it('refuses to start a host agent that is handed a database, in one line', async () => {
    const withUrl = await ferry(['agent', '--host', 'h1'], {
      ...env,
      FERRY_DATABASE_URL: 'file:/tmp/never.db',
    });
    expect(withUrl).toMatchObject({ code: 2, stdout: '' });
    expect(withUrl.stderr).toBe(
      'ferry: FERRY_DATABASE_URL: a host agent never opens the database; unset it (docs/host-agent.md)\n',
    );
    const withOption = await ferry(['agent', '--host', 'h1', '--database', 'file:/tmp/x.db'], {
      ...env,
      FERRY_DATABASE_URL: '',
    });
    expect(withOption).toMatchObject({ code: 2 });
    expect(withOption.stderr).toBe(
      'ferry: --database: a host agent never opens the database (docs/host-agent.md)\n',
    );
  });
});
