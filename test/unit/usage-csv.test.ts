import { csvField, toCsv, usageCsv, USAGE_CSV_COLUMNS } from '../../src/usage/csv';

describe('CSV (RFC 4180)', () => {
  it('leaves plain fields bare and renders null as empty', () => {
    expect(csvField('openai')).toBe('openai');
    expect(csvField(12.5)).toBe('12.5');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
  });

  it('quotes fields with commas, quotes, CR or LF and doubles inner quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
  });

  it('defuses text a spreadsheet would run as a formula, but not numbers', () => {
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('+cmd')).toBe("'+cmd");
    expect(csvField('-2')).toBe("'-2");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('=HYPERLINK("x","y")')).toBe(`"'=HYPERLINK(""x"",""y"")"`);
    expect(csvField(-2)).toBe('-2');
  });

  it('ends every record with CRLF, header first', () => {
    expect(toCsv(['a', 'b'], [[1, 'x'], [null, 'y,z']])).toBe('a,b\r\n1,x\r\n,"y,z"\r\n');
  });

  it('writes usage rows with the JSON field names as the header', () => {
    const csv = usageCsv([
      {
        group: '2025-03-01',
        label: '2025-03-01',
        requests: 3,
        errors: 1,
        promptTokens: 10,
        completionTokens: 20,
        costMicros: 1500,
        costUsd: 0.0015,
        avgLatencyMs: 42,
      },
    ]);
    expect(csv).toBe(`${USAGE_CSV_COLUMNS.join(',')}\r\n2025-03-01,2025-03-01,3,1,10,20,0.0015,1500,42\r\n`);
  });
});
