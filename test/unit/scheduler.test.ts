import { freeResources, hostUsage, type HostState, type Resources } from '../../db/host-state';
import {
  ComputeFilter,
  filterHosts,
  firstRefusal,
  HypervisorCompatibilityFilter,
  IgnoreHostsFilter,
  lackingResource,
  RESOURCE_FILTERS,
  weighHosts,
  type RequestSpec,
} from '../../activities/control/scheduler';

const size = (vcpus: number, memoryMiB: number, diskGiB: number): Resources => ({
  vcpus,
  memoryMiB,
  diskGiB,
});

function host(name: string, overrides: Partial<HostState> = {}): HostState {
  return {
    name,
    state: 'up',
    disabledReason: null,
    arch: 'x86_64',
    hypervisorType: 'QEMU',
    hypervisorVersion: 8_002_000,
    total: size(8, 16_384, 100),
    used: size(0, 0, 0),
    ...overrides,
  };
}

const source = host('host1');
const spec: RequestSpec = {
  instanceName: 'demo',
  sourceHost: 'host1',
  source,
  ignoreHosts: ['host9'],
  needs: size(2, 2048, 10),
};

describe('freeResources', () => {
  it('offers total × allocation ratio minus usage: vCPUs 4.0, RAM and disk 1.0', () => {
    expect(freeResources(host('h', { used: size(10, 4096, 30) }))).toEqual({
      vcpus: 22,
      memoryMiB: 12_288,
      diskGiB: 70,
    });
  });

  it('treats a total of 0 as unknown', () => {
    expect(freeResources(host('h', { total: size(0, 1024, 0) }))).toEqual({
      vcpus: null,
      memoryMiB: 1024,
      diskGiB: null,
    });
  });
});

describe('hostUsage', () => {
  const small = { size: size(1, 512, 5) };
  const instances = [
    { hostName: 'host2', size: size(1, 512, 5) },
    { hostName: 'host2', size: size(2, 1024, 10) },
    { hostName: 'host3', size: size(4, 4096, 40) },
  ];

  it('sums the flavors of the instances on the host', () => {
    expect(hostUsage('host2', instances, [])).toEqual(size(3, 1536, 15));
  });

  it('adds claims for instances living elsewhere in full', () => {
    const claims = [
      { hostName: 'host2', size: size(2, 2048, 20), instance: { hostName: 'host1', ...small } },
      { hostName: 'host3', size: size(1, 100, 1), instance: { hostName: 'host1', ...small } },
    ];
    expect(hostUsage('host2', instances, claims)).toEqual(size(5, 3584, 35));
  });

  it('counts a claim for an instance on the host only beyond its flavor: the larger of the two', () => {
    const resized = (claim: Resources) => [
      { hostName: 'host2', size: claim, instance: { hostName: 'host2', size: size(2, 1024, 10) } },
    ];
    expect(hostUsage('host2', instances, resized(size(8, 8192, 80)))).toEqual(
      size(3 + 6, 1536 + 7168, 15 + 70),
    );
    expect(hostUsage('host2', instances, resized(size(1, 4096, 10)))).toEqual(
      size(3, 1536 + 3072, 15),
    );
  });

  it('is zero on an empty host', () => {
    expect(hostUsage('host4', instances, [])).toEqual(size(0, 0, 0));
  });
});

describe('ComputeFilter', () => {
  it('passes a host that is up', () => {
    expect(ComputeFilter.refuse(host('host2'), spec)).toBeNull();
  });

  it.each([
    ['host is down', host('host2', { state: 'down' })],
    ['host is disabled', host('host2', { state: 'disabled' })],
    [
      'host is disabled (maintenance)',
      host('host2', { state: 'disabled', disabledReason: 'maintenance' }),
    ],
  ])('refuses a host that is not up: %s', (reason, candidate) => {
    expect(ComputeFilter.refuse(candidate, spec)).toBe(reason);
  });
});

describe('IgnoreHostsFilter', () => {
  it('refuses the source and the hosts already tried, and passes the others', () => {
    expect(IgnoreHostsFilter.refuse(host('host1'), spec)).toBe('it is the source host');
    expect(IgnoreHostsFilter.refuse(host('host9'), spec)).toBe('already tried and refused');
    expect(IgnoreHostsFilter.refuse(host('host2'), spec)).toBeNull();
  });

  it('passes the source when the request allows the same host, never a host already tried', () => {
    const sameHost = { ...spec, allowSameHost: true };
    expect(IgnoreHostsFilter.refuse(host('host1'), sameHost)).toBeNull();
    expect(IgnoreHostsFilter.refuse(host('host9'), sameHost)).toBe('already tried and refused');
    expect(IgnoreHostsFilter.refuse(host('host1'), { ...sameHost, ignoreHosts: ['host1'] })).toBe(
      'already tried and refused',
    );
  });
});

