/** The libvirt driver: the host activities' Hypervisor on ferry's libvirt addon. */
import type { Hypervisor } from '../driver';
import { openConnection, withConnection } from './binding';

export const libvirtHypervisor: Hypervisor = {
  openConnection: (uri) => openConnection(uri),
  withConnection,
};
