/**
 * Server-sent events: an incremental parser for upstream streams and a formatter for our own.
 * Follows the WHATWG event-stream rules (LF, CRLF or CR line ends; `:` comments; multi-line data
 * joined with `\n`; one optional space after the colon) so any upstream framing is read alike.
 */
import { StringDecoder } from 'node:string_decoder';

export interface SseEvent {
  event?: string;
  data: string;
}

export class SseParser {
  // A StringDecoder keeps a multi-byte UTF-8 character that is split across two network chunks intact.
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private skipLeadingLf = false;
  private atStreamStart = true;
  private eventName: string | undefined;
  private dataLines: string[] = [];

  push(chunk: Buffer | string): SseEvent[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    return this.consume(text, false);
  }

  /**
   * Ends the stream. Unlike a browser, which drops an event that was not closed by a blank line,
   * this dispatches it: a proxy would rather observe a final `data: [DONE]` sent without the
   * trailing blank line than lose it.
   */
  flush(): SseEvent[] {
    return this.consume(this.decoder.end(), true);
  }

  private consume(text: string, atEnd: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    let input = this.buffer + text;
    if (this.atStreamStart && input.length > 0) {
      if (input.charCodeAt(0) === 0xfeff) input = input.slice(1);
      this.atStreamStart = false;
    }
    let pos = 0;
    if (this.skipLeadingLf && input.length > 0) {
      if (input[0] === '\n') pos = 1;
      this.skipLeadingLf = false;
    }
    while (pos < input.length) {
      const lf = input.indexOf('\n', pos);
      const cr = input.indexOf('\r', pos);
      const end = cr !== -1 && (lf === -1 || cr < lf) ? cr : lf;
      if (end === -1) break;
      this.handleLine(input.slice(pos, end), events);
      if (input[end] === '\r') {
        if (end + 1 < input.length) {
          pos = input[end + 1] === '\n' ? end + 2 : end + 1;
        } else {
          // A CR at the very end of a chunk may be the first half of a CRLF split across chunks.
          this.skipLeadingLf = true;
          pos = end + 1;
        }
      } else {
        pos = end + 1;
      }
    }
    this.buffer = input.slice(pos);
    if (atEnd) {
      if (this.buffer.length > 0) this.handleLine(this.buffer, events);
      this.buffer = '';
      this.dispatch(events);
    }
    return events;
  }

  private handleLine(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      this.dispatch(events);
      return;
    }
    if (line[0] === ':') return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === 'data') this.dataLines.push(value);
    else if (field === 'event') this.eventName = value;
    // `id` and `retry` only matter to reconnecting browsers; a proxy has no use for them.
  }

  private dispatch(events: SseEvent[]): void {
    if (this.dataLines.length > 0) {
      const event: SseEvent = { data: this.dataLines.join('\n') };
      if (this.eventName) event.event = this.eventName;
      events.push(event);
    }
    this.dataLines = [];
    this.eventName = undefined;
  }
}

/** One complete SSE frame. Objects are JSON-encoded; a string with newlines becomes several data lines. */
export function formatSse(data: string | object, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  const head = event ? `event: ${event}\n` : '';
  return `${head}data: ${payload.split(/\r\n|\r|\n/).join('\ndata: ')}\n\n`;
}
