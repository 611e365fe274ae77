-- AlterTable
ALTER TABLE "Host" ADD COLUMN     "forcedDown" BOOLEAN NOT NULL DEFAULT false;
