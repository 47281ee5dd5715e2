import { Readable } from 'node:stream';
import { clientResponseHeaders } from '../../src/proxy/headers';
import { needlesFor, REDACTED, scrubBytes, scrubText, secretForms, StreamScrubber } from '../../src/proxy/secret-scrubber';
import { secretScrubber } from '../../src/proxy/streams';
import { fakeSecret } from '../helpers/fake-secrets';
import { findLeaks } from '../helpers/secret-scan';

/** Every way an upstream could hand a secret back, each with the text around it. */
function echoes(secret: string): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    raw: `{"content":"your key is ${secret}."}`,
    'Bearer header echo': `{"headers":{"authorization":"Bearer ${secret}"}}`,
    'Basic secret: (Stripe style)': `{"authorization":"Basic ${b64(`${secret}:`)}"}`,
    'Basic user:secret': `Basic ${b64(`api:${secret}`)}`,
    'Basic ab:secret': `Basic ${b64(`ab:${secret}`)}`,
    'base64 at offset 1 inside a blob': b64(`x${secret}yz-and-more`),
    'base64 at offset 2 inside a blob': b64(`xy${secret}z`),
    'base64url': Buffer.from(`\xff\xfe${secret}\xff`, 'latin1').toString('base64url'),
    'URL-encoded in a query': `https://api.example.test/v1?key=${encodeURIComponent(secret)}&x=1`,
    'URL-encoded, lower-case hex': `key=${encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`,
    'form-encoded': new URLSearchParams({ key: secret, other: 'v' }).toString(),
    'JSON-escaped (PHP-style \\/)': `{"k":"${secret.replace(/\//g, '\\/')}"}`,
  };
}

const SECRETS = {
  openaiProject: fakeSecret.openaiProject(),
  anthropic: fakeSecret.anthropic(),
  stripeLive: fakeSecret.stripeLive(),
  googlemaps: fakeSecret.googlemaps(),
  openweather: fakeSecret.openweather(),
  awsSecretKey: fakeSecret.awsSecretKey(),
};

/** True when `text` still carries the secret in any of its forms (what a client could decode back). */
function stillLeaks(secret: string, text: string): string[] {
  const b64 = Buffer.from(text.replace(/^.*Basic /s, ''), 'base64').toString('latin1');
  const b64url = Buffer.from(text, 'base64url').toString('latin1');
  let decodedUri = text;
  try {
    decodedUri = decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    /* not URL-encoded */
  }
  return findLeaks([secret], { text, b64, b64url, decodedUri, unescaped: text.replace(/\\\//g, '/') });
}

describe('14.3 secret scrubber: every redaction rule, fed real-looking secrets', () => {
  for (const [kind, secret] of Object.entries(SECRETS)) {
    for (const [form, text] of Object.entries(echoes(secret))) {
      it(`${kind}: ${form}`, () => {
        expect(stillLeaks(secret, text).length).toBeGreaterThan(0); // the echo does carry it
        const out = scrubBytes(Buffer.from(text), needlesFor(secret)).toString('latin1');
        expect(out).toContain(REDACTED);
        expect(stillLeaks(secret, out)).toEqual([]);
      });
    }
  }

  it('a secret with URL-special characters has its encoded forms among the patterns', () => {
    const secret = 'ab/cd+ef=gh~ij';
    expect(secretForms(secret)).toEqual(expect.arrayContaining([secret, 'ab%2Fcd%2Bef%3Dgh~ij', 'ab%2fcd%2bef%3dgh~ij', 'ab\\/cd+ef=gh~ij']));
  });

  it('answers without a match are the very same Buffer (no copy on the hot path)', () => {
    const data = Buffer.from(JSON.stringify({ choices: [{ message: { content: 'x'.repeat(4000) } }] }));
    expect(scrubBytes(data, needlesFor(SECRETS.openaiProject))).toBe(data);
    expect(new StreamScrubber(needlesFor(SECRETS.openaiProject)).push(data)).toBe(data);
  });

  it('scrubText leaves clean text alone and redacts a Basic echo', () => {
    const needles = needlesFor(SECRETS.stripeLive);
    expect(scrubText('nothing here', needles)).toBe('nothing here');
    expect(scrubText(`Basic ${Buffer.from(`${SECRETS.stripeLive}:`).toString('base64')}`, needles)).toMatch(/^Basic [A-Za-z0-9+/=]{0,3}\[redacted\][A-Za-z0-9+/=]{0,4}$/);
  });
});

describe('14.3 StreamScrubber: a secret split across chunk boundaries', () => {
  it('every split point of every echo gives the same bytes as scrubbing the whole', () => {
    for (const secret of [SECRETS.anthropic, SECRETS.awsSecretKey]) {
      const needles = needlesFor(secret);
      for (const text of Object.values(echoes(secret))) {
        const data = Buffer.from(`data: ${text}\n\n`);
        const whole = scrubBytes(data, needles).toString();
        for (let i = 1; i < data.length; i++) {
          const s = new StreamScrubber(needles);
          const out = Buffer.concat([s.push(data.subarray(0, i)), s.push(data.subarray(i)), s.end()]).toString();
          expect(out).toBe(whole);
        }
      }
    }
  });

  it('a secret cut into three pieces across three chunks', () => {
    const secret = SECRETS.openaiProject;
    const s = new StreamScrubber(needlesFor(secret));
    const parts = ['data: {"content":"', secret.slice(0, 10), secret.slice(10, 30), `${secret.slice(30)}"}\n\n`];
    const out = Buffer.concat([...parts.map((p) => s.push(p)), s.end()]).toString();
    expect(out).toBe('data: {"content":"[redacted]"}\n\n');
  });

  it('holds back only a tail that could begin a pattern: whole SSE frames go out at once', () => {
    const secret = SECRETS.openaiProject;
    const s = new StreamScrubber(needlesFor(secret));
    const frame = 'data: {"choices":[{"delta":{"content":"hi"}}]}\n\n';
    expect(s.push(frame).toString()).toBe(frame);
    expect(s.push(`x ${secret.slice(0, 6)}`).toString()).toBe('x ');
    expect(s.end().toString()).toBe(secret.slice(0, 6));
  });

  it('the Transform form (the /proxy body pipe) scrubs base64 echoes split across chunks', async () => {
    const secret = SECRETS.stripeLive;
    const echo = `{"authorization":"Basic ${Buffer.from(`${secret}:`).toString('base64')}"}`;
    const cut = Math.floor(echo.length / 2);
    const parts: Buffer[] = [];
    for await (const p of Readable.from([Buffer.from(echo.slice(0, cut)), Buffer.from(echo.slice(cut))]).pipe(secretScrubber(secret))) parts.push(p as Buffer);
    const out = Buffer.concat(parts).toString();
    expect(out).toContain(REDACTED);
    expect(stillLeaks(secret, out)).toEqual([]);
  });
});

describe('14.3 response headers', () => {
  it('drops a header that echoes the secret raw, URL-encoded or as a Basic credential', () => {
    const secret = SECRETS.awsSecretKey;
    const upstream = {
      'content-type': 'application/json',
      'x-echo-auth': `Basic ${Buffer.from(`${secret}:`).toString('base64')}`,
      'x-echo-user-auth': `Basic ${Buffer.from(`user:${secret}`).toString('base64')}`,
      location: `https://api.example.test/cb?key=${encodeURIComponent(secret)}`,
      'x-debug': [`fine`, `key=${secret}`],
      'x-kept': 'yes',
    };
    expect(clientResponseHeaders(upstream, { type: 'basic' }, secret)).toEqual({ 'content-type': 'application/json', 'x-kept': 'yes' });
  });
});
