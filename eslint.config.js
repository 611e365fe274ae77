const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/**
 * ferry's layers and the ferry folders each may import (docs/architecture.md, "Layers"). A folder
 * always may import itself; everything else of ferry's is refused by `no-restricted-imports`.
 */
const FOLDERS = [
  'workflows',
  'activities',
  'worker',
  'client',
  'api',
  'cli',
  'config',
  'db',
  'temporal',
  'virt',
  'lab',
  'bench',
  'test',
  'generated',
  'metrics',
];
const LAYERS = {
  workflows: [],
  config: [],
  db: ['config', 'generated'],
  virt: ['config', 'workflows'],
  temporal: ['config', 'workflows'],
  'activities/control': ['db', 'config', 'workflows'],
  'activities/host': ['virt', 'config', 'workflows'],
  client: ['db', 'config', 'temporal', 'workflows', 'virt'],
  metrics: ['db', 'config', 'workflows'],
  api: ['client', 'db', 'config', 'temporal', 'workflows', 'metrics'],
  worker: [
    'activities',
    'workflows',
    'client',
    'db',
    'config',
    'temporal',
    'virt',
    'lab',
    'metrics',
  ],
  cli: ['client', 'api', 'worker', 'lab', 'db', 'config', 'temporal', 'workflows'],
  lab: ['db', 'config', 'virt'],
  bench: FOLDERS.filter((folder) => folder !== 'bench'),
  test: FOLDERS.filter((folder) => folder !== 'bench' && folder !== 'test'),
};

/** `no-restricted-imports` patterns refusing every ferry folder a layer may not import. */
function refusedFolders(layer, allowed) {
  const own = layer.split('/')[0];
  const refused = FOLDERS.filter((folder) => folder !== own && !allowed.includes(folder));
  if (layer.startsWith('activities/'))
    refused.push(layer === 'activities/host' ? 'control' : 'host');
  return refused.map((folder) => ({
    regex: `^(\\.\\./)+${folder}(/|$)`,
    message: `${layer}/ may not import ${folder}/ (docs/architecture.md, "Layers")`,
  }));
}

const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => ({
  files: [`${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: refusedFolders(layer, allowed) }],
  },
}));

module.exports = tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', 'generated/', 'data/', '.tools/', 'native/build/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['prisma.config.ts'] },
        tsconfigRootDir: __dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...layerRules,
  {
    // The host agent serves a compute host, which holds no database credentials.
    files: ['worker/agent.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(db|activities/control|metrics/fleet)(/|$)',
              message: 'the host agent never opens the database (docs/architecture.md, "Layers")',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
