-- CreateTable
CREATE TABLE "HostUsage" (
    "hostName" TEXT NOT NULL PRIMARY KEY,
    "instances" INTEGER NOT NULL,
    "vcpus" INTEGER NOT NULL,
    "memoryMiB" INTEGER NOT NULL,
    "diskGiB" INTEGER NOT NULL
);


-- Written by hand (Prisma does not model triggers): HostUsage follows every write to Instance.
-- Flavors are never updated (a size is a new flavor, as in Nova), so a flavor's sizes read at
-- the write are the sizes to add or take back.
INSERT INTO "HostUsage" ("hostName", "instances", "vcpus", "memoryMiB", "diskGiB")
    SELECT i."hostName", COUNT(*), SUM(f."vcpus"), SUM(f."memoryMiB"), SUM(f."rootDiskGiB")
    FROM "Instance" i JOIN "Flavor" f ON f."id" = i."flavorId"
    GROUP BY i."hostName";

-- Inserting (host, flavor, sign) into this view adds (1) or takes back (-1) one instance of
-- that flavor on that host: SQLite has no functions, so the triggers below share this one.
CREATE VIEW "HostUsageChange" AS
    SELECT "hostName", '' AS "flavorId", 0 AS "sign" FROM "HostUsage" WHERE 0;

CREATE TRIGGER "HostUsageChange_apply" INSTEAD OF INSERT ON "HostUsageChange" BEGIN
    INSERT INTO "HostUsage" ("hostName", "instances", "vcpus", "memoryMiB", "diskGiB")
        SELECT NEW."hostName", NEW."sign", NEW."sign" * f."vcpus", NEW."sign" * f."memoryMiB",
            NEW."sign" * f."rootDiskGiB"
        FROM "Flavor" f WHERE f."id" = NEW."flavorId"
        ON CONFLICT ("hostName") DO UPDATE SET
            "instances" = "instances" + excluded."instances",
            "vcpus" = "vcpus" + excluded."vcpus",
            "memoryMiB" = "memoryMiB" + excluded."memoryMiB",
            "diskGiB" = "diskGiB" + excluded."diskGiB";
    DELETE FROM "HostUsage" WHERE "hostName" = NEW."hostName" AND "instances" = 0;
END;

CREATE TRIGGER "Instance_usage_insert" AFTER INSERT ON "Instance" BEGIN
    INSERT INTO "HostUsageChange" VALUES (NEW."hostName", NEW."flavorId", 1);
END;

CREATE TRIGGER "Instance_usage_delete" AFTER DELETE ON "Instance" BEGIN
    INSERT INTO "HostUsageChange" VALUES (OLD."hostName", OLD."flavorId", -1);
END;

CREATE TRIGGER "Instance_usage_update" AFTER UPDATE OF "hostName", "flavorId" ON "Instance" BEGIN
    INSERT INTO "HostUsageChange" VALUES (OLD."hostName", OLD."flavorId", -1);
    INSERT INTO "HostUsageChange" VALUES (NEW."hostName", NEW."flavorId", 1);
END;

CREATE TRIGGER "Flavor_sizes_fixed" BEFORE UPDATE OF "vcpus", "memoryMiB", "rootDiskGiB" ON "Flavor"
    WHEN NEW."vcpus" <> OLD."vcpus" OR NEW."memoryMiB" <> OLD."memoryMiB"
        OR NEW."rootDiskGiB" <> OLD."rootDiskGiB"
BEGIN
    SELECT RAISE(ABORT, 'a flavor''s sizes never change (HostUsage counts them): create another flavor');
END;
