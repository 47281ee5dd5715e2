/** Unit tests run everywhere; integration tests run against the backend chosen by TEST_BACKEND
 * (embedded: PGlite + in-process store, the default; postgres: TEST_DATABASE_URL + TEST_REDIS_URL).
 * `*.embedded.test.ts` run on the embedded backend only, `*.postgres.test.ts` / `*.multinode.test.ts` on postgres only.
 * The console's component tests (`web/src/**\/*.test.tsx`) are a project of their own in jsdom, on either backend. */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
const swcTsx = ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true }, target: 'es2022', transform: { react: { runtime: 'automatic' } } }, module: { type: 'commonjs' } }];
module.exports = {
  projects: [
    {
      displayName: 'node',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': swc },
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/'].concat(
        process.env.TEST_BACKEND === 'postgres' ? ['\\.embedded\\.test\\.ts$'] : ['\\.(multinode|postgres)\\.test\\.ts$'],
      ),
    },
    {
      displayName: 'web',
      testEnvironment: 'jsdom',
      transform: { '^.+\\.tsx?$': swcTsx },
      moduleFileExtensions: ['tsx', 'ts', 'js', 'json'],
      moduleNameMapper: { '\\.css$': '<rootDir>/web/test-support/style-stub.js' },
      setupFiles: ['<rootDir>/web/test-support/setup.js'],
      testMatch: ['<rootDir>/web/src/**/*.test.tsx'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    },
  ],
  // a global option: inside a project it is ignored (and the limit falls back to 5 s)
  testTimeout: 30000,
  maxWorkers: 2,
};
