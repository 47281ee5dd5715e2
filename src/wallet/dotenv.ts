/**
 * Reads `NAME=value` lines (dotenv style) for the wallet import. Problems name the line and the variable,
 * never the value: an import result must not echo a secret back.
 */

export interface DotenvItem {
  line: number;
  name?: string;
  value?: string;
  problem?: string;
}

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]{0,199})\s*=\s*(.*)$/;

function unquote(raw: string): { value: string } | { problem: string } {
  const quote = raw[0];
  if (quote !== '"' && quote !== "'") {
    // An unquoted value ends where an inline comment starts (whitespace, then '#').
    return { value: raw.replace(/\s+#.*$/, '').trim() };
  }
  let value = '';
  for (let i = 1; i < raw.length; i++) {
    const ch = raw[i];
    if (quote === '"' && ch === '\\' && i + 1 < raw.length) {
      value += raw[++i];
      continue;
    }
    if (ch === quote) {
      const rest = raw.slice(i + 1).trim();
      if (rest !== '' && !rest.startsWith('#')) return { problem: 'unexpected text after the closing quote' };
      return { value };
    }
    value += ch;
  }
  return { problem: 'the quoted value is not closed on the same line' };
}

export function parseDotenv(text: string): DotenvItem[] {
  const items: DotenvItem[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = index + 1;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = ASSIGNMENT.exec(trimmed);
    if (!match) {
      items.push({ line, problem: `line ${line} is not NAME=value` });
      return;
    }
    const name = match[1];
    const parsed = unquote(match[2].trim());
    if ('problem' in parsed) items.push({ line, name, problem: `${name} (line ${line}): ${parsed.problem}` });
    else if (parsed.value === '') items.push({ line, name, problem: `${name} (line ${line}) has no value` });
    else items.push({ line, name, value: parsed.value });
  });
  return items;
}

/**
 * The service a variable name points at, among the candidates a key format matched: OPENWEATHER_API_KEY → openweather.
 * Only a single unambiguous hit counts.
 */
export function serviceFromName(name: string, candidates: string[]): string | null {
  const squashed = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const hits = candidates.filter((slug) => squashed.includes(slug.replace(/[^a-z0-9]/g, '')));
  return hits.length === 1 ? hits[0] : null;
}
