/**
 * A host agent keeps one connection to its own libvirt (activities/host/kept-connection.ts): the
 * real host activities on the sim driver, whose connections die with their libvirtd as libvirt's
 * do. The driver is wrapped only to count the connections it opens.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { loadConfig } from '../../config';
import { createHostActivities } from '../../activities/host';
import { keepingConnection } from '../../activities/host/kept-connection';
import { liveMigrationSettings } from '../../activities/host/live-migration/settings';
import type { Hypervisor, HypervisorConnection } from '../../virt/driver';
import { VIR_ERR } from '../../virt/libvirt/binding';
import { SimFleet } from '../../virt/sim/fleet';
import type { MigrationResult } from '../../workflows/live-migration-contract';

/** The fleet's driver, recording the URI of every connection it opens. */
function counted(fleet: SimFleet): { hypervisor: Hypervisor; opened: string[] } {
  const opened: string[] = [];
  const { hypervisor } = fleet;
  return {
    opened,
    hypervisor: {
      openConnection: (uri) => {
        opened.push(uri);
        return hypervisor.openConnection(uri);
      },
      withConnection: (uri, fn) => {
        opened.push(uri);
        return hypervisor.withConnection(uri, fn);
      },
    },
  };
}

const own = SimFleet.uri('host1');
const peer = SimFleet.uri('host2');

describe("a host agent's kept libvirt connection", () => {
  let fleet: SimFleet;
  let driver: ReturnType<typeof counted>;
  const inActivity = <T>(fn: () => Promise<T>): Promise<T> =>
    new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(fn);

  beforeEach(() => {
    fleet = new SimFleet();
    fleet.addHost('host1');
    fleet.addHost('host2');
    driver = counted(fleet);
  });

  function agent() {
    return createHostActivities({
      hostName: 'host1',
      hypervisor: driver.hypervisor,
      libvirtUri: own,
      instancesDir: '/nonexistent',
      liveMigration: liveMigrationSettings(loadConfig({})),
      reportProgress: () => Promise.resolve(),
    });
  }

  it('is opened once for every activity on the host, even for uses that begin together', async () => {
    const activities = agent();
    const described = await Promise.all(
      [1, 2, 3].map(() => inActivity(() => activities.describeHypervisor())),
    );
    await inActivity(() => activities.describeHypervisor());
    expect(described.map((info) => info.hypervisorType)).toEqual(['QEMU', 'QEMU', 'QEMU']);
    expect(driver.opened).toEqual([own]);
  });

  it('fails while libvirtd is down as a new connection would, and is opened again once it is back', async () => {
    const activities = agent();
    await inActivity(() => activities.describeHypervisor());
    fleet.stopLibvirt('host1');
    await expect(inActivity(() => activities.describeHypervisor())).rejects.toMatchObject({
      code: VIR_ERR.NO_CONNECT,
      message: expect.stringContaining('Connection refused'),
    });
    fleet.startLibvirt('host1');
    await inActivity(() => activities.describeHypervisor());
    expect(driver.opened).toEqual([own, own, own]);

    // Uses that find the kept connection dead together open one new connection between them.
    fleet.stopLibvirt('host1');
    fleet.startLibvirt('host1');
    const described = await Promise.all(
      [1, 2, 3].map(() => inActivity(() => activities.describeHypervisor())),
    );
    expect(described.map((info) => info.hypervisorType)).toEqual(['QEMU', 'QEMU', 'QEMU']);
    expect(driver.opened).toEqual([own, own, own, own]);
  });

  it("leaves a peer's connections and a caller's own as they were: opened for each use", async () => {
    const hypervisor = keepingConnection(driver.hypervisor, own);
    await inActivity(async () => {
      for (let use = 0; use < 2; use += 1) {
        await hypervisor.withConnection(peer, (conn) => conn.getVersion());
      }
      const [first, second] = [
        await hypervisor.openConnection(own),
        await hypervisor.openConnection(own),
      ];
      expect(first).not.toBe(second);
      await first.close();
      await second.close();
    });
    expect(driver.opened).toEqual([peer, peer, own, own]);
  });
});

