-- AlterTable
ALTER TABLE "Migration" ADD COLUMN     "downtimeMs" INTEGER;
