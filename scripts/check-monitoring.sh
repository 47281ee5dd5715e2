#!/usr/bin/env bash
# Validates the monitoring stack and the compose file; exits non-zero on the first failure.
#   promtool: prometheus.yml, alerts.yml, the alert unit tests, and every PromQL query of the dashboards;
#   compose:  `docker compose config -q` with dummy secrets, and a refusal without any one of them.
# Missing tools are installed from Debian when running as root (promtool comes with `prometheus`;
# `docker-compose` stands in where the compose v2 plugin is absent).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }
fail() { printf 'check-monitoring: %s\n' "$*" >&2; exit 1; }

apt_install() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || fail "$1 is missing; install the Debian package $2"
  log "installing $2"
  # The prometheus package may start its server; stop only the servers this install started.
  local before after pid
  before=$(pgrep -x prometheus || true)
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null; then
    apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null
  fi
  after=$(pgrep -x prometheus || true)
  for pid in $after; do
    grep -qx "$pid" <<<"$before" || kill "$pid" 2>/dev/null || true
  done
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v promtool >/dev/null || apt_install promtool prometheus
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  command -v docker-compose >/dev/null || apt_install docker-compose docker-compose
  compose=(docker-compose)
fi

log "promtool check config"
promtool check config monitoring/prometheus/prometheus.yml
log "promtool check rules"
promtool check rules monitoring/prometheus/alerts.yml
log "promtool test rules"
promtool test rules monitoring/prometheus/alerts.test.yml

log "dashboard queries parse as PromQL"
# Grafana's range variables become a plain duration; the result is a rule file (JSON is YAML).
node -e '
  const fs = require("fs");
  const rules = [];
  for (const file of process.argv.slice(1)) {
    const panels = JSON.parse(fs.readFileSync(file, "utf8")).panels.flatMap((p) => [p, ...(p.panels || [])]);
    for (const p of panels) for (const t of p.targets || []) {
      rules.push({ record: "dashboard:query_" + rules.length, expr: t.expr.replace(/\$__(rate_interval|interval|range)/g, "5m") });
    }
  }
  if (!rules.length) throw new Error("no dashboard queries found");
  process.stdout.write(JSON.stringify({ groups: [{ name: "dashboards", rules }] }));
' monitoring/grafana/dashboards/*.json >"$tmp/dashboard-rules.yml"
promtool check rules "$tmp/dashboard-rules.yml"

log "${compose[*]} config"
# An empty env file keeps a developer's own .env out of the check.
: >"$tmp/empty.env"
compose+=(--env-file "$tmp/empty.env")
dummy=(KEYWALLET_MASTER_KEYS="1:$(printf '%032d' 0 | base64)" JWT_SECRET="dummy-jwt-secret-for-config-check-only"
  POSTGRES_PASSWORD="dummy-postgres-password" GRAFANA_ADMIN_PASSWORD="dummy-grafana-password")
env "${dummy[@]}" "${compose[@]}" config -q
# no secret has a default: without any one of them, compose refuses to start
for required in KEYWALLET_MASTER_KEYS JWT_SECRET POSTGRES_PASSWORD GRAFANA_ADMIN_PASSWORD; do
  if env "${dummy[@]}" env -u "$required" "${compose[@]}" config -q >/dev/null 2>&1; then
    fail "compose must refuse to start without $required"
  fi
done
log "monitoring checks passed"