describe('HypervisorCompatibilityFilter', () => {
  it.each([
    [{ arch: 'aarch64' }, "arch aarch64, the source's is x86_64"],
    [{ hypervisorType: 'Xen' }, "hypervisor type Xen, the source's is QEMU"],
    [
      { hypervisorVersion: 8_001_000 },
      "hypervisor version 8001000 is older than the source's 8002000",
    ],
  ])('refuses %j', (overrides, reason) => {
    expect(HypervisorCompatibilityFilter.refuse(host('host2', overrides), spec)).toBe(reason);
  });

  it('passes a newer hypervisor and values either side has not reported', () => {
    const passes = (candidate: HostState, from: HostState) =>
      HypervisorCompatibilityFilter.refuse(candidate, { ...spec, source: from });
    expect(passes(host('host2', { hypervisorVersion: 9_000_000 }), source)).toBeNull();
    expect(
      passes(host('host2', { arch: null, hypervisorType: null, hypervisorVersion: null }), source),
    ).toBeNull();
    expect(
      passes(
        host('host2', { arch: 'aarch64', hypervisorType: 'Xen', hypervisorVersion: 1 }),
        host('host1', { arch: null, hypervisorType: null, hypervisorVersion: null }),
      ),
    ).toBeNull();
  });
});

describe('resource filters', () => {
  const refusals = (candidate: HostState) =>
    RESOURCE_FILTERS.map((filter) => [filter.name, filter.refuse(candidate, spec)]);

  it('name the resource, what is needed and what is free', () => {
    const full = host('host2', { total: size(1, 3072, 15), used: size(3, 2048, 10) });
    expect(refusals(full)).toEqual([
      ['RamFilter', 'not enough memory: needs 2048 MiB, 1024 MiB free'],
      ['DiskFilter', 'not enough disk: needs 10 GiB, 5 GiB free'],
      ['CoreFilter', 'not enough vCPUs: needs 2, 1 free'],
    ]);
  });

  it('pass exactly enough, and a resource whose total is unknown', () => {
    const exact = host('host2', { total: size(1, 2048, 10), used: size(2, 0, 0) });
    expect(refusals(exact).every(([, reason]) => reason === null)).toBe(true);
    const unknown = host('host2', { total: size(0, 0, 0), used: size(64, 65_536, 1000) });
    expect(refusals(unknown).every(([, reason]) => reason === null)).toBe(true);
  });

  it('lackingResource reports the first resource the host cannot hold', () => {
    const noDisk = host('host2', { used: size(0, 0, 95) });
    expect(lackingResource(noDisk, spec.needs)).toEqual({
      host: 'host2',
      filter: 'DiskFilter',
      reason: 'not enough disk: needs 10 GiB, 5 GiB free',
    });
    expect(lackingResource(host('host2'), spec.needs)).toBeNull();
  });
});

describe('filterHosts and firstRefusal', () => {
  it('keep the hosts every filter passes and name the first filter that refused each other', () => {
    const hosts = [
      source,
      host('host2'),
      host('host3', { state: 'disabled', used: size(0, 16_384, 0) }),
      host('host4', { used: size(0, 15_000, 0) }),
      host('host9'),
    ];
    const { passed, refused } = filterHosts(hosts, spec);
    expect(passed.map((candidate) => candidate.name)).toEqual(['host2']);
    expect(refused).toEqual([
      { host: 'host1', filter: 'IgnoreHostsFilter', reason: 'it is the source host' },
      { host: 'host3', filter: 'ComputeFilter', reason: 'host is disabled' },
      {
        host: 'host4',
        filter: 'RamFilter',
        reason: 'not enough memory: needs 2048 MiB, 1384 MiB free',
      },
      { host: 'host9', filter: 'IgnoreHostsFilter', reason: 'already tried and refused' },
    ]);
    expect(firstRefusal(host('host2'), spec)).toBeNull();
  });
});

describe('weighHosts', () => {
  it('puts the most free RAM first, then sorts by name, hosts of unknown memory last', () => {
    const hosts = [
      host('d', { total: size(8, 0, 100) }),
      host('c', { used: size(0, 8192, 0) }),
      host('b'),
      host('a', { used: size(0, 8192, 0) }),
      host('e', { total: size(8, 32_768, 100), used: size(0, 20_000, 0) }),
    ];
    expect(weighHosts(hosts).map((candidate) => candidate.name)).toEqual(['b', 'e', 'a', 'c', 'd']);
  });
});
