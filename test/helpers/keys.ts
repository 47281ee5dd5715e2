import type { Role } from '../../src/auth/permissions';
import type { UserRow } from '../../src/auth/users';
import type { TestGateway } from './gateway';

export interface CreatedKey {
  /** the plaintext, as returned once by POST /api-keys */
  key: string;
  id: string;
  /** the presented record (masked) */
  record: any;
}

/** Creates a gateway key through the HTTP API. Default body: a live key with every scope. */
export async function createGatewayKey(gw: TestGateway, userToken: string, body: Record<string, unknown> = {}): Promise<CreatedKey> {
  const res = await gw.request('/api-keys', {
    method: 'POST',
    token: userToken,
    body: { name: 'test key', environment: 'live', scopes: ['chat', 'proxy', 'models', 'embeddings'], ...body },
  });
  if (res.status !== 201) throw new Error(`POST /api-keys answered ${res.status}: ${res.text}`);
  const { key, ...record } = res.body;
  return { key, id: record.id, record };
}

/** A fresh user of that role (developer by default) with a JWT and a gateway key. */
export async function createUserWithKey(
  gw: TestGateway,
  role: Role = 'developer',
  keyBody: Record<string, unknown> = {},
  planId?: string,
): Promise<{ user: UserRow; token: string } & CreatedKey> {
  const { user, token } = await gw.user(role, undefined, planId);
  return { user, token, ...(await createGatewayKey(gw, token, keyBody)) };
}

/** Header sets a gateway key can be sent in. */
export const keyHeaders = {
  bearer: (key: string) => ({ authorization: `Bearer ${key}` }),
  xApiKey: (key: string) => ({ 'x-api-key': key }),
  apiKey: (key: string) => ({ 'api-key': key }),
};

/** Retries `check` until it stops throwing or `timeoutMs` passes (pub/sub delivery is asynchronous on Redis). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 1000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
