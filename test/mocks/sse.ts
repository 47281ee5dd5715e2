/** Reading SSE bodies in tests: the mocks' own streams and the gateway's. */

export interface SseEvent {
  /** The `event:` name, when the frame has one (Anthropic); undefined for data-only frames (OpenAI). */
  event?: string;
  data: string;
}

/** Split an SSE body into frames; comment lines and blank frames are skipped. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const frame of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event !== undefined || data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return events;
}

/**
 * Read a response body to its end, keeping what arrived when the connection breaks:
 * `error` is set when the body did not finish cleanly (e.g. a dropped stream).
 */
export async function readBody(res: Response): Promise<{ text: string; error: unknown }> {
  const decoder = new TextDecoder();
  let text = '';
  if (!res.body) return { text, error: undefined };
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode(), error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}