describe("a live migration's read of the destination after its job", () => {
  const guest = {
    uuid: '00000000-0000-4000-8000-0000000000aa',
    name: 'vm1',
    memoryMiB: 64,
    vcpus: 1,
  };

  /** liveMigrate from host1 to host2; `openPeer` stands between the driver and its peer opens. */
  async function migrate(
    openPeer: (
      fleet: SimFleet,
      opening: Promise<HypervisorConnection>,
    ) => Promise<HypervisorConnection>,
  ) {
    const fleet = new SimFleet();
    fleet.addHost('host1');
    fleet.addHost('host2');
    fleet.define('host1', guest);
    const { hypervisor, opened } = counted(fleet);
    const activities = createHostActivities({
      hostName: 'host1',
      hypervisor: {
        ...hypervisor,
        openConnection: (uri) => {
          const opening = hypervisor.openConnection(uri);
          return uri === peer ? openPeer(fleet, opening) : opening;
        },
      },
      libvirtUri: own,
      instancesDir: '/nonexistent',
      liveMigration: { ...liveMigrationSettings(loadConfig({})), monitorIntervalMs: 50 },
      reportProgress: () => Promise.resolve(),
    });
    const result: MigrationResult = await new MockActivityEnvironment(undefined, {
      logger: new DefaultLogger('ERROR'),
    }).run(() =>
      activities.liveMigrate({
        migrationUuid: 'm1',
        instanceUuid: guest.uuid,
        destHost: 'host2',
        destLibvirtUri: peer,
        blockMigration: false,
        disks: [],
      }),
    );
    return { result, fleet, opened };
  }

  it('is made on a connection opened while the job ran', async () => {
    const { result, fleet, opened } = await migrate((_, opening) => opening);
    expect(fleet.hostsOf(guest.uuid)).toEqual(['host2']);
    expect(result.downtimeMs).toBe(fleet.timings.downtimeMs);
    // Its own kept connection, the destination's before the job's own: no peer opened after it.
    expect(opened).toEqual([own, peer, own]);
  });

  it("is made on a new connection when that one died with the destination's libvirtd", async () => {
    const { result, fleet, opened } = await migrate(async (sim, opening) => {
      const conn = await opening;
      // The destination's libvirtd restarts once the early connection is open: it is dead.
      sim.stopLibvirt('host2');
      sim.startLibvirt('host2');
      return conn;
    });
    expect(fleet.hostsOf(guest.uuid)).toEqual(['host2']);
    expect(result.downtimeMs).toBe(fleet.timings.downtimeMs);
    expect(opened).toEqual([own, peer, own, peer]);
  });

  it('does not wait for a connection still being opened when the job ends', async () => {
    // The early open never completes (a destination cut off as the job started).
    const { result, fleet, opened } = await migrate(() => new Promise(() => undefined));
    expect(fleet.hostsOf(guest.uuid)).toEqual(['host2']);
    expect(result.downtimeMs).toBe(fleet.timings.downtimeMs);
    expect(opened).toEqual([own, peer, own, peer]);
  });
});

describe('a sim connection', () => {
  it('dies with its libvirtd and stays dead after the daemon is back, as libvirt sockets do', async () => {
    const fleet = new SimFleet();
    fleet.addHost('host1');
    const before = await fleet.hypervisor.openConnection(own);
    fleet.stopLibvirt('host1');
    fleet.startLibvirt('host1');
    await expect(before.getVersion()).rejects.toMatchObject({
      code: VIR_ERR.INTERNAL_ERROR,
      message: 'internal error: client socket is closed',
    });
    const after = await fleet.hypervisor.openConnection(own);
    await expect(after.getVersion()).resolves.toBeGreaterThan(0);
  });
});
