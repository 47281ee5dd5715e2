/**
 * Micro-benchmark of the secret scrubber (src/proxy/secret-scrubber.ts): the cost per KB of scanning an answer
 * for one wallet entry's secret in all its forms, next to the cost of things every answer pays anyway (turning
 * a JSON answer into bytes). `npx tsx bench/scrubber.ts`. Each figure is the best of several rounds: on a shared
 * machine the best round is the one least disturbed by other work.
 */
import { needlesFor, scrubBytes, StreamScrubber } from '../src/proxy/secret-scrubber';

const ROUNDS = 7;
const secret = `sk-proj-${'Ab3dEfGh1jKlMn0pQrStUvWxYz'.repeat(2)}`;
const needles = needlesFor(secret);

function best(fn: () => unknown, iterations: number): number {
  let min = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / iterations);
  }
  return min;
}

function answerOf(size: number): { object: unknown; bytes: Buffer } {
  const words = 'The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet, consectetur. ';
  const content = words.repeat(Math.ceil(size / words.length)).slice(0, Math.max(0, size - 200));
  const object = { id: 'chatcmpl-abc123', object: 'chat.completion', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] };
  return { object, bytes: Buffer.from(JSON.stringify(object)) };
}

console.log(`secret of ${secret.length} chars → ${needles.bytes.length} patterns (${needles.texts.map((t) => t.length).join(', ')} bytes)`);
console.log('size      scrub (µs)   ns/KB   JSON.stringify+Buffer.from (µs)   stream push (µs)');
for (const size of [256, 1024, 4096, 16384, 65536]) {
  const { object, bytes } = answerOf(size);
  const iterations = Math.max(200, Math.floor(4e6 / size));
  const scrub = best(() => scrubBytes(bytes, needles), iterations);
  const serialise = best(() => Buffer.from(JSON.stringify(object)), iterations);
  const stream = best(() => new StreamScrubber(needles).push(bytes), iterations);
  console.log(
    `${String(bytes.length).padStart(6)} B ${(scrub / 1000).toFixed(2).padStart(10)} ${((scrub / bytes.length) * 1024).toFixed(0).padStart(7)} ${(serialise / 1000).toFixed(2).padStart(20)} ${(stream / 1000).toFixed(2).padStart(25)}`,
  );
}
{
  // the worst case for the anchors: an embeddings answer in base64, where upper-case letters are everywhere
  const embedding = Buffer.from(Float32Array.from({ length: 1536 }, (_, i) => Math.sin(i)).buffer).toString('base64');
  const bytes = Buffer.from(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding }] }));
  const scrub = best(() => scrubBytes(bytes, needles), 2000);
  console.log(`base64 embeddings answer (${bytes.length} B): ${(scrub / 1000).toFixed(2)} µs, ${((scrub / bytes.length) * 1024).toFixed(0)} ns/KB`);
}
const frame = Buffer.from('data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":" hello"},"finish_reason":null}]}\n\n');
const scrubber = new StreamScrubber(needles);
console.log(`one SSE frame (${frame.length} B) through a stream scrubber: ${(best(() => scrubber.push(frame), 200_000) / 1000).toFixed(3)} µs`);
console.log(`patterns of a warm secret (cache hit): ${(best(() => needlesFor(secret), 200_000) / 1000).toFixed(3)} µs`);
