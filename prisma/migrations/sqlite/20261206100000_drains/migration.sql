-- CreateTable
CREATE TABLE "Drain" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "uuid" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'drain',
    "concurrency" INTEGER NOT NULL,
    "attempts" INTEGER NOT NULL,
    "deadline" DATETIME,
    "exclude" TEXT NOT NULL DEFAULT '[]',
    "workflowId" TEXT NOT NULL,
    "requestedBy" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    "returnedAt" DATETIME
);

-- CreateTable
CREATE TABLE "DrainItem" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "drainId" INTEGER NOT NULL,
    "instanceUuid" TEXT NOT NULL,
    "instanceName" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "destHost" TEXT,
    "lastMigrationUuid" TEXT,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "DrainItem_drainId_fkey" FOREIGN KEY ("drainId") REFERENCES "Drain" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "Drain_uuid_key" ON "Drain"("uuid");

-- CreateIndex
CREATE INDEX "Drain_host_createdAt_idx" ON "Drain"("host", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "DrainItem_drainId_instanceUuid_key" ON "DrainItem"("drainId", "instanceUuid");

