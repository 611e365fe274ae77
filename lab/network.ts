/**
 * The lab network: a namespace holding bridge br0, and one namespace per host joined to it by a
 * veth pair. Both ends of every link are created inside lab namespaces, so the root namespace
 * never holds a lab interface or address. IPv6 is off in the lab so no link-local traffic leaves.
 */
import { run } from './command';
import { BRIDGE, BRIDGE_NETNS, HOST_NETNS_PATTERN, LAB_PREFIX_LENGTH } from './layout';

const IPV6_OFF = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];

async function ip(args: string[]): Promise<void> {
  await run('ip', args);
}

async function addNamespace(netns: string): Promise<void> {
  await ip(['netns', 'add', netns]);
  await ip(['netns', 'exec', netns, 'sysctl', '-q', '-w', ...IPV6_OFF]);
  await ip(['-n', netns, 'link', 'set', 'lo', 'up']);
}

export async function listLabNamespaces(): Promise<string[]> {
  const listing = await run('ip', ['netns', 'list']);
  return listing
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter((netns) => netns === BRIDGE_NETNS || HOST_NETNS_PATTERN.test(netns));
}

export async function createBridge(): Promise<void> {
  await addNamespace(BRIDGE_NETNS);
  await ip(['-n', BRIDGE_NETNS, 'link', 'add', BRIDGE, 'type', 'bridge', 'forward_delay', '0']);
  await ip(['-n', BRIDGE_NETNS, 'link', 'set', BRIDGE, 'up']);
}

/** A host namespace whose eth0 carries `address` and is plugged into the bridge as port `name`. */
export async function createHostNetwork(
  name: string,
  netns: string,
  address: string,
): Promise<void> {
  await addNamespace(netns);
  const peer = ['peer', 'name', 'eth0', 'netns', netns];
  await ip(['-n', BRIDGE_NETNS, 'link', 'add', name, 'type', 'veth', ...peer]);
  await ip(['-n', BRIDGE_NETNS, 'link', 'set', name, 'master', BRIDGE, 'up']);
  await ip(['-n', netns, 'addr', 'add', `${address}/${LAB_PREFIX_LENGTH}`, 'dev', 'eth0']);
  await ip(['-n', netns, 'link', 'set', 'eth0', 'up']);
}

/** Pids of every process whose network namespace is `netns`. */
export async function namespacePids(netns: string): Promise<number[]> {
  const listing = await run('ip', ['netns', 'pids', netns]).catch(() => '');
  return listing.split('\n').filter(Boolean).map(Number);
}

export async function deleteNamespace(netns: string): Promise<void> {
  await ip(['netns', 'delete', netns]).catch(() => undefined);
}
