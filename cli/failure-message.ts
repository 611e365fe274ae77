/**
 * The one line the CLI prints for a failure it did not expect (docs/cli.md, "Errors").
 *
 * A database error from Prisma starts with an empty line and the call site, and says why only on
 * its last line; the driver's own reason (SQLite's "database is locked", PostgreSQL's) is in its
 * `meta`. Any other error says why on its first line; what follows is detail for the logs.
 */
export function failureMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const lines = error.message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (!error.name.startsWith('PrismaClient')) return lines[0] ?? error.name;
  const reason = lines.at(-1) ?? error.name;
  const driver = driverReason(error);
  return `database: ${reason}${driver && driver !== reason ? ` (${driver})` : ''}`;
}

function driverReason(error: Error): string | undefined {
  const meta = (
    error as { meta?: { driverAdapterError?: { cause?: { originalMessage?: unknown } } } }
  ).meta;
  const original = meta?.driverAdapterError?.cause?.originalMessage;
  return typeof original === 'string' ? original : undefined;
}
