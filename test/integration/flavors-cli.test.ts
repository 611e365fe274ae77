import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from '../../db/database';
import { scratchDatabase, type ScratchDatabase } from '../support/databases';
import { ferry } from '../support/ferry-cli';

const create = (...options: string[]) => ['flavors', 'create', ...options];
const SIZED = ['--vcpus', '1', '--memory-mb', '512', '--disk-gb', '1'];

/** `ferry flavors` as an operator runs it (the built CLI), on scratch SQLite and PostgreSQL. */
describe.each(['sqlite', 'postgresql'] as const)('ferry flavors on %s', (provider) => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-flavors-cli-'));
  let scratch: ScratchDatabase;
  let env: NodeJS.ProcessEnv;
  let db: Database;

  beforeAll(async () => {
    scratch = await scratchDatabase(provider);
    env = { FERRY_DATA_DIR: dir, FERRY_DATABASE_URL: scratch.url };
    expect(await ferry(['db', 'migrate'], env)).toMatchObject({ code: 0 });
    db = await openDatabase(scratch.url);
  });

  afterAll(async () => {
    await db?.$disconnect();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = () =>
    db.flavor.findMany({
      orderBy: { name: 'asc' },
      select: {
        id: true,
        name: true,
        vcpus: true,
        memoryMiB: true,
        rootDiskGiB: true,
        disabled: true,
      },
    });

  it('creates flavors and lists them as a table and as JSON', async () => {
    const empty = await ferry(['flavors', 'list'], env);
    expect(empty).toMatchObject({
      code: 0,
      stdout: 'NAME  ID  VCPUS  MEMORY MIB  DISK GIB  DISABLED\n',
    });
    expect(await ferry(['flavors', 'list', '--json'], env)).toMatchObject({
      code: 0,
      stdout: '[]\n',
    });

    expect(
      await ferry(
        ['flavors', 'create', 'small', '--vcpus', '2', '--memory-mb', '2048', '--disk-gb', '10'],
        env,
      ),
    ).toMatchObject({
      code: 0,
      stdout: 'flavor small created (id small: 2 vCPUs, 2048 MiB, 10 GiB)\n',
      stderr: '',
    });
    const large = await ferry(
      [
        'flavors',
        'create',
        'm1.large',
        '--id',
        '4',
        '--vcpus=8',
        '--memory-mb',
        '16384',
        '--disk-gb',
        '160',
        '--json',
      ],
      env,
    );
    expect(large.code).toBe(0);
    const created = {
      id: '4',
      name: 'm1.large',
      vcpus: 8,
      memoryMiB: 16_384,
      rootDiskGiB: 160,
      disabled: false,
    };
    expect(JSON.parse(large.stdout)).toEqual(created);

    const small = {
      id: 'small',
      name: 'small',
      vcpus: 2,
      memoryMiB: 2048,
      rootDiskGiB: 10,
      disabled: false,
    };
    expect(await rows()).toEqual([created, small]);

    const table = await ferry(['flavors', 'list'], env);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')).toEqual([
      'NAME      ID     VCPUS  MEMORY MIB  DISK GIB  DISABLED',
      'm1.large  4      8      16384       160       no',
      'small     small  2      2048        10        no',
      '',
    ]);
    const listed = await ferry(['flavors', 'list', '--json'], env);
    expect(JSON.parse(listed.stdout)).toEqual([created, small]);
  });

  it.each([
    ['a name taken', create('small', ...SIZED), 'flavor "small" already exists'],
    [
      'an id taken',
      create('tiny', '--id', 'small', ...SIZED),
      '--id "small": already the id of flavor "small"',
    ],
  ])('refuses %s with exit 2 and creates nothing', async (_, args, message) => {
    await expectRefused(args, message);
  });

  /** Runs `args`, which must fail with exit 2 and `message` alone on stderr, leaving the rows. */
  async function expectRefused(args: string[], message: string | RegExp): Promise<void> {
    const before = await rows();
    const result = await ferry(args, env);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr.startsWith('ferry: ')).toBe(true);
    const reason = result.stderr.slice('ferry: '.length).trimEnd();
    if (typeof message === 'string') expect(reason).toBe(message);
    else expect(reason).toMatch(message);
    expect(await rows()).toEqual(before);
  }

  // What is wrong in the arguments themselves is refused before the database is opened, so
  // checking it once, on SQLite, is enough.
  if (provider === 'postgresql') return;

  it.each([
    [
      'a name with a space',
      create('bad name', ...SIZED),
      `flavor name "bad name": letters, digits, '.', '_' and '-', starting with a letter or digit, at most 255`,
    ],
    [
      'a name of 256 characters',
      create('x'.repeat(256), ...SIZED),
      /^flavor name "x{256}": letters/,
    ],
    [
      'an id with a slash',
      create('tiny', '--id', 'a/b', ...SIZED),
      /^--id "a\/b": letters, digits/,
    ],
    [
      'no vCPUs',
      create('tiny', '--vcpus', '0', '--memory-mb', '512', '--disk-gb', '1'),
      '--vcpus: "0" is not a positive integer',
    ],
    [
      'a fraction of a MiB',
      create('tiny', '--vcpus', '1', '--memory-mb', '1.5', '--disk-gb', '1'),
      '--memory-mb: "1.5" is not a positive integer',
    ],
    [
      'an exponent',
      create('tiny', '--vcpus', '1', '--memory-mb', '1e3', '--disk-gb', '1'),
      '--memory-mb: "1e3" is not a positive integer',
    ],
    [
      'a negative disk',
      create('tiny', '--vcpus', '1', '--memory-mb', '512', '--disk-gb=-3'),
      '--disk-gb: "-3" is not a positive integer',
    ],
    [
      'more vCPUs than the database holds',
      create('tiny', '--vcpus', '3000000000', '--memory-mb', '512', '--disk-gb', '1'),
      '--vcpus: 3000000000 is more than 2147483647',
    ],
    [
      'a missing size',
      create('tiny', '--vcpus', '1', '--memory-mb', '512'),
      '--disk-gb: required (a positive integer)',
    ],
    ['an unknown option', create('tiny', ...SIZED, '--ram', '512'), /^Unknown option '--ram'/],
    ['an option for a name', create('-x', ...SIZED), /^Unknown option '-x'/],
    ['two names', create('tiny', ...SIZED, 'extra'), /^usage: ferry flavors create NAME --vcpus N/],
    ['no name', create(...SIZED), /^usage: ferry flavors create NAME --vcpus N/],
    ['an unknown subcommand', ['flavors', 'delete', 'small'], 'usage: ferry flavors list|create'],
    ['no subcommand', ['flavors'], 'usage: ferry flavors list|create'],
    ['an unknown list option', ['flavors', 'list', '--yaml'], /^Unknown option '--yaml'/],
  ])(
    'refuses %s with exit 2, naming the problem, and creates nothing',
    async (_, args, message) => {
      await expectRefused(args, message);
    },
  );
});
