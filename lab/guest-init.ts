/**
 * /init of the lab guest's initramfs (busybox sh). It prints `ferry-guest <name> counter N` to the
 * serial console every second, writes (and flushes) the same line to sector 0 of /dev/vda when a
 * disk is attached (and, booting from a disk that holds such a line, counts on from it: a guest
 * started elsewhere from the same disk shows that what it wrote is there), and with `ferry.dirty_mb=D` rewrites D MiB of tmpfs in a loop (about 100 MiB/s
 * under TCG, with non-zero data: QEMU sends zero pages almost for free), dirtying memory faster
 * than a bandwidth-limited migration copies it. busybox's acpid powers the guest off when the ACPI
 * power button is pressed (libvirt's shutdown), if the domain has ACPI (`<features><acpi/>`) and
 * the kernel was not booted with `acpi=off`.
 */

/** Kernel modules the guest loads, in dependency order: a virtio disk, the ACPI power button. */
export const GUEST_MODULES = [
  'drivers/virtio/virtio_ring.ko',
  'drivers/virtio/virtio.ko',
  'drivers/virtio/virtio_pci_legacy_dev.ko',
  'drivers/virtio/virtio_pci_modern_dev.ko',
  'drivers/virtio/virtio_pci.ko',
  'drivers/block/virtio_blk.ko',
  'drivers/input/evdev.ko',
  'drivers/acpi/button.ko',
];

const MODULE_NAMES = GUEST_MODULES.map((path) => path.slice(path.lastIndexOf('/') + 1)).join(' ');

export const GUEST_INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
name=guest
dirty=0
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    ferry.name=*) name=\${arg#ferry.name=} ;;
    ferry.dirty_mb=*) dirty=\${arg#ferry.dirty_mb=} ;;
  esac
done
for module in ${MODULE_NAMES}; do insmod /lib/modules/$module 2>/dev/null; done
mkdir -p /etc/acpi/PWRF /var/log /var/run
power_button=/etc/acpi/PWRF/00000080
echo '#!/bin/sh' > $power_button
echo "echo ferry-guest $name powering off > /dev/ttyS0" >> $power_button
echo 'poweroff -f' >> $power_button
chmod 755 $power_button
acpid 2>/dev/null
if [ "$dirty" -gt 0 ]; then
  mkdir -p /dirty
  mount -t tmpfs -o size=$((dirty + 2))m tmpfs /dirty
  yes "$name" | head -c 1048576 > /dirty/pattern
  while true; do
    i=0
    while [ $i -lt "$dirty" ]; do
      dd if=/dirty/pattern of=/dirty/pages bs=1M count=1 seek=$i conv=notrunc 2>/dev/null
      i=$((i + 1))
    done
  done &
fi
n=0
if [ -b /dev/vda ]; then
  last=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | sed -n "s/^ferry-guest $name counter \\([0-9]*\\).*/\\1/p")
  if [ -n "$last" ]; then n=$((last + 1)); fi
fi
while true; do
  line="ferry-guest $name counter $n"
  echo "$line" > /dev/ttyS0
  if [ -b /dev/vda ]; then
    printf '%-511s\\n' "$line" | dd of=/dev/vda bs=512 count=1 conv=notrunc,fsync 2>/dev/null
  fi
  n=$((n + 1))
  sleep 1
done
`;
