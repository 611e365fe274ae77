/**
 * The fence check's reading of libvirt's failures. A MOCK hypervisor fails the connection with a
 * given message (the real ones are exercised on the sim driver and the lab: integration and e2e
 * evacuate tests); only "nothing listens" counts as fenced.
 */
import { refuseUnlessFenced } from '../../activities/host/evacuate/fence-check';
import type { Hypervisor } from '../../virt/driver';

function failingWith(message: string): Hypervisor {
  return {
    withConnection: () => Promise.reject(new Error(message)),
  } as unknown as Hypervisor;
}

const source = { uri: 'qemu+tls://10.0.0.1/system', askedFrom: 'host2' };

describe('the fence check', () => {
  it.each([
    "unable to connect to server at '10.0.0.1:16514': Connection refused",
    "unable to connect to server at '10.0.0.1:16514': No route to host",
    "unable to connect to server at '10.0.0.1:16514': Connection timed out",
  ])('counts "%s" as fenced', async (message) => {
    await expect(refuseUnlessFenced(failingWith(message), source)).resolves.toBe(message);
  });

  it.each([
    "authentication failed: Failed to verify peer's certificate",
    'TLS handshake failed The TLS connection was non-properly terminated.',
    'unsupported configuration: no connection driver available for qemu+foo:///system',
  ])('refuses on "%s": something answered, or ferry cannot tell', async (message) => {
    await expect(refuseUnlessFenced(failingWith(message), source)).rejects.toThrow(
      `libvirt at qemu+tls://10.0.0.1/system still answers host2 (${message})`,
    );
  });
});
