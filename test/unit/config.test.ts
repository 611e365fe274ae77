import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, OPTIONS, redactUrl } from '../../config';
import { projectRoot } from '../../config/project-root';

function configFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'ferry-config-')), 'ferry.json');
  writeFileSync(path, content);
  return path;
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      temporalAddress: '127.0.0.1:7233',
      temporalNamespace: 'default',
      temporalUiPort: 8233,
      databaseUrl: `file:${join(projectRoot(), 'data', 'ferry.db')}`,
      resizeConfirmWindowSeconds: 86400,
      allowResizeToSameHost: false,
      maxConcurrentLiveMigrations: 1,
      maxConcurrentMigrations: 5,
      liveMigrationCompletionTimeoutPerGiB: 800,
      liveMigrationMaxDowntimeMs: 500,
      liveMigrationDowntimeSteps: 10,
      liveMigrationDowntimeDelayPerGiB: 75,
      liveMigrationBandwidthMiBs: 0,
      apiPort: 8774,
      apiTokens: [],
    });
  });

  it('reads FERRY_* variables over the config file over the defaults', () => {
    const file = configFile(
      JSON.stringify({
        resize_confirm_window: 60,
        api_port: 9000,
        allow_resize_to_same_host: true,
      }),
    );
    const config = loadConfig({ FERRY_CONFIG: file, FERRY_API_PORT: '9100' });
    expect(config.resizeConfirmWindowSeconds).toBe(60);
    expect(config.allowResizeToSameHost).toBe(true);
    expect(config.apiPort).toBe(9100);
  });

  it('takes PostgreSQL from DATABASE_URL and a relative SQLite path from the project root', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@db:5432/ferry' }).databaseUrl).toBe(
      'postgresql://u@db:5432/ferry',
    );
    expect(loadConfig({ FERRY_DATABASE_URL: 'file:data/x.db' }).databaseUrl).toBe(
      `file:${join(projectRoot(), 'data', 'x.db')}`,
    );
  });

  it('parses API tokens with their roles', () => {
    const config = loadConfig({
      FERRY_API_TOKENS: 'aaaaaaaaaaaaaaaa:admin, bbbbbbbbbbbbbbbb:member',
    });
    expect(config.apiTokens).toEqual([
      { token: 'aaaaaaaaaaaaaaaa', role: 'admin' },
      { token: 'bbbbbbbbbbbbbbbb', role: 'member' },
    ]);
  });

  it.each([
    ['FERRY_RESIZE_CONFIRM_WINDOW', '-1', /FERRY_RESIZE_CONFIRM_WINDOW: -1 is out of range/],
    [
      'FERRY_RESIZE_CONFIRM_WINDOW',
      'soon',
      /FERRY_RESIZE_CONFIRM_WINDOW: "soon" is not an integer/,
    ],
    [
      'FERRY_ALLOW_RESIZE_TO_SAME_HOST',
      'maybe',
      /FERRY_ALLOW_RESIZE_TO_SAME_HOST: .* not a boolean/,
    ],
    ['FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS', '0', /FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS: 0/],
    [
      'FERRY_MAX_CONCURRENT_MIGRATIONS',
      '0',
      /FERRY_MAX_CONCURRENT_MIGRATIONS: 0 is out of range \(1\.\.100000\)/,
    ],
    [
      'FERRY_MAX_CONCURRENT_MIGRATIONS',
      'many',
      /FERRY_MAX_CONCURRENT_MIGRATIONS: "many" is not an integer/,
    ],
    ['FERRY_API_PORT', '70000', /FERRY_API_PORT: 70000 is out of range/],
    ['FERRY_TEMPORAL_ADDRESS', 'localhost', /FERRY_TEMPORAL_ADDRESS: .* not HOST:PORT/],
    ['FERRY_DATABASE_URL', 'mysql://x', /FERRY_DATABASE_URL: .* neither file:PATH/],
    ['FERRY_LIVE_MIGRATION_TIMEOUT_ACTION', 'pause', /must be one of abort, force_complete/],
    ['FERRY_API_TOKENS', 'short:admin', /FERRY_API_TOKENS: tokens must be at least 16/],
    ['FERRY_API_TOKENS', 'aaaaaaaaaaaaaaaa:root', /FERRY_API_TOKENS: each entry/],
    ['FERRY_LOG_LEVEL', 'loud', /FERRY_LOG_LEVEL/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('refuses a config file with an unknown key or a bad value, naming it', () => {
    expect(() => loadConfig({ FERRY_CONFIG: configFile('{"resize_window": 5}') })).toThrow(
      /unknown setting "resize_window"/,
    );
    expect(() => loadConfig({ FERRY_CONFIG: configFile('{"api_port": "x"}') })).toThrow(
      /FERRY_CONFIG api_port: "x" is not an integer/,
    );
    expect(() => loadConfig({ FERRY_CONFIG: configFile('not json') })).toThrow(/is not JSON/);
    expect(() => loadConfig({ FERRY_CONFIG: '/nonexistent/ferry.json' })).toThrow(/cannot read/);
  });

  it('takes the Temporal TLS files only when they exist, the pair together, with a CA', () => {
    const pem = configFile('-----BEGIN CERTIFICATE-----');
    expect(loadConfig({ FERRY_TEMPORAL_TLS_CA: pem })).toMatchObject({
      temporalTlsCaFile: pem,
      temporalTlsCertFile: null,
    });
    expect(() => loadConfig({ FERRY_TEMPORAL_TLS_CA: '/nonexistent/ca.pem' })).toThrow(
      /FERRY_TEMPORAL_TLS_CA: cannot read \/nonexistent\/ca.pem/,
    );
    expect(() => loadConfig({ FERRY_TEMPORAL_TLS_CA: pem, FERRY_TEMPORAL_TLS_CERT: pem })).toThrow(
      /FERRY_TEMPORAL_TLS_CERT and FERRY_TEMPORAL_TLS_KEY: set both/,
    );
    expect(() => loadConfig({ FERRY_TEMPORAL_TLS_CERT: pem, FERRY_TEMPORAL_TLS_KEY: pem })).toThrow(
      /FERRY_TEMPORAL_TLS_CA: needed/,
    );
  });

  it('hides database passwords', () => {
    expect(redactUrl('postgresql://ferry:s3cret@db:5432/ferry')).toBe(
      'postgresql://ferry:***@db:5432/ferry',
    );
  });

  it('every option has a distinct variable and file key', () => {
    expect(new Set(OPTIONS.map((o) => o.env)).size).toBe(OPTIONS.length);
    expect(new Set(OPTIONS.map((o) => o.file)).size).toBe(OPTIONS.length);
  });
});
