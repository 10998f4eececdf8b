// ESLint flat config, run as `eslint --config .ci/eslint.config.js` so the
// top level stays free of tool files; paths are relative to the repository
// root (the folder eslint runs in). Formatting is Prettier's job
// (.ci/prettier.json); none of the rules below is about layout.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { dirname } from 'node:path';

const root = dirname(import.meta.dirname);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      // `_`-prefixed names are deliberate: dropping keys by destructuring
      // (`const { signal: _signal, ...rest }`) and Express's four-argument
      // error handler, which must declare `next` it does not call.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Passing a caught `unknown` on to reject() keeps the original error;
      // wrapping it would hide its type from callers.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Test fakes implement async interfaces (start(), get(), tasks) and
      // often have nothing to await.
      '@typescript-eslint/require-await': 'off',
      // Tests pin ANSI escapes and control characters in output on purpose.
      'no-control-regex': 'off',
      // Tests read JSON (HTTP bodies, CLI --json) as `any` and pin its shape
      // with expect(); typing every body first adds nothing the assertion
      // does not already check.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // The same JSON, typed once as `Record<string, any>` at the fetch helper.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Plain Node scripts (tool configs, test hooks), outside both tsconfigs.
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
  },
  { files: ['**/*.{js,mjs,cjs}'], languageOptions: { globals: globals.node } },
);
