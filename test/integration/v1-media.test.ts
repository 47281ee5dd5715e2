import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';
import OpenAI, { toFile } from 'openai';
import { TEST_BACKEND } from '../helpers/backend';
import { startLlmEnv, type LlmTestEnv } from '../helpers/llm';

/** What the media upstream saw of one upload: fields, each file's size and hash, and the gateway's spool on disk meanwhile. */
interface SeenUpload {
  path: string;
  credential: string | undefined;
  fields: Record<string, string>;
  files: { field: string; filename: string; size: number; sha256: string }[];
  spooled: number[];
}

function spoolSizes(): number[] {
  const sizes: number[] = [];
  for (const dir of fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('keywallet-upload-'))) {
    for (const file of fs.readdirSync(path.join(os.tmpdir(), dir))) sizes.push(fs.statSync(path.join(os.tmpdir(), dir, file)).size);
  }
  return sizes;
}

/** A stand-in for OpenAI's audio and image-edit endpoints that reads uploads as a stream (busboy), as the real one must. */
async function startMediaUpstream() {
  const seen: SeenUpload[] = [];
  let failNext = 0;
  const server = http.createServer((req, res) => {
    const credential = req.headers.authorization?.replace(/^Bearer /, '');
    if (req.url === '/v1/audio/speech') {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', async () => {
        const body = JSON.parse(raw);
        res.writeHead(200, { 'content-type': 'audio/mpeg', 'transfer-encoding': 'chunked' });
        for (let i = 0; i < 4; i++) {
          res.write(Buffer.alloc(64 * 1024, i + 1));
          await new Promise((r) => setTimeout(r, 10));
        }
        res.end(Buffer.from(`voice=${body.voice}`));
      });
      return;
    }
    if (failNext > 0) {
      failNext -= 1;
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }));
      });
      return;
    }
    const upload: SeenUpload = { path: req.url!, credential, fields: {}, files: [], spooled: spoolSizes() };
    const parser = busboy({ headers: req.headers });
    const hashing: Promise<void>[] = [];
    parser.on('field', (name, value) => (upload.fields[name] = value));
    parser.on('file', (field, stream, info) => {
      const hash = crypto.createHash('sha256');
      const entry = { field, filename: info.filename ?? '', size: 0, sha256: '' };
      upload.files.push(entry);
      hashing.push(
        new Promise((resolve) => {
          stream.on('data', (c: Buffer) => {
            entry.size += c.length;
            hash.update(c);
          });
          stream.on('end', () => {
            entry.sha256 = hash.digest('hex');
            resolve();
          });
        }),
      );
    });
    parser.on('close', async () => {
      await Promise.all(hashing);
      seen.push(upload);
      if (upload.fields.response_format === 'text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`heard ${upload.files[0]?.size} bytes\n`);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/v1/images/edits') {
        res.end(JSON.stringify({ created: 1, data: upload.files.map(() => ({ b64_json: 'iVBORw0KGgo=' })) }));
        return;
      }
      res.end(JSON.stringify({ text: `heard ${upload.files[0]?.size} bytes`, usage: { type: 'tokens', input_tokens: 120, output_tokens: 7, total_tokens: 127 } }));
    });
    req.pipe(parser);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    failOnce: () => (failNext = 1),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe(`audio and image uploads, speech (${TEST_BACKEND})`, () => {
  let env: LlmTestEnv;
  let media: Awaited<ReturnType<typeof startMediaUpstream>>;
  let client: OpenAI;
  const entries: string[] = [];

  beforeAll(async () => {
    env = await startLlmEnv();
    media = await startMediaUpstream();
    client = new OpenAI({ baseURL: `${env.gw.url}/v1`, apiKey: env.key, maxRetries: 0 });
    const created = await env.gw.request('/services', { method: 'POST', token: env.adminToken, body: { slug: 'media', kind: 'llm', baseUrl: media.url, auth: { type: 'bearer' }, allowPrivate: true } });
    expect(created.status).toBe(201);
    for (const priority of [1, 2]) {
      const res = await env.gw.request('/wallet/keys', { method: 'POST', token: env.adminToken, body: { service: 'media', secret: `media-secret-${priority}-${crypto.randomBytes(12).toString('hex')}`, label: `media ${priority}`, tier: 'paid', priority } });
      expect(res.status).toBe(201);
      entries.push(res.body.id);
    }
  });
  afterAll(async () => {
    await env.close();
    await media.close();
  });
  beforeEach(() => (media.seen.length = 0));

  it('streams a multi-megabyte transcription upload through, byte for byte, spooled to disk and cleaned up', async () => {
    const audio = crypto.randomBytes(6 * 1024 * 1024);
    const digest = crypto.createHash('sha256').update(audio).digest('hex');
    const { data, response } = await client.audio.transcriptions
      .create({ file: await toFile(audio, 'meeting.mp3', { type: 'audio/mpeg' }), model: 'media/whisper-1', language: 'en' })
      .withResponse();
    expect(data.text).toBe(`heard ${audio.length} bytes`);
    const [upload] = media.seen;
    expect(upload.path).toBe('/v1/audio/transcriptions');
    expect(upload.fields).toEqual({ model: 'whisper-1', language: 'en' });
    expect(upload.files).toEqual([{ field: 'file', filename: 'meeting.mp3', size: audio.length, sha256: digest }]);
    // while the upstream read it, the upload sat in the gateway's spool file, not in its memory; now it is gone
    expect(upload.spooled).toContain(audio.length);
    expect(spoolSizes()).toEqual([]);
    const row = await env.usageOf(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ surface: 'audio', service: 'media', model: 'whisper-1', prompt_tokens: 120, completion_tokens: 7, status: 200 });
  });

  it('sends the same upload again to the next entry when the first fails, and keeps a text answer as text', async () => {
    media.failOnce();
    const audio = crypto.randomBytes(300_000);
    const res = await client.audio.translations
      .create({ file: await toFile(audio, 'talk.wav', { type: 'audio/wav' }), model: 'media/whisper-1', response_format: 'text' })
      .withResponse();
    expect(res.response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.response.headers.get('x-keywallet-provider-key')).toBe(entries[1]);
    expect(res.response.headers.get('x-keywallet-attempts')).toBe('2');
    expect(media.seen[0].files[0].size).toBe(audio.length);
  });

  it('edits images: several files and a mask pass through', async () => {
    const images = [crypto.randomBytes(2000), crypto.randomBytes(3000)];
    const form = new FormData();
    form.append('model', 'media/gpt-image-1');
    form.append('prompt', 'add a hat');
    images.forEach((img, i) => form.append('image[]', new Blob([img], { type: 'image/png' }), `img${i}.png`));
    form.append('mask', new Blob([crypto.randomBytes(500)], { type: 'image/png' }), 'mask.png');
    const res = await fetch(`${env.gw.url}/v1/images/edits`, { method: 'POST', headers: { authorization: `Bearer ${env.key}` }, body: form });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(3);
    expect(media.seen[0].files.map((f) => [f.field, f.size])).toEqual([['image[]', 2000], ['image[]', 3000], ['mask', 500]]);
    expect(media.seen[0].fields.model).toBe('gpt-image-1');
  });

  it('streams speech audio back as the upstream produces it', async () => {
    const res = await fetch(`${env.gw.url}/v1/audio/speech`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'media/tts-1', input: 'Hello there', voice: 'alloy' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(4 * 64 * 1024 + 'voice=alloy'.length);
    expect(bytes.subarray(-11).toString()).toBe('voice=alloy');
  });

  it('refuses a file over UPLOAD_LIMIT_BYTES with 413, reaching no upstream and leaving nothing on disk', async () => {
    const limit = env.gw.config.uploadLimitBytes;
    const form = new FormData();
    form.append('model', 'media/whisper-1');
    form.append('file', new Blob([Buffer.alloc(limit + 1)], { type: 'audio/mpeg' }), 'big.mp3');
    const res = await fetch(`${env.gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${env.key}` }, body: form });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ type: 'invalid_request_error', code: 'payload_too_large' });
    expect(media.seen).toHaveLength(0);
    expect(spoolSizes()).toEqual([]);
  });

  it.each([
    ['no model', (f: FormData) => f.append('file', new Blob([Buffer.alloc(10)]), 'a.mp3')],
    ['no file', (f: FormData) => f.append('model', 'media/whisper-1')],
  ])('refuses an upload with %s (400), recording it', async (_label, fill) => {
    const form = new FormData();
    fill(form);
    const res = await fetch(`${env.gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${env.key}` }, body: form });
    expect(res.status).toBe(400);
    await env.usageOf(res.headers.get('x-request-id')!);
    expect(media.seen).toHaveLength(0);
  });

  it('refuses JSON where multipart is expected, and any upload without a gateway key before reading it', async () => {
    const json = await fetch(`${env.gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${env.key}`, 'content-type': 'application/json' }, body: '{"model":"whisper-1"}' });
    expect(json.status).toBe(415);
    const form = new FormData();
    form.append('model', 'media/whisper-1');
    form.append('file', new Blob([Buffer.alloc(1000)]), 'a.mp3');
    const anon = await fetch(`${env.gw.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
    expect(anon.status).toBe(401);
    expect(media.seen).toHaveLength(0);
  });
});
