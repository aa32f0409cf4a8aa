import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-tools/**', 'node_modules/**', 'coverage/**', 'eslint.config.mjs', 'jest.config.js', 'jest.browser.config.js', '.dependency-cruiser.cjs', 'clients/typescript/schema.d.ts', 'web/build.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      // Transactions open through database/transaction.ts, which marks the scope that holds a
      // connection so the pool guard can refuse a second checkout (pool starvation).
      'no-restricted-properties': [
        'error',
        { property: 'transaction', message: 'Use inTransaction() from src/database/transaction.ts' },
        { property: 'createQueryRunner', message: 'Use inClientTransaction() or withClient() from src/database/transaction.ts' },
      ],
    },
  },
  {
    // Migrations are history: shared SQL and constants live in src/database/, never in a migration.
    files: ['src/**/*.ts'],
    ignores: ['src/database/migrations/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/migrations/*'], message: 'Runtime code never imports a migration' }] }],
    },
  },
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', '**/*.spec.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
