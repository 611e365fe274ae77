-- CreateTable
CREATE TABLE "HostUsage" (
    "hostName" TEXT NOT NULL,
    "instances" INTEGER NOT NULL,
    "vcpus" INTEGER NOT NULL,
    "memoryMiB" INTEGER NOT NULL,
    "diskGiB" INTEGER NOT NULL,

    CONSTRAINT "HostUsage_pkey" PRIMARY KEY ("hostName")
);


-- Written by hand (Prisma does not model triggers): HostUsage follows every write to Instance.
-- Flavors are never updated (a size is a new flavor, as in Nova), so a flavor's sizes read at
-- the write are the sizes to add or take back. An update touches the two hosts' rows in name
-- order, so two instances moving in opposite directions cannot deadlock.
INSERT INTO "HostUsage" ("hostName", "instances", "vcpus", "memoryMiB", "diskGiB")
    SELECT i."hostName", COUNT(*), SUM(f."vcpus"), SUM(f."memoryMiB"), SUM(f."rootDiskGiB")
    FROM "Instance" i JOIN "Flavor" f ON f."id" = i."flavorId"
    GROUP BY i."hostName";

CREATE FUNCTION "host_usage_add"(host TEXT, flavor TEXT, sign INTEGER) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO "HostUsage" AS u ("hostName", "instances", "vcpus", "memoryMiB", "diskGiB")
        SELECT host, sign, sign * f."vcpus", sign * f."memoryMiB", sign * f."rootDiskGiB"
        FROM "Flavor" f WHERE f."id" = flavor
        ON CONFLICT ("hostName") DO UPDATE SET
            "instances" = u."instances" + EXCLUDED."instances",
            "vcpus" = u."vcpus" + EXCLUDED."vcpus",
            "memoryMiB" = u."memoryMiB" + EXCLUDED."memoryMiB",
            "diskGiB" = u."diskGiB" + EXCLUDED."diskGiB";
    DELETE FROM "HostUsage" WHERE "hostName" = host AND "instances" = 0;
END
$$;

CREATE FUNCTION "instance_usage"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM "host_usage_add"(NEW."hostName", NEW."flavorId", 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM "host_usage_add"(OLD."hostName", OLD."flavorId", -1);
    ELSIF OLD."hostName" <= NEW."hostName" THEN
        PERFORM "host_usage_add"(OLD."hostName", OLD."flavorId", -1);
        PERFORM "host_usage_add"(NEW."hostName", NEW."flavorId", 1);
    ELSE
        PERFORM "host_usage_add"(NEW."hostName", NEW."flavorId", 1);
        PERFORM "host_usage_add"(OLD."hostName", OLD."flavorId", -1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "Instance_usage" AFTER INSERT OR DELETE OR UPDATE OF "hostName", "flavorId"
    ON "Instance" FOR EACH ROW EXECUTE FUNCTION "instance_usage"();

CREATE FUNCTION "flavor_sizes_fixed"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a flavor''s sizes never change (HostUsage counts them): create another flavor';
END
$$;

CREATE TRIGGER "Flavor_sizes_fixed" BEFORE UPDATE OF "vcpus", "memoryMiB", "rootDiskGiB" ON "Flavor"
    FOR EACH ROW WHEN (NEW."vcpus" <> OLD."vcpus" OR NEW."memoryMiB" <> OLD."memoryMiB"
        OR NEW."rootDiskGiB" <> OLD."rootDiskGiB")
    EXECUTE FUNCTION "flavor_sizes_fixed"();
