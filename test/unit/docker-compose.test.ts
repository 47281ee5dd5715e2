import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * 14.12: docker-compose shipped default passwords (Grafana admin/admin on a published port, PostgreSQL
 * `keywallet`) and published Prometheus, which has no authentication, on every interface. (scripts/check-monitoring.sh
 * also runs `docker compose config` on it where a compose CLI is installed.)
 */
const ROOT = path.resolve(__dirname, '../..');
const composeText = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, { ports?: string[]; environment?: Record<string, string> }> };

const SECRET_NAME = /PASSWORD|SECRET|MASTER_KEYS|TOKEN/;

describe('docker-compose.yml (14.12: no default passwords, monitoring on loopback only)', () => {
  it('has no secret with a default value: each is required (${VAR:?message}) or optional-and-empty', () => {
    const uses = [...composeText.matchAll(/\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}/g)];
    const secrets = uses.filter(([, name]) => SECRET_NAME.test(name));
    expect(secrets.map(([, name]) => name)).toEqual(expect.arrayContaining(['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'JWT_SECRET']));
    for (const [use, , operator, value] of secrets) {
      const ok = operator === ':?' ? value.trim().length > 0 : operator === ':-' && value === '';
      if (!ok) throw new Error(`${use} gives a secret a default (or no message): require it with :?`);
    }
    for (const name of ['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'KEYWALLET_MASTER_KEYS', 'JWT_SECRET']) {
      expect(composeText).toContain(`\${${name}:?`);
    }
  });

  it('publishes Prometheus and Grafana on 127.0.0.1 only, and the gateway there by default', () => {
    for (const service of ['prometheus', 'grafana']) {
      const ports = compose.services[service].ports ?? [];
      expect(ports.length).toBeGreaterThan(0);
      for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:/);
    }
    for (const port of compose.services.keywallet.ports ?? []) expect(port).toMatch(/^\$\{KEYWALLET_BIND:-127\.0\.0\.1\}:/);
  });

  it('gives Grafana no database: it reads Prometheus only', () => {
    const grafanaEnv = Object.keys(compose.services.grafana.environment ?? {});
    expect(grafanaEnv.filter((name) => name.startsWith('GF_DATABASE'))).toEqual([]);
    const datasources = parse(fs.readFileSync(path.join(ROOT, 'monitoring/grafana/provisioning/datasources/prometheus.yml'), 'utf8')) as {
      datasources: { type: string }[];
    };
    expect(datasources.datasources.map((d) => d.type)).toEqual(['prometheus']);
  });

  it('runs the gateway on every interface inside its container (14.15: HOST defaults to 127.0.0.1 elsewhere)', () => {
    expect(compose.services.keywallet.environment?.HOST).toBe('0.0.0.0');
    expect(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^ENV [^\n]*(?:\\\n[^\n]*)*HOST=0\.0\.0\.0/m);
  });

  it('.env.example names every variable compose requires, with no usable default password', () => {
    const example = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    for (const name of ['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD']) {
      expect(example).toMatch(new RegExp(`^#? ?${name}=`, 'm'));
      expect(example).not.toMatch(new RegExp(`^${name}=\\S`, 'm'));
    }
    expect(example).toMatch(/^HOST=127\.0\.0\.1$/m);
  });
});
