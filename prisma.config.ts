import { defineConfig } from 'prisma/config';
import { databaseAdapter } from './db/adapter';
import { databaseProvider, loadConfig } from './config';

const { databaseUrl } = loadConfig();
const provider = databaseProvider(databaseUrl);

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: provider === 'sqlite' ? 'prisma/schema.prisma' : 'generated/schema.postgresql.prisma',
  migrations: { path: `prisma/migrations/${provider}` },
  adapter: async () => databaseAdapter(databaseUrl),
});
