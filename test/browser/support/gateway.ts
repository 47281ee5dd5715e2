import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnGateway, type GatewayProcess } from '../../helpers/process';

export interface ConsoleGateway {
  proc: GatewayProcess;
  url: string;
  /** the admin password the first boot printed (when no KEYWALLET_ADMIN_* was given) */
  printedPassword: string | null;
  /** a management call with a Bearer JWT (setup the scenario does not exercise through the UI) */
  api<T = any>(method: string, p: string, token: string | null, body?: unknown): Promise<{ status: number; body: T }>;
  login(email: string, password: string): Promise<string>;
  close(): Promise<void>;
}

/** A real gateway process on the embedded default (PGlite in a temporary DATA_DIR, in-process store). */
export async function startConsoleGateway(env: Record<string, string> = {}): Promise<ConsoleGateway> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kw-console-browser-'));
  const proc = await spawnGateway({ DATA_DIR: dataDir, NODE_ENV: 'development', ...env }, 120_000);
  const printed = /Password \(shown once\): (\S+)/.exec(proc.output());
  const api: ConsoleGateway['api'] = async (method, p, token, body) => {
    const res = await fetch(proc.url + p, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    proc,
    url: proc.url,
    printedPassword: printed ? printed[1] : null,
    api,
    async login(email, password) {
      const res = await api<{ token: string }>('POST', '/auth/login', null, { email, password });
      if (res.status !== 200) throw new Error(`login as ${email} answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.token;
    },
    async close() {
      await proc.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
