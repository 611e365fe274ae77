-- The guest downtime of a completed live migration, from libvirt's job stats (docs/metrics.md).
ALTER TABLE "Migration" ADD COLUMN "downtimeMs" INTEGER;
