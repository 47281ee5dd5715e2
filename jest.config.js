/** Unit tests run everywhere; integration tests run against the backend chosen by TEST_BACKEND
 * (embedded: PGlite + in-process store, the default; postgres: TEST_DATABASE_URL + TEST_REDIS_URL). */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'].concat(
    process.env.TEST_BACKEND === 'postgres' ? [] : ['\\.(multinode|postgres)\\.test\\.ts$'],
  ),
  testTimeout: 30000,
  maxWorkers: 2,
};
