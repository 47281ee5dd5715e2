/** What is sent, and how each scenario of the table is loaded. The same bodies go to every target. */
import { closedLoop, closedLoopStreams, LoadResult, openLoop, Target } from './load';
import type { ScenarioName } from './report';

export const CHAT_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello to the benchmark.' }],
  max_tokens: 16,
});
export const STREAM_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Say hello to the benchmark.' }],
  max_tokens: 16,
  stream: true,
});

export interface Durations {
  closedS: number;
  openS: number;
  streamS: number;
  warmS: number;
}

export function runScenario(scenario: ScenarioName, target: Target, d: Durations): Promise<LoadResult> {
  switch (scenario) {
    case 'closed50':
      return closedLoop(target, CHAT_BODY, 50, d.closedS);
    case 'open400':
      return openLoop(target, CHAT_BODY, 400, d.openS, false);
    case 'open1000':
      return openLoop(target, CHAT_BODY, 1000, d.openS, false);
    case 'stream20':
      return closedLoopStreams(target, STREAM_BODY, 20, d.streamS);
    case 'stream200':
      return openLoop(target, STREAM_BODY, 200, d.streamS, true);
  }
}

/** JIT, connection pools and the gateway's caches warm before anything is recorded. */
export async function warmUp(target: Target, d: Durations): Promise<number> {
  const a = await closedLoop(target, CHAT_BODY, 50, d.warmS);
  const b = await closedLoopStreams(target, STREAM_BODY, 20, Math.max(1, d.warmS / 2));
  return a.ok + a.failed + b.ok + b.failed;
}

/**
 * One plain and one streamed request must come back right before a target is loaded: a gateway that
 * answers 401 or 429 quickly would otherwise look fast. Returns a line describing what came back.
 */
export async function verify(target: Target): Promise<string> {
  const headers = { 'content-type': 'application/json', ...target.headers };
  const plain = await fetch(target.url, { method: 'POST', headers, body: CHAT_BODY });
  const text = await plain.text();
  if (plain.status !== 200 || !text.includes('"chat.completion"') || !text.includes('"usage"')) {
    throw new Error(`${target.name}: a chat completion answered ${plain.status}: ${text.slice(0, 400)}`);
  }
  const streamed = await fetch(target.url, { method: 'POST', headers, body: STREAM_BODY });
  const events = await streamed.text();
  if (streamed.status !== 200 || !events.includes('chat.completion.chunk') || !events.trimEnd().endsWith('data: [DONE]')) {
    throw new Error(`${target.name}: a streamed completion answered ${streamed.status}: ${events.slice(0, 400)}`);
  }
  const entry = plain.headers.get('x-keywallet-provider-key');
  const limit = plain.headers.get('x-ratelimit-remaining-requests');
  return entry ? `routed to wallet entry ${entry}, x-ratelimit-remaining-requests ${limit ?? 'absent'}` : 'ok';
}
