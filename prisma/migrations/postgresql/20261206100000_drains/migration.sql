-- CreateTable
CREATE TABLE "Drain" (
    "id" SERIAL NOT NULL,
    "uuid" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'drain',
    "concurrency" INTEGER NOT NULL,
    "attempts" INTEGER NOT NULL,
    "deadline" TIMESTAMP(3),
    "exclude" TEXT NOT NULL DEFAULT '[]',
    "workflowId" TEXT NOT NULL,
    "requestedBy" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "returnedAt" TIMESTAMP(3),

    CONSTRAINT "Drain_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DrainItem" (
    "id" SERIAL NOT NULL,
    "drainId" INTEGER NOT NULL,
    "instanceUuid" TEXT NOT NULL,
    "instanceName" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "destHost" TEXT,
    "lastMigrationUuid" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DrainItem_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Drain_uuid_key" ON "Drain"("uuid");

-- CreateIndex
CREATE INDEX "Drain_host_createdAt_idx" ON "Drain"("host", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "DrainItem_drainId_instanceUuid_key" ON "DrainItem"("drainId", "instanceUuid");

-- AddForeignKey
ALTER TABLE "DrainItem" ADD CONSTRAINT "DrainItem_drainId_fkey" FOREIGN KEY ("drainId") REFERENCES "Drain"("id") ON DELETE CASCADE ON UPDATE CASCADE;

