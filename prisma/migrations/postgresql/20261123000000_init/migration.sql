-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "Host" (
    "name" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'up',
    "disabledReason" TEXT,
    "lastHeartbeatAt" TIMESTAMP(3),
    "libvirtUri" TEXT NOT NULL,
    "sshAddress" TEXT,
    "sshPort" INTEGER NOT NULL DEFAULT 22,
    "sshHostKey" TEXT,
    "instancesDir" TEXT NOT NULL DEFAULT '/var/lib/ferry/instances',
    "arch" TEXT,
    "hypervisorType" TEXT,
    "hypervisorVersion" INTEGER,
    "cpuModel" TEXT,
    "vcpusTotal" INTEGER NOT NULL DEFAULT 0,
    "memoryMiBTotal" INTEGER NOT NULL DEFAULT 0,
    "diskGiBTotal" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Host_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "Flavor" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "vcpus" INTEGER NOT NULL,
    "memoryMiB" INTEGER NOT NULL,
    "rootDiskGiB" INTEGER NOT NULL,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Flavor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Instance" (
    "uuid" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "hostName" TEXT NOT NULL,
    "flavorId" TEXT NOT NULL,
    "vmState" TEXT NOT NULL DEFAULT 'active',
    "taskState" TEXT,
    "powerState" TEXT NOT NULL DEFAULT 'running',
    "progress" INTEGER NOT NULL DEFAULT 0,
    "locked" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Instance_pkey" PRIMARY KEY ("uuid")
);

-- CreateTable
CREATE TABLE "Migration" (
    "id" SERIAL NOT NULL,
    "uuid" TEXT NOT NULL,
    "instanceUuid" TEXT NOT NULL,
    "migrationType" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "sourceHost" TEXT NOT NULL,
    "destHost" TEXT,
    "oldFlavorId" TEXT NOT NULL,
    "newFlavorId" TEXT NOT NULL,
    "workflowId" TEXT NOT NULL,
    "memoryTotalBytes" BIGINT,
    "memoryProcessedBytes" BIGINT,
    "memoryRemainingBytes" BIGINT,
    "diskTotalBytes" BIGINT,
    "diskProcessedBytes" BIGINT,
    "diskRemainingBytes" BIGINT,
    "error" TEXT,
    "confirmDeadline" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "Migration_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InstanceAction" (
    "id" SERIAL NOT NULL,
    "instanceUuid" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "userId" TEXT,
    "message" TEXT,
    "startTime" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishTime" TIMESTAMP(3),

    CONSTRAINT "InstanceAction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "InstanceActionEvent" (
    "id" SERIAL NOT NULL,
    "actionId" INTEGER NOT NULL,
    "event" TEXT NOT NULL,
    "startTime" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishTime" TIMESTAMP(3),
    "result" TEXT,
    "details" TEXT,

    CONSTRAINT "InstanceActionEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ResourceClaim" (
    "id" SERIAL NOT NULL,
    "hostName" TEXT NOT NULL,
    "instanceUuid" TEXT NOT NULL,
    "migrationId" INTEGER NOT NULL,
    "vcpus" INTEGER NOT NULL,
    "memoryMiB" INTEGER NOT NULL,
    "diskGiB" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ResourceClaim_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Host_state_idx" ON "Host"("state");

-- CreateIndex
CREATE UNIQUE INDEX "Flavor_name_key" ON "Flavor"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Instance_name_key" ON "Instance"("name");

-- CreateIndex
CREATE INDEX "Instance_hostName_idx" ON "Instance"("hostName");

-- CreateIndex
CREATE UNIQUE INDEX "Migration_uuid_key" ON "Migration"("uuid");

-- CreateIndex
CREATE INDEX "Migration_instanceUuid_createdAt_idx" ON "Migration"("instanceUuid", "createdAt");

-- CreateIndex
CREATE INDEX "Migration_status_idx" ON "Migration"("status");

-- CreateIndex
CREATE INDEX "Migration_sourceHost_status_idx" ON "Migration"("sourceHost", "status");

-- CreateIndex
CREATE INDEX "Migration_workflowId_idx" ON "Migration"("workflowId");

-- CreateIndex
CREATE UNIQUE INDEX "InstanceAction_requestId_key" ON "InstanceAction"("requestId");

-- CreateIndex
CREATE INDEX "InstanceAction_instanceUuid_startTime_idx" ON "InstanceAction"("instanceUuid", "startTime");

-- CreateIndex
CREATE UNIQUE INDEX "InstanceActionEvent_actionId_event_key" ON "InstanceActionEvent"("actionId", "event");

-- CreateIndex
CREATE INDEX "ResourceClaim_hostName_idx" ON "ResourceClaim"("hostName");

-- CreateIndex
CREATE UNIQUE INDEX "ResourceClaim_migrationId_hostName_key" ON "ResourceClaim"("migrationId", "hostName");

-- AddForeignKey
ALTER TABLE "Instance" ADD CONSTRAINT "Instance_hostName_fkey" FOREIGN KEY ("hostName") REFERENCES "Host"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Instance" ADD CONSTRAINT "Instance_flavorId_fkey" FOREIGN KEY ("flavorId") REFERENCES "Flavor"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Migration" ADD CONSTRAINT "Migration_instanceUuid_fkey" FOREIGN KEY ("instanceUuid") REFERENCES "Instance"("uuid") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Migration" ADD CONSTRAINT "Migration_sourceHost_fkey" FOREIGN KEY ("sourceHost") REFERENCES "Host"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Migration" ADD CONSTRAINT "Migration_destHost_fkey" FOREIGN KEY ("destHost") REFERENCES "Host"("name") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Migration" ADD CONSTRAINT "Migration_oldFlavorId_fkey" FOREIGN KEY ("oldFlavorId") REFERENCES "Flavor"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Migration" ADD CONSTRAINT "Migration_newFlavorId_fkey" FOREIGN KEY ("newFlavorId") REFERENCES "Flavor"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InstanceAction" ADD CONSTRAINT "InstanceAction_instanceUuid_fkey" FOREIGN KEY ("instanceUuid") REFERENCES "Instance"("uuid") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "InstanceActionEvent" ADD CONSTRAINT "InstanceActionEvent_actionId_fkey" FOREIGN KEY ("actionId") REFERENCES "InstanceAction"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ResourceClaim" ADD CONSTRAINT "ResourceClaim_hostName_fkey" FOREIGN KEY ("hostName") REFERENCES "Host"("name") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ResourceClaim" ADD CONSTRAINT "ResourceClaim_instanceUuid_fkey" FOREIGN KEY ("instanceUuid") REFERENCES "Instance"("uuid") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ResourceClaim" ADD CONSTRAINT "ResourceClaim_migrationId_fkey" FOREIGN KEY ("migrationId") REFERENCES "Migration"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
