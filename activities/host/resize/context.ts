/** What the resize activities know of the host they run on. */
import type { HostAgentContext } from '../index';

export type ResizeAgentContext = Pick<
  HostAgentContext,
  'hostName' | 'hypervisor' | 'libvirtUri' | 'instancesDir' | 'peers'
>;
