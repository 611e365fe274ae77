import { defineConfig } from 'prisma/config';
import { databaseAdapter } from './activities/control/database-adapter';
import { databaseProvider, loadConfig } from './worker/config';

const { databaseUrl } = loadConfig();
const provider = databaseProvider(databaseUrl);

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: provider === 'sqlite' ? 'prisma/schema.prisma' : 'generated/schema.postgresql.prisma',
  migrations: { path: `prisma/migrations/${provider}` },
  adapter: async () => databaseAdapter(databaseUrl),
});
