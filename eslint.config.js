// Lint for the whole tree: type-aware typescript-eslint for the engine, preload, shared contract,
// tests and scripts; eslint-plugin-vue + vuejs-accessibility for the renderer; Prettier owns
// formatting (eslint-config-prettier switches off the style rules that would fight it).
//
// Layering is enforced here with `no-restricted-imports` generated from one table (LAYERS below)
// rather than with dependency-cruiser: it needs no extra dependency, runs in the same `npm run lint`
// pass and editor integration, and the table stays one readable list. Extending it for a new box is
// one line: `mybox: ['store', 'events']`.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import vue from 'eslint-plugin-vue'
import vueA11y from 'eslint-plugin-vuejs-accessibility'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import vueParser from 'vue-eslint-parser'

// ---------------------------------------------------------------------------------------------
// Engine layers (src/main/<box>). Each box lists the boxes it MAY import; everything else in
// src/main is forbidden to it. `log`, `wasm`, `math`, `util` and `contracts.ts` are importable by every box.
// Order today: store ← cameras / events / gallery / review ← live / alerts ← app ← shells,
// with inference under gallery and tracking under live.
// ---------------------------------------------------------------------------------------------
export const LAYERS = {
  log: [],
  wasm: [],
  math: [],
  util: [],
  store: [],
  inference: [],
  tracking: [],
  cameras: ['store'],
  events: ['store'],
  gallery: ['store', 'inference'],
  review: ['store', 'gallery'],
  memory: ['store', 'gallery', 'review', 'tracking'],
  alerts: ['store', 'events', 'gallery', 'cameras', 'review'],
  live: ['store', 'cameras', 'events', 'gallery', 'review', 'tracking', 'memory', 'inference'],
  app: ['store', 'cameras', 'events', 'gallery', 'review', 'live', 'alerts', 'memory', 'tracking', 'inference'],
  api: [],
  // shells: everything below them
  server: ['*'],
  electron: ['*'],
  cli: ['*']
}
/** importable by every box */
const COMMON = ['log', 'wasm', 'math', 'util']

const boxes = Object.keys(LAYERS)
const oneOf = (names) => `(${names.join('|')})`
/** relative import of another engine box from inside src/main/<box>/… (any depth) */
const boxImport = (names) => `^(\\.\\./)+${oneOf(names)}(/|$)`
const electronBan = {
  regex: '^electron(/|$)',
  message: 'Only src/main/electron, src/main/index.ts and the preload may import electron.'
}
const mainBan = {
  regex: '^((\\.\\./)+|@)main(/|$)',
  message: 'The renderer and preload talk to the engine only through src/shared/api.ts.'
}

