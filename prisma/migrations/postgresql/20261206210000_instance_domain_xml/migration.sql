-- AlterTable
ALTER TABLE "Instance" ADD COLUMN "domainXml" TEXT;
