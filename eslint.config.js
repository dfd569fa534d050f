// One lint setup for the whole tree.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '.tools/**', '.demo/**', '.test-tmp/**', 'bench/results/**', '**/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // SSH sessions start only through startSshSession (shared/src/ssh/session-start.ts): the
    // library's bare connect() can leave a rejection that ends the process (README, library quirks).
    files: ['**/*.ts'],
    ignores: ['shared/src/ssh/session-start.ts', 'shared/src/testing/version-junk-child.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.type='MemberExpression'][callee.property.name='connect'][arguments.length=1]",
          message: 'start SSH sessions with startSshSession (@airlock/shared/ssh), never session.connect(stream)',
        },
      ],
    },
  },
  {
    // The renderer never touches Node or Electron; Connect's core never touches Electron or React.
    files: ['apps/connect/src/renderer/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', 'electron', 'fs', 'path', 'child_process', '@airlock/connect/*'] },
      ],
    },
  },
  {
    // Production code never imports test support (`@airlock/shared/testing`, `testing/`, `test-support/`).
    files: ['apps/connect/src/core/**', 'apps/connect/src/cli/**', 'relay/**', 'org/**', 'apps/agent/**', 'shared/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron', 'react', 'react-dom'] },
            { group: ['@airlock/shared/testing', '**/testing/**', '**/test-support/**'], message: 'test support only' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/testing/**', '**/test-support/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['electron', 'react', 'react-dom'] }] },
  },
);
