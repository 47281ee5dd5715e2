/**
 * Where Responses API state lives on the gateway's side (table llm_responses): for every stored response, the
 * wallet entry that created it and the user it belongs to; for a translated one (served by Anthropic), also its
 * conversation input and the Response itself. Rows expire with OpenAI's 30-day retention. Lookups are by id
 * AND user: another user's response id is as unknown as a made-up one.
 */
import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock';
import type { Db } from '../store/db';

export const RESPONSE_RETENTION_MS = 30 * 24 * 3600 * 1000;
const SWEEP_EVERY_MS = 3600 * 1000;

export interface StoredResponse {
  id: string;
  userId: string;
  gatewayKeyId: string;
  walletEntryId: string;
  service: string;
  model: string;
  translated: boolean;
  /** translated only: every input item of the conversation up to this turn */
  input: Record<string, unknown>[] | null;
  /** translated only: the Response object */
  response: Record<string, unknown> | null;
}

interface Row {
  id: string;
  user_id: string;
  gateway_key_id: string;
  wallet_entry_id: string;
  service: string;
  model: string;
  translated: boolean;
  input: unknown;
  response: unknown;
}

function parsed<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

function fromRow(row: Row): StoredResponse {
  return {
    id: row.id,
    userId: row.user_id,
    gatewayKeyId: row.gateway_key_id,
    walletEntryId: row.wallet_entry_id,
    service: row.service,
    model: row.model,
    translated: row.translated,
    input: parsed(row.input),
    response: parsed(row.response),
  };
}

export class ResponseStore {
  private lastSweep = 0;
  /** this node's latest writes: a follow-up right after a stream is found even before its row commits */
  private readonly recent = new LRUCache<string, Promise<void>>({ max: 2000 });

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async save(r: StoredResponse): Promise<void> {
    const now = this.clock.now();
    const row = {
      id: r.id,
      user_id: r.userId,
      gateway_key_id: r.gatewayKeyId,
      wallet_entry_id: r.walletEntryId,
      service: r.service,
      model: r.model,
      translated: r.translated,
      input: r.input === null ? null : JSON.stringify(r.input),
      response: r.response === null ? null : JSON.stringify(r.response),
      created_at: new Date(now),
      expires_at: new Date(now + RESPONSE_RETENTION_MS),
    };
    const write = this.db('llm_responses')
      .insert(row)
      .onConflict('id')
      .merge(['input', 'response'])
      .then(() => undefined);
    this.recent.set(r.id, write.catch(() => undefined));
    await write;
    if (now - this.lastSweep > SWEEP_EVERY_MS) {
      this.lastSweep = now;
      await this.db('llm_responses').where('expires_at', '<', new Date(now)).delete();
    }
  }

  async find(id: string, userId: string): Promise<StoredResponse | null> {
    await this.recent.get(id);
    const row = await this.db<Row>('llm_responses')
      .where({ id, user_id: userId })
      .andWhere('expires_at', '>', new Date(this.clock.now()))
      .first();
    return row ? fromRow(row) : null;
  }

  async remove(id: string, userId: string): Promise<void> {
    this.recent.delete(id);
    await this.db('llm_responses').where({ id, user_id: userId }).delete();
  }
}
