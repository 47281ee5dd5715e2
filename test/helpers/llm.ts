import { startAnthropicMock, startOpenAIMock, type MockOptions, type MockUpstream } from '../mocks';
import { fakeSecret } from './fake-secrets';
import { startTestGateway, type TestGateway } from './gateway';
import { createUserWithKey } from './keys';

/**
 * A gateway whose built-in openai and anthropic services point at local mock upstreams, one wallet entry
 * each (more with addEntry), and a developer on the enterprise plan (so plan limits stay out of the way).
 */
export interface LlmTestEnv {
  gw: TestGateway;
  openai: MockUpstream;
  anthropic: MockUpstream;
  adminToken: string;
  /** a gateway key with every scope */
  key: string;
  /** the wallet secrets, by service; the mocks record them as `credential` */
  secrets: { openai: string; anthropic: string };
  entryIds: { openai: string; anthropic: string };
  addEntry(service: 'openai' | 'anthropic', body?: Record<string, unknown>): Promise<{ id: string; secret: string }>;
  /** the usage_events row of a request, once the writer has flushed */
  usageOf(requestId: string): Promise<any>;
  close(): Promise<void>;
}

export async function startLlmEnv(mockOptions: MockOptions = {}): Promise<LlmTestEnv> {
  const gw = await startTestGateway();
  const [openai, anthropic] = await Promise.all([startOpenAIMock(mockOptions), startAnthropicMock(mockOptions)]);
  const adminToken = (await gw.user('admin')).token;
  for (const [slug, mock] of [['openai', openai], ['anthropic', anthropic]] as const) {
    const res = await gw.request(`/services/${slug}`, { method: 'PATCH', token: adminToken, body: { baseUrl: mock.url, allowPrivate: true } });
    if (res.status !== 200) throw new Error(`PATCH /services/${slug} answered ${res.status}: ${res.text}`);
  }
  const addEntry = async (service: 'openai' | 'anthropic', body: Record<string, unknown> = {}) => {
    const secret = service === 'openai' ? fakeSecret.openaiProject() : fakeSecret.anthropic();
    const res = await gw.request('/wallet/keys', { method: 'POST', token: adminToken, body: { secret, service, label: `${service} mock`, ...body } });
    if (res.status !== 201) throw new Error(`POST /wallet/keys answered ${res.status}: ${res.text}`);
    return { id: res.body.id as string, secret };
  };
  const first = { openai: await addEntry('openai'), anthropic: await addEntry('anthropic') };
  const { key } = await createUserWithKey(gw, 'developer', {}, 'enterprise');
  return {
    gw,
    openai,
    anthropic,
    adminToken,
    key,
    secrets: { openai: first.openai.secret, anthropic: first.anthropic.secret },
    entryIds: { openai: first.openai.id, anthropic: first.anthropic.id },
    addEntry,
    async usageOf(requestId) {
      // A stream's event is recorded when the stream has ended, just after the client saw its last byte.
      for (let i = 0; i < 50; i++) {
        await gw.deps.usage.flush();
        const row = await gw.deps.db('usage_events').where({ request_id: requestId }).first();
        if (row) return row;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no usage event for ${requestId}`);
    },
    async close() {
      await gw.close();
      await Promise.all([openai.close(), anthropic.close()]);
    },
  };
}
