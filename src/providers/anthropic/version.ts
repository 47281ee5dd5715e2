/**
 * Anthropic API versions (the `anthropic-version` header) and what each accepts.
 * 2023-06-01 is what Claude Code and older SDKs send; 2026-10-21 (sent by @anthropic-ai/sdk 1.x)
 * answers 400 to `temperature`, `top_p` and `top_k`, even at their default values.
 */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/** The first version that rejects the sampling parameters. */
export const SAMPLING_PARAMS_REMOVED_IN = '2026-10-21';

const VERSION_DATE = /^(\d{4}-\d{2}-\d{2})/;

/**
 * Whether requests sent with this version may carry temperature / top_p / top_k.
 * A string that is not a date is treated as new: dropping a sampling parameter loses a little
 * control, sending one to a version that rejects it loses the whole request.
 */
export function acceptsSamplingParams(version: string): boolean {
  const match = VERSION_DATE.exec(version.trim());
  if (!match) return false;
  // ISO dates compare correctly as strings.
  return match[1] < SAMPLING_PARAMS_REMOVED_IN;
}
