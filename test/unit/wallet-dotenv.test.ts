import { parseDotenv, serviceFromName } from '../../src/wallet/dotenv';
import { formatTable, readImportFile } from '../../scripts/commands/wallet';

describe('parseDotenv', () => {
  it('reads NAME=value lines with export, quotes, comments and CRLF', () => {
    const text = [
      '# comment',
      'PLAIN=abc123',
      'export EXPORTED = spaced-value   ',
      'DOUBLE="dq value # not a comment"',
      "SINGLE='sq\\nraw'",
      'ESCAPED="a\\"b"',
      'INLINE=value # trailing comment',
      '',
      'WINDOWS=crlf\r',
    ].join('\n');
    expect(parseDotenv(text)).toEqual([
      { line: 2, name: 'PLAIN', value: 'abc123' },
      { line: 3, name: 'EXPORTED', value: 'spaced-value' },
      { line: 4, name: 'DOUBLE', value: 'dq value # not a comment' },
      { line: 5, name: 'SINGLE', value: 'sq\\nraw' },
      { line: 6, name: 'ESCAPED', value: 'a"b' },
      { line: 7, name: 'INLINE', value: 'value' },
      { line: 9, name: 'WINDOWS', value: 'crlf' },
    ]);
  });

  it('reports problems by line and name without the value', () => {
    const secretish = 'sk-proj-SHOULDNOTAPPEAR0123456789';
    const items = parseDotenv([`no equals ${secretish}`, 'EMPTY=', `OPEN="${secretish}`, `TRAIL="${secretish}" junk`, `1BAD=${secretish}`].join('\n'));
    expect(items).toEqual([
      { line: 1, problem: 'line 1 is not NAME=value' },
      { line: 2, name: 'EMPTY', problem: 'EMPTY (line 2) has no value' },
      { line: 3, name: 'OPEN', problem: 'OPEN (line 3): the quoted value is not closed on the same line' },
      { line: 4, name: 'TRAIL', problem: 'TRAIL (line 4): unexpected text after the closing quote' },
      { line: 5, problem: 'line 5 is not NAME=value' },
    ]);
    expect(JSON.stringify(items)).not.toContain('SHOULDNOTAPPEAR');
  });
});

describe('serviceFromName', () => {
  it('picks the one candidate a variable name mentions', () => {
    expect(serviceFromName('OPENWEATHER_API_KEY', ['hexweather', 'openweather'])).toBe('openweather');
    expect(serviceFromName('GOOGLE_MAPS_KEY', ['googlemaps', 'other'])).toBe('googlemaps');
    expect(serviceFromName('MY_ACME_CO_KEY', ['acme-co', 'openai'])).toBe('acme-co');
  });
  it('gives up when none or several match', () => {
    expect(serviceFromName('WEATHER_KEY', ['hexweather', 'openweather'])).toBeNull();
    expect(serviceFromName('OPENWEATHER_HEXWEATHER', ['hexweather', 'openweather'])).toBeNull();
  });
});

describe('wallet CLI helpers', () => {
  it('reads JSON arrays, {entries} objects and dotenv text', () => {
    expect(readImportFile(' [{"secret":"a"}] ')).toEqual([{ secret: 'a' }]);
    expect(readImportFile('{"entries":[1]}')).toEqual([1]);
    expect(readImportFile('A=b\n')).toBe('A=b\n');
    expect(() => readImportFile('[oops')).toThrow('does not parse');
  });
  it('formats an aligned table', () => {
    expect(formatTable([['ID', 'X'], ['1', 'long value'], ['22', '']])).toBe('ID  X\n1   long value\n22\n');
  });
});
