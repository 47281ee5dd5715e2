import http from 'node:http';

export interface UploadResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: any;
  /** body bytes the client had handed to its socket when the answer arrived */
  sent: number;
  total: number;
}

/**
 * Sends a body of `total` bytes (made by `bytesAt`) in 64 KiB chunks, honouring backpressure, and stops as soon
 * as an answer arrives: `sent < total` means the gateway answered before the client finished sending. A server
 * that reads the whole body first lets the client send all of it (the socket buffers hold only a few MB).
 */
export function uploadUntilAnswered(
  url: string,
  headers: Record<string, string | number>,
  total: number,
  bytesAt: (offset: number, length: number) => Buffer,
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': total }, agent: false });
    let answered = false;
    let sent = 0;
    let wake: (() => void) | null = null;
    req.on('response', (res) => {
      answered = true;
      wake?.();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      // 'close' too: the server may reset the connection we were still sending on right after its answer
      const done = () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON, or cut short */
        }
        resolve({ status: res.statusCode!, headers: res.headers, json, sent, total });
        req.destroy();
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', () => {});
    });
    // once answered, the server may close its end while we were still sending: that is the point
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const pump = async () => {
      const CHUNK = 64 * 1024;
      while (sent < total && !answered && !req.destroyed) {
        const length = Math.min(CHUNK, total - sent);
        const ok = req.write(bytesAt(sent, length));
        sent += length;
        await new Promise<void>((r) => {
          wake = r;
          if (ok) setImmediate(r);
          else req.once('drain', r);
        });
        wake = null;
      }
      if (sent >= total && !answered) req.end();
    };
    pump().catch(reject);
  });
}

/** A chat body `{"model":…,"messages":[{"role":"user","content":"xxxx…"}]}` of exactly `total` bytes, by range. */
export function chatBodyOfSize(total: number, model = 'gpt-4o'): (offset: number, length: number) => Buffer {
  const head = Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"`);
  const tail = Buffer.from('"}]}');
  const fill = total - head.length - tail.length;
  if (fill < 0) throw new Error('body too small');
  return (offset, length) => {
    const out = Buffer.alloc(length, 'x');
    for (let i = 0; i < length && offset + i < head.length; i++) out[i] = head[offset + i];
    for (let i = Math.max(0, head.length + fill - offset); i < length; i++) out[i] = tail[offset + i - head.length - fill];
    return out;
  };
}
