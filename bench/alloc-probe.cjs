/**
 * Preloaded into the benchmarked gateway by `npm run bench -- --profile --alloc` (`node -r bench/alloc-probe.cjs`):
 * V8's sampling heap profiler over the measured load, and every GC pause in it. SIGTTIN starts both, SIGTTOU
 * writes { profile, gc } to $KW_ALLOC_FILE. KW_ALLOC_KIND=promoted keeps only what survived a scavenge (what
 * made it to the old generation, where a mark-compact has to find it); otherwise every allocation counts.
 * KW_ALLOC_INTERVAL: bytes between samples (default 16384; the promoted view, having fewer, uses 4096).
 * Bench only: never loaded by the gateway itself.
 */
'use strict';
const fs = require('node:fs');
const inspector = require('node:inspector');
const { PerformanceObserver, constants } = require('node:perf_hooks');

const out = process.env.KW_ALLOC_FILE;
if (out) {
  const session = new inspector.Session();
  session.connect();
  let gc = null;
  new PerformanceObserver((list) => {
    if (!gc) return;
    for (const e of list.getEntries()) {
      const kind = e.detail?.kind ?? e.kind;
      const name = kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : kind === constants.NODE_PERFORMANCE_GC_MAJOR ? 'major' : 'other';
      (gc[name] ??= []).push(e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const interval = Number(process.env.KW_ALLOC_INTERVAL) || 16384;
  process.on('SIGTTIN', () => {
    gc = {};
    const includeMinor = process.env.KW_ALLOC_KIND !== 'promoted';
    session.post('HeapProfiler.enable', () =>
      session.post('HeapProfiler.startSampling', { samplingInterval: interval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: includeMinor }),
    );
  });
  // In the promoted view, what the window allocated after its last scavenge is still young, dead or not: two
  // scavenges before the profile is read drop it (the first copies the survivors, the second frees those that died).
  let collectYoung = null;
  if (process.env.KW_ALLOC_KIND === 'promoted') {
    require('node:v8').setFlagsFromString('--expose-gc');
    const collect = require('node:vm').runInNewContext('gc');
    collectYoung = () => {
      collect({ type: 'minor' });
      collect({ type: 'minor' });
    };
  }
  process.on('SIGTTOU', () => {
    const pauses = gc;
    gc = null;
    if (collectYoung) collectYoung();
    session.post('HeapProfiler.stopSampling', (err, res) => {
      fs.writeFileSync(`${out}.tmp`, JSON.stringify({ profile: err ? null : res.profile, gc: pauses, intervalBytes: interval, error: err ? String(err.message ?? err) : undefined }));
      fs.renameSync(`${out}.tmp`, out);
    });
  });
}
