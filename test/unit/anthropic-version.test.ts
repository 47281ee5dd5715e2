import { acceptsSamplingParams, DEFAULT_ANTHROPIC_VERSION } from '../../src/providers/anthropic';

describe('acceptsSamplingParams', () => {
  it.each([
    ['2023-06-01', true],
    ['2023-01-01', true],
    ['2026-10-20', true],
    ['2026-10-21', false],
    ['2027-03-01', false],
    [' 2023-06-01 ', true],
    ['latest', false],
    ['', false],
  ])('%j → %s', (version, expected) => {
    expect(acceptsSamplingParams(version)).toBe(expected);
  });

  it('defaults to a version that still takes temperature', () => {
    expect(DEFAULT_ANTHROPIC_VERSION).toBe('2023-06-01');
    expect(acceptsSamplingParams(DEFAULT_ANTHROPIC_VERSION)).toBe(true);
  });
});
