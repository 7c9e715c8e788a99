// ESLint flat config: typescript-eslint's recommended-type-checked rules over every TypeScript file the project
// compiles (tsconfig.json), with Prettier owning formatting (eslint-config-prettier turns the style rules off).
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'dist-jsii/',
      'assets/',
      'cdk.out/',
      '.local/',
      'coverage/',
      'examples/',
      // integ/ is a project of its own (own package.json and tsconfig, aws-cdk-lib 2.245); test/integ compiles it.
      'integ/',
      '**/*.js',
      '**/*.mjs',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  comments.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Every exception to a rule says why, on the line it covers.
      '@eslint-community/eslint-comments/require-description': 'error',
      // Unused names are already compile errors (noUnusedLocals/noUnusedParameters); `_`-prefixed ones are intentional.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Tests assert on untyped data by nature (JSON bodies from real HTTP responses, synthesized CloudFormation
    // templates); the assertions are the type checks there, so the no-unsafe-* family would only add casts.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  prettier,
);
