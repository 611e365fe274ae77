import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  confineInstancePath,
  InstancePathError,
  resolveInstancePath,
} from '../../virt/instance-paths';

const DIR = '/var/lib/ferry/instances';

describe('confineInstancePath', () => {
  test.each([
    ['vm1/disk.qcow2', `${DIR}/vm1/disk.qcow2`],
    ['disk.raw', `${DIR}/disk.raw`],
    [`${DIR}/vm1/disk.qcow2`, `${DIR}/vm1/disk.qcow2`],
    ['vm1/../vm2/disk.qcow2', `${DIR}/vm2/disk.qcow2`],
    ['./vm1//disk.qcow2', `${DIR}/vm1/disk.qcow2`],
    ['..disk', `${DIR}/..disk`],
    [`${DIR}/vm1/./x/../disk`, `${DIR}/vm1/disk`],
  ])('accepts %j', (path, expected) => {
    expect(confineInstancePath(DIR, path)).toBe(expected);
  });

  test.each([
    ['', 'empty path'],
    ['vm1/disk\0.qcow2', 'NUL byte'],
    ['..', 'outside'],
    ['../other/disk.qcow2', 'outside'],
    ['vm1/../../disk.qcow2', 'outside'],
    ['/etc/passwd', 'outside'],
    [DIR, 'outside'],
    [`${DIR}/`, 'outside'],
    ['.', 'outside'],
    [`${DIR}-other/disk.qcow2`, 'outside'],
    ['/var/lib/ferry/instances2/disk', 'outside'],
  ])('refuses %j', (path, reason) => {
    let error: unknown;
    try {
      confineInstancePath(DIR, path);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InstancePathError);
    expect((error as InstancePathError).path).toBe(path);
    expect((error as Error).message).toContain(reason);
    expect((error as Error).message).toContain(JSON.stringify(path));
  });

  test('refuses a relative instances dir', () => {
    expect(() => confineInstancePath('instances', 'disk')).toThrow(InstancePathError);
  });
});

describe('resolveInstancePath', () => {
  let root: string;
  let dir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-paths-'));
    dir = join(root, 'instances');
    await mkdir(join(dir, 'vm1'), { recursive: true });
    await mkdir(join(root, 'outside'));
    await writeFile(join(dir, 'vm1', 'disk.qcow2'), '');
    await writeFile(join(root, 'outside', 'secret'), '');
    await symlink(join(root, 'outside', 'secret'), join(dir, 'vm1', 'escape.qcow2'));
    await symlink(join(root, 'outside'), join(dir, 'linked-dir'));
    await symlink(join(dir, 'vm1', 'disk.qcow2'), join(dir, 'vm1', 'alias.qcow2'));
    await symlink(join(root, 'outside', 'missing'), join(dir, 'dangling.qcow2'));
  });

  afterAll(() => rm(root, { recursive: true, force: true }));

  test.each([
    ['vm1/disk.qcow2'],
    ['vm1/new.qcow2'],
    ['vm2/not/yet/created.qcow2'],
    ['vm1/alias.qcow2'],
  ])('accepts %j', async (path) => {
    await expect(resolveInstancePath(dir, path)).resolves.toBe(join(dir, path));
  });

  test.each([
    ['vm1/escape.qcow2', 'outside'],
    ['linked-dir/secret', 'outside'],
    ['linked-dir/new.qcow2', 'outside'],
    ['dangling.qcow2', 'dangling symlink'],
    ['../outside/secret', 'outside'],
  ])('refuses %j', async (path, reason) => {
    const refused = resolveInstancePath(dir, path);
    await expect(refused).rejects.toBeInstanceOf(InstancePathError);
    await expect(refused).rejects.toThrow(reason);
  });
});
