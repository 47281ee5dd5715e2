import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The initial JavaScript budget (gzipped): what a first visit downloads before any lazy page or chart. */
const INITIAL_JS_BUDGET = 250 * 1024;

/**
 * Measures the initial JavaScript — the entry chunk and everything it imports statically — gzipped, writes
 * the figure to bundle-size.json beside the build and fails the build when it is over budget.
 */
function initialBundleBudget(): Plugin {
  return {
    name: 'keywallet-initial-bundle-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      const chunks = new Map(Object.values(bundle).flatMap((c) => (c.type === 'chunk' ? [[c.fileName, c] as const] : [])));
      const seen = new Set<string>();
      const visit = (name: string) => {
        if (seen.has(name)) return;
        seen.add(name);
        for (const dep of chunks.get(name)?.imports ?? []) visit(dep);
      };
      for (const chunk of chunks.values()) if (chunk.isEntry) visit(chunk.fileName);
      const gzipBytes = [...seen].reduce((sum, name) => sum + gzipSync(chunks.get(name)!.code, { level: 9 }).length, 0);
      const figure = { initialJsGzipBytes: gzipBytes, budgetBytes: INITIAL_JS_BUDGET, files: [...seen] };
      this.emitFile({ type: 'asset', fileName: 'bundle-size.json', source: JSON.stringify(figure, null, 2) + '\n' });
      console.log(`console: initial JS ${(gzipBytes / 1024).toFixed(1)} KB gzipped (budget ${INITIAL_JS_BUDGET / 1024} KB)`);
      if (gzipBytes > INITIAL_JS_BUDGET) this.error(`initial JS is ${gzipBytes} bytes gzipped, over the ${INITIAL_JS_BUDGET}-byte budget`);
    },
  };
}

/**
 * The console is served by the gateway at /console (src/http/console-static.ts) from dist/console.
 * Fingerprinted file names (assets/[name]-[hash]) let the gateway cache them for a year; nothing is inlined
 * into index.html, so the Content-Security-Policy needs no 'unsafe-inline'.
 */
export default defineConfig({
  root,
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic' } },
  plugins: [initialBundleBudget()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    target: 'es2022',
    rolldownOptions: {
      // TanStack Query's "use client" markers mean nothing without server components
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    // `npm run dev:web` next to `npm run dev`: the API on the same origin through the dev server
    proxy: Object.fromEntries(
      ['/auth', '/api-keys', '/wallet', '/users', '/plans', '/services', '/models', '/routing', '/audit', '/analytics', '/system', '/health', '/ready', '/openapi.json', '/v1', '/credits'].map(
        (p) => [p, 'http://127.0.0.1:8080'],
      ),
    ),
  },
});
