import { spawnSync } from 'node:child_process';
import {
  ABORT_JOB,
  COMPARE_CPU,
  CONNECT,
  CPU_COMPARE,
  DESTROY,
  DOMAIN_STATE,
  DOMAIN_XML,
  JOB_STATS,
  JOB_TYPE,
  LIST_DOMAINS,
  LibvirtError,
  MIGRATE,
  MIGRATE_MAX_SPEED,
  UNDEFINE,
  VIR_ERR,
  VIR_FROM,
  addonPath,
  hypervisorInfo,
  nativeConstants,
  openConnection,
  parseHostCpu,
  withConnection,
  type Connection,
  type Domain,
  type MigrateParams,
} from '../../virt/libvirt/binding';

/** libvirt's test driver: in-process, no daemon, one running domain named "test". */
const URI = 'test:///default';

const domainXml = (name: string) => `<domain type='test'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os><type>hvm</type></os>
</domain>`;

async function rejection(promise: Promise<unknown>): Promise<LibvirtError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(LibvirtError);
  return error as LibvirtError;
}

describe('the libvirt binding, on the test driver', () => {
  let conn: Connection;

  beforeAll(async () => {
    conn = await openConnection(URI);
  });

  afterAll(async () => {
    await conn?.close();
  });

  it('has the constants of the headers it was compiled against, all of them', () => {
    const groups: [string, Record<string, number>][] = [
      ['VIR_CONNECT_', CONNECT],
      ['VIR_CONNECT_LIST_DOMAINS_', LIST_DOMAINS],
      ['VIR_CONNECT_COMPARE_CPU_', COMPARE_CPU],
      ['VIR_CPU_COMPARE_', CPU_COMPARE],
      ['VIR_DOMAIN_', DOMAIN_STATE],
      ['VIR_DOMAIN_XML_', DOMAIN_XML],
      ['VIR_DOMAIN_DESTROY_', DESTROY],
      ['VIR_DOMAIN_UNDEFINE_', UNDEFINE],
      ['VIR_MIGRATE_', MIGRATE],
      ['VIR_DOMAIN_MIGRATE_MAX_SPEED_', MIGRATE_MAX_SPEED],
      ['VIR_DOMAIN_ABORT_JOB_', ABORT_JOB],
      ['VIR_DOMAIN_JOB_', JOB_TYPE],
      ['VIR_DOMAIN_JOB_STATS_', JOB_STATS],
      ['VIR_ERR_', VIR_ERR],
      ['VIR_FROM_', VIR_FROM],
    ];
    const ours = Object.fromEntries(
      groups.flatMap(([prefix, group]) =>
        Object.entries(group).map(([key, value]) => [prefix + key, value]),
      ),
    );
    expect(ours).toEqual(nativeConstants());
  });

  it('describes the hypervisor and the host', async () => {
    expect(await conn.getType()).toBe('TEST');
    expect(await conn.getVersion()).toBe(2);
    expect(await conn.getLibVersion()).toBeGreaterThanOrEqual(9_000_000);
    expect(await conn.getHostname()).toMatch(/\S/);
    expect(await conn.getSysinfo()).toContain('<sysinfo');
    expect(await conn.nodeGetInfo()).toEqual({
      model: 'i686',
      memory: 3 * 1024 * 1024,
      cpus: 16,
      mhz: 1400,
      nodes: 2,
      sockets: 2,
      cores: 2,
      threads: 2,
    });
    const capabilities = await conn.getCapabilities();
    expect(capabilities).toMatch(/^<capabilities>/);
    expect(parseHostCpu(capabilities)).toEqual({ arch: 'i686', model: null });
  });

  it('sums it up as hypervisorInfo', async () => {
    expect(await hypervisorInfo(conn)).toEqual({
      arch: 'i686',
      hypervisorType: 'TEST',
      hypervisorVersion: 2,
      cpuModel: 'i686',
      vcpus: 16,
      memoryMiB: 3072,
    });
  });

  it('reads the host CPU from a QEMU host capabilities document, not from the guests', () => {
    const capabilities = `<capabilities>
  <host>
    <uuid>0</uuid>
    <cpu>
      <arch>x86_64</arch>
      <model fallback='forbid'>Skylake-Client-IBRS</model>
      <vendor>Intel</vendor>
      <topology sockets='1' dies='1' cores='2' threads='1'/>
    </cpu>
  </host>
  <guest><arch name='i686'><emulator>/usr/bin/qemu-system-i386</emulator></arch></guest>
</capabilities>`;
    expect(parseHostCpu(capabilities)).toEqual({ arch: 'x86_64', model: 'Skylake-Client-IBRS' });
    expect(parseHostCpu('<capabilities/>')).toEqual({ arch: null, model: null });
  });

  it('lists the running test domain', async () => {
    const domains = await conn.listAllDomains(LIST_DOMAINS.ACTIVE);
    expect(domains).toContainEqual({
      name: 'test',
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      active: true,
      id: expect.any(Number),
    });
  });

  it('takes a domain through define, start, pause, resume, stop and undefine', async () => {
    const name = `ferry-binding-${process.pid}`;
    const defined = await conn.defineXML(domainXml(name));
    expect(defined.getName()).toBe(name);
    expect(defined.getID()).toBeNull();
    expect(await defined.isActive()).toBe(false);
    expect(await defined.isPersistent()).toBe(true);
    expect((await defined.getState()).state).toBe(DOMAIN_STATE.SHUTOFF);

    await defined.create();
    const dom = await conn.lookupByUUIDString(defined.getUUIDString());
    expect(dom.getName()).toBe(name);
    expect(dom.getID()).toEqual(expect.any(Number));
    expect(await dom.getInfo()).toEqual({
      state: DOMAIN_STATE.RUNNING,
      maxMem: 128 * 1024,
      memory: 128 * 1024,
      nrVirtCpu: 2,
      cpuTime: expect.any(Number),
    });
    expect(await dom.getXMLDesc()).toContain(`<name>${name}</name>`);
    expect(await dom.getXMLDesc(DOMAIN_XML.INACTIVE)).toContain(`<name>${name}</name>`);

    await dom.suspend();
    expect((await dom.getState()).state).toBe(DOMAIN_STATE.PAUSED);
    await dom.resume();
    expect((await dom.getState()).state).toBe(DOMAIN_STATE.RUNNING);
    await dom.destroy();
    expect((await dom.getInfo()).state).toBe(DOMAIN_STATE.SHUTOFF);
    await dom.undefine(UNDEFINE.MANAGED_SAVE | UNDEFINE.SNAPSHOTS_METADATA);

    const gone = await rejection(conn.lookupByName(name));
    expect(gone.code).toBe(VIR_ERR.NO_DOMAIN);
    await Promise.all([dom.close(), defined.close()]);
  });

  it('rejects a lookup of a missing domain with NO_DOMAIN, naming it', async () => {
    const byName = await rejection(conn.lookupByName('no-such-domain'));
    expect(byName).toMatchObject({ name: 'LibvirtError', code: VIR_ERR.NO_DOMAIN });
    expect(byName.domain).toBe(VIR_FROM.TEST);
    expect(byName.message).toContain("'no-such-domain'");
    const uuid = '00000000-0000-0000-0000-00000000f00d';
    const byUuid = await rejection(conn.lookupByUUIDString(uuid));
    expect(byUuid.code).toBe(VIR_ERR.NO_DOMAIN);
    expect(byUuid.message).toContain(uuid);
  });

  it('rejects bad XML with libvirt’s error', async () => {
    const error = await rejection(conn.defineXML('<domain'));
    expect(error.code).toBe(VIR_ERR.XML_DETAIL);
  });

  it('rejects, without crashing, calls on closed connections and domains', async () => {
    const other = await openConnection(URI, { readOnly: true });
    const dom = await other.lookupByName('test');
    const pending = dom.getInfo();
    await other.close();
    expect((await pending).state).toBe(DOMAIN_STATE.RUNNING);
    await other.close();

    expect((await rejection(other.getType())).code).toBe(VIR_ERR.INVALID_CONN);
    expect((await rejection(other.lookupByName('test'))).code).toBe(VIR_ERR.INVALID_CONN);
    expect((await rejection(dom.getInfo())).code).toBe(VIR_ERR.INVALID_DOMAIN);
    expect(() => dom.getName()).toThrow(LibvirtError);
    await dom.close();
  });

  it('refuses writes on a read-only connection', async () => {
    const readOnly = await openConnection(URI, { readOnly: true });
    const error = await rejection(readOnly.defineXML(domainXml('ferry-read-only')));
    expect(error.code).toBe(VIR_ERR.OPERATION_DENIED);
    await readOnly.close();
  });

  it('serves many calls at once', async () => {
    const dom = await conn.lookupByName('test');
    const infos = await Promise.all(Array.from({ length: 20 }, () => dom.getInfo()));
    expect(infos.map((info) => info.state)).toEqual(Array(20).fill(DOMAIN_STATE.RUNNING));
    const connections = await Promise.all(Array.from({ length: 8 }, () => openConnection(URI)));
    expect(await Promise.all(connections.map((c) => c.getType()))).toEqual(Array(8).fill('TEST'));
    await Promise.all([dom.close(), ...connections.map((c) => c.close())]);
  });

  it('closes the connection withConnection opened, also when the callback throws', async () => {
    const seen: Connection[] = [];
    await expect(
      withConnection(URI, async (c) => {
        seen.push(c);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await withConnection(URI, async (c) => seen.push(c) && c.getType())).toBe('TEST');
    for (const c of seen) expect((await rejection(c.getType())).code).toBe(VIR_ERR.INVALID_CONN);
  });

  it('compares CPUs where the driver can, else says it cannot', async () => {
    const cpu = '<cpu><arch>i686</arch></cpu>';
    // One call at a time: a second call's rejection must not arrive before anyone awaits it.
    for (const attempt of [
      () => conn.compareCPU(cpu),
      () => conn.compareHypervisorCPU(cpu, { arch: 'i686' }),
    ]) {
      const outcome = await attempt().catch((error: unknown) => error);
      if (typeof outcome === 'number') expect(Object.values(CPU_COMPARE)).toContain(outcome);
      else expect(outcome).toMatchObject({ code: VIR_ERR.NO_SUPPORT });
    }
  });

  describe('job and migration calls the test driver does not implement', () => {
    let dom: Domain;

    beforeAll(async () => {
      dom = await conn.lookupByName('test');
    });

    afterAll(async () => {
      await dom?.close();
    });

    it.each([
      ['getJobStats', () => dom.getJobStats()],
      ['getJobStats(COMPLETED)', () => dom.getJobStats(JOB_STATS.COMPLETED)],
      ['getJobInfo', () => dom.getJobInfo()],
      ['abortJob', () => dom.abortJob()],
      ['migrateSetMaxDowntime', () => dom.migrateSetMaxDowntime(300)],
      ['migrateGetMaxDowntime', () => dom.migrateGetMaxDowntime()],
      ['migrateStartPostCopy', () => dom.migrateStartPostCopy()],
      ['migrateSetMaxSpeed', () => dom.migrateSetMaxSpeed(100, MIGRATE_MAX_SPEED.POSTCOPY)],
      ['migrateGetMaxSpeed', () => dom.migrateGetMaxSpeed()],
    ])('%s rejects with NO_SUPPORT', async (_name, call) => {
      const error = await rejection(call());
      expect(error.code).toBe(VIR_ERR.NO_SUPPORT);
      expect(error.message).toContain('not supported');
    });

    it('migrateToURI3 hands its typed parameters to libvirt, which refuses', async () => {
      const params: MigrateParams = {
        migrateUri: 'tcp://192.0.2.1:49152',
        destinationXml: domainXml('test'),
        bandwidthMiBs: 100,
        migrateDisks: ['vda', 'vdb'],
        autoConvergeInitial: 20,
        autoConvergeIncrement: 10,
      };
      const error = await rejection(
        dom.migrateToURI3(null, params, MIGRATE.LIVE | MIGRATE.AUTO_CONVERGE),
      );
      expect(error.code).toBe(VIR_ERR.ARGUMENT_UNSUPPORTED);
      expect(await dom.isActive()).toBe(true);
    });

    it('migrateToURI3 rejects parameters it does not know, and ill-typed ones', async () => {
      // The addon's TypeErrors come from Node's realm, not jest's sandbox: match by name.
      const typeError = (message: string) => ({ name: 'TypeError', message });
      const unknown = { bandwidth: 1 } as unknown as MigrateParams;
      await expect(dom.migrateToURI3(null, unknown, 0)).rejects.toMatchObject(
        typeError("unknown migration parameter 'bandwidth'"),
      );
      await expect(dom.migrateToURI3(null, { bandwidthMiBs: -1 }, 0)).rejects.toMatchObject(
        typeError('bandwidthMiBs must be a non-negative safe integer'),
      );
      const disks = { migrateDisks: 'vda' } as unknown as MigrateParams;
      await expect(dom.migrateToURI3(null, disks, 0)).rejects.toMatchObject(
        typeError('migrateDisks must be an array of strings'),
      );
      await expect(dom.migrateToURI3(null, {}, 2 ** 32)).rejects.toMatchObject(
        typeError('flags must be an integer in [0, 2^32)'),
      );
    });
  });

  it('lets a process exit promptly with connections, domains and calls left open', () => {
    const script = `
      const addon = require(${JSON.stringify(addonPath())});
      (async () => {
        const conns = await Promise.all([1, 2, 3].map(() => addon.open('test:///default', 0)));
        const dom = await conns[0].lookupByName('test');
        globalThis.kept = [conns, dom];
        conns[1].getCapabilities();
        dom.getInfo();
        process.stdout.write('left open');
      })();`;
    const child = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('left open');
    expect({ status: child.status, signal: child.signal }).toEqual({ status: 0, signal: null });
  });
});
