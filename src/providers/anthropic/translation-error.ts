/**
 * A request that cannot be expressed for the upstream API. The HTTP layer answers it with 400 and
 * the `param` in the OpenAI error shape, so the message must describe the input, never a secret.
 */
export class TranslationError extends Error {
  override readonly name = 'TranslationError';

  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    // Keeps `instanceof` working when the class is compiled to ES5-style constructors.
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