function boxRestrictions(box) {
  const allowed = LAYERS[box]
  const patterns = [electronBan]
  if (!allowed.includes('*')) {
    const forbidden = boxes.filter((b) => b !== box && !COMMON.includes(b) && !allowed.includes(b))
    patterns.push({
      regex: boxImport(forbidden),
      message: `Layering: src/main/${box} may import only ${[...allowed, ...COMMON].join(', ')} (see LAYERS in eslint.config.js).`
    })
    // engine boxes never reach the shells' helpers either
    patterns.push({ regex: '^(\\.\\./)+index(\\.ts)?$', message: 'Layering: nothing imports the Electron entry.' })
  }
  return { files: [`src/main/${box}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } }
}

const layerConfigs = [
  // anything in src/main not inside a listed box (contracts.ts, index.ts)
  { files: ['src/main/*.ts'], rules: { 'no-restricted-imports': ['error', { patterns: [electronBan] }] } },
  { files: ['src/main/index.ts'], rules: { 'no-restricted-imports': 'off' } },
  ...boxes.filter((b) => b !== 'electron').map(boxRestrictions),
  // the Electron shell is the one box that imports electron itself
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!zod$|\\./)',
              message:
                'src/shared is the contract: it imports only zod and its own files (no node:, electron or other layers).'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [mainBan, { regex: '^node:', message: 'The preload runs sandboxed: no Node built-ins.' }] }
      ]
    }
  },
  {
    files: ['src/renderer/**/*.{ts,vue}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            mainBan,
            { regex: '^electron(/|$)', message: 'The renderer reaches Electron only through the preload bridge.' },
            { regex: '^node:', message: 'The renderer runs in a browser: no Node built-ins.' }
          ]
        }
      ]
    }
  }
]

const rendererFiles = ['src/renderer/**/*.{ts,vue}', 'test/components/**/*.ts']
const typedFiles = [
  'src/main/**/*.ts',
  'src/preload/**/*.ts',
  'src/shared/**/*.ts',
  'test/**/*.ts',
  'scripts/**/*.ts',
  'bench/**/*.ts',
  '*.config.ts'
]
const typedIgnores = ['test/components/**']

export default tseslint.config(
  {
    ignores: [
      'out/**',
      'dist/**',
      'node_modules/**',
      'models/**',
      'test-output/**',
      'test/components/**/*.mjs',
      'test/browser/support/fixture/**'
    ]
  },
  js.configs.recommended,
  // Type-aware rules for everything that runs in Node or is the shared contract.
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: typedFiles, ignores: typedIgnores })),
  {
    files: typedFiles,
    ignores: typedIgnores,
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Fire-and-forget is deliberate in event handlers and shutdown paths; those carry `void`.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      // Handlers implement Promise-returning contracts; `async` keeps a throw a rejection even when
      // the body happens not to await.
      '@typescript-eslint/require-await': 'off',
      // `xs[i]!` marks an index known to be in range; it stays meaningful (and needed) the day
      // noUncheckedIndexedAccess is switched on, so it is not "unnecessary".
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // `catch (err) { return Promise.reject(err) }` forwards whatever was thrown, unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }]
    }
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // expect(obj.method).toHaveBeenCalled() and spies pass methods unbound by design.
      '@typescript-eslint/unbound-method': 'off',
      // vitest's asymmetric matchers (expect.stringMatching, expect.any) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off'
    }
  },
  {
    files: ['test/browser/**/*.ts'],
    rules: {
      // page.evaluate() bodies run in Chromium; the Node tsconfig has no DOM types to check them with.
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off'
    }
  },
  // Renderer: Vue SFCs and their TS, parsed by typescript-eslint but without type information
  // (vue-tsc already type-checks them; type-aware lint over SFCs doubles the lint time).
  ...tseslint.configs.recommended.map((c) => ({ ...c, files: rendererFiles })),
  ...vue.configs['flat/recommended'].map((c) => ({ ...c, files: ['src/renderer/**/*.vue'] })),
  ...vueA11y.configs['flat/recommended'].map((c) => ({ ...c, files: ['src/renderer/**/*.vue'] })),
  {
    files: rendererFiles,
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }]
    }
  },
  {
    files: ['src/renderer/**/*.vue'],
    rules: {
      // A label wrapping its input is associated; ids are not needed on top of nesting.
      'vuejs-accessibility/label-has-for': ['error', { required: { some: ['nesting', 'id'] } }],
      // Dialogs focus their first field on open, as the WAI-ARIA dialog pattern asks.
      'vuejs-accessibility/no-autofocus': 'off',
      // Optional typed props are undefined when absent, and the components treat undefined as "none".
      'vue/require-default-prop': 'off'
    }
  },
  {
    files: ['src/renderer/**/*.vue'],
    languageOptions: {
      parser: vueParser,
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' }
    }
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: { globals: { ...globals.node } }
  },
  // No console in the engine: it logs through src/main/log. CLIs print their results to stdout.
  { files: ['src/main/**/*.ts'], rules: { 'no-console': 'error' } },
  // the CLIs and the browser-mode entry print their results and usage to the terminal
  { files: ['src/main/cli/**/*.ts', 'src/main/server/main.ts'], rules: { 'no-console': 'off' } },

  ...layerConfigs,
  prettier
)
