// One lint setup for the whole tree.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Node's built-in modules by their bare names (`node:` names are matched apart). */
const NODE_BUILTINS = builtinModules.filter((m) => !m.startsWith('_'));

/** @airlock/shared's entries that need Node; browser code uses @airlock/shared/schemas. */
const SHARED_NODE_ENTRIES = ['@airlock/shared', '@airlock/shared/ssh', '@airlock/shared/testing'].map((name) => ({
  name,
  message: 'needs Node: use @airlock/shared/schemas',
}));

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
    // zod is imported as a namespace.
    files: ['**/*.ts', '**/*.tsx'],
    ignores: ['shared/src/ssh/session-start.ts', 'shared/src/testing/version-junk-child.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "CallExpression[callee.type='MemberExpression'][callee.property.name='connect'][arguments.length=1]",
          message: 'start SSH sessions with startSshSession (@airlock/shared/ssh), never session.connect(stream)',
        },
        {
          // esbuild then builds zod's whole namespace object, with all 60 of its locales (README).
          selector:
            "ImportDeclaration[source.value='zod'] > :matches(ImportSpecifier[imported.name='z'], ImportDefaultSpecifier)",
          message: "import zod as a namespace: import * as z from 'zod'",
        },
        {
          selector: "ExportNamedDeclaration[source.value='zod'], ExportAllDeclaration[source.value='zod']",
          message: "import zod as a namespace where it is used (import * as z from 'zod'); do not re-export it",
        },
      ],
    },
  },
  {
    // Node's resetAndDestroy() on a socket whose FIN is queued leaks its handle (README, library
    // quirks); resetSocket (@airlock/shared) waits for that FIN first. Tests may still crash a peer.
    files: ['**/*.ts'],
    ignores: ['shared/src/socket-reset.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { property: 'resetAndDestroy', message: 'reset a socket with resetSocket (@airlock/shared)' },
      ],
    },
  },
  {
    // The renderer runs in a browser (Electron's sandboxed renderer, or any browser in browser
    // mode): it reaches Connect only through window.airlock, typed by the API's contract.
    files: ['apps/connect/src/renderer/**'],
    // Its unit tests run in Node (the bundle follows main.tsx's imports only, never a test).
    ignores: ['apps/connect/src/renderer/**/*.test.ts'],
    languageOptions: {
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        history: 'readonly',
        sessionStorage: 'readonly',
        WebSocket: 'readonly',
        MessageEvent: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        btoa: 'readonly',
        atob: 'readonly',
        requestAnimationFrame: 'readonly',
        ResizeObserver: 'readonly',
        navigator: 'readonly',
      },
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: SHARED_NODE_ENTRIES,
          patterns: [
            { group: ['node:*', ...NODE_BUILTINS], message: 'the renderer runs in a browser: no Node' },
            { group: ['electron'], message: 'the renderer talks to window.airlock, never to Electron' },
            {
              group: [
                '**/core/**',
                '**/api/service/**',
                '**/api/dispatch*',
                '**/host/**',
                '**/main/**',
                '**/preload/**',
              ],
              message: 'the renderer imports only the API contract (api/contract, api/transport/wire)',
            },
            {
              group: ['@airlock/connect', '@airlock/connect/*'],
              message: 'the renderer imports only the API contract',
            },
          ],
        },
      ],
    },
  },
  {
    // The API's contract and wire format are imported by the renderer: browser-safe only.
    files: ['apps/connect/src/api/contract/**', 'apps/connect/src/api/transport/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: SHARED_NODE_ENTRIES,
          patterns: [
            { group: ['node:*', ...NODE_BUILTINS, 'electron', 'react', 'react-dom'], message: 'browser-safe only' },
            {
              // Gitignore rules: a file is let through only once its folder is.
              group: [
                '**/core/**',
                '!**/core/next-actions.js',
                '!**/core/diagnostics',
                '**/core/diagnostics/*',
                '!**/core/diagnostics/doctor-report.js',
              ],
              message: 'only core/next-actions.js and core/diagnostics/doctor-report.js are browser-safe',
            },
          ],
        },
      ],
    },
  },
  {
    // Connect's core knows no Electron, React or front end; production code never imports test
    // support (`@airlock/shared/testing`, `testing/`, `test-support/`).
    files: ['apps/connect/src/core/**'],
    ignores: ['apps/connect/src/core/**/*.test.ts', 'apps/connect/src/core/test-support/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron', 'react', 'react-dom', '@xterm/*'], message: 'core is front-end neutral' },
            {
              group: ['**/api/**', '**/cli/**', '**/host/**', '**/main/**', '**/preload/**', '**/renderer/**'],
              message: 'core is what the front ends stand on: it imports none of them',
            },
            { group: ['@airlock/shared/testing', '**/testing/**', '**/test-support/**'], message: 'test support only' },
          ],
        },
      ],
    },
  },
  {
    // Production code never imports test support.
    files: [
      'apps/connect/src/cli/**',
      'apps/connect/src/api/service/**',
      'apps/connect/src/host/**',
      'relay/**',
      'org/**',
      'apps/agent/**',
      'shared/**',
    ],
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
    // Electron is reached through one seam (main/electron-seam.ts), so main's logic is testable
    // without the binary; the preload may import electron and the request names only.
    files: ['apps/connect/src/main/**'],
    ignores: ['apps/connect/src/main/electron-seam.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['electron'], message: 'go through main/electron-seam.ts' },
            { group: ['react', 'react-dom'] },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/connect/src/preload/**'],
    ignores: ['apps/connect/src/preload/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', ...NODE_BUILTINS, 'react', 'react-dom'],
              message: 'the preload is sandboxed: electron and the request names only',
            },
            {
              group: ['**/core/**', '**/api/service/**', '**/host/**', '**/main/**'],
              message: 'the preload only relays requests',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/testing/**', '**/test-support/**', '**/test-support.ts'],
    ignores: ['apps/connect/src/main/**', 'apps/connect/src/preload/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['electron', 'react', 'react-dom'] }] },
  },
);
