/** Unit tests run everywhere; integration tests run against the backend chosen by TEST_BACKEND
 * (embedded: PGlite + in-process store, the default; postgres: TEST_DATABASE_URL + TEST_REDIS_URL).
 * `*.embedded.test.ts` run on the embedded backend only, `*.postgres.test.ts` / `*.multinode.test.ts` on postgres only. */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'].concat(
    process.env.TEST_BACKEND === 'postgres' ? ['\\.embedded\\.test\\.ts$'] : ['\\.(multinode|postgres)\\.test\\.ts$'],
  ),
  testTimeout: 30000,
  maxWorkers: 2,
};
