/**
 * Preloaded into the benchmarked gateway (`node -r bench/eld-probe.cjs`, inherited by cluster workers through
 * execArgv): Node's monitorEventLoopDelay at 1 ms resolution, the monitor behind keywallet_event_loop_delay_seconds.
 * On SIGUSR2 it writes what it recorded since the last signal to $KW_ELD_DIR/<pid>.json (count, and the HDR
 * histogram's percentile → nanoseconds breakpoints, so the bench can merge processes exactly) and starts over.
 * Bench only: never loaded by the gateway itself.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const dir = process.env.KW_ELD_DIR;
if (dir) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let seq = 0;
  process.on('SIGUSR2', () => {
    seq += 1;
    const dump = { pid: process.pid, seq, count: h.count, max: h.max, percentiles: [...h.percentiles.entries()] };
    h.reset();
    const file = path.join(dir, `${process.pid}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(dump));
    fs.renameSync(`${file}.tmp`, file);
  });
}
