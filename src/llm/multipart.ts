/**
 * Multipart uploads for /v1 (audio transcriptions and translations, image edits), streamed to disk, never held in
 * memory. The model a request names decides where it goes, and clients send it in any order (the openai SDK puts
 * the file first), so the upload is read to its end first: fields into memory (small, bounded), files into a
 * private temporary directory (bounded by UPLOAD_LIMIT_BYTES). Each upstream attempt then streams a fresh
 * multipart body from those files — which is also what lets a failed attempt fall back to the next wallet entry.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../http/errors';

const MAX_FIELDS = 50;
const MAX_FIELD_BYTES = 64 * 1024;
const MAX_FILES = 17; // image edits take up to 16 images and a mask

export interface SpooledFile {
  field: string;
  filename: string;
  contentType: string;
  path: string;
  size: number;
}

export class SpooledForm {
  constructor(
    readonly fields: [string, string][],
    readonly files: SpooledFile[],
    private readonly dir: string,
  ) {}

  field(name: string): string | undefined {
    return this.fields.find(([n]) => n === name)?.[1];
  }

  /** A multipart body with `overrides` replacing fields of the same name, and its headers. */
  body(overrides: Record<string, string>): { headers: Record<string, string>; length: number; open: () => Readable } {
    const boundary = `----keywallet${crypto.randomBytes(12).toString('hex')}`;
    const fields = this.fields.map(([name, value]): [string, string] => [name, Object.hasOwn(overrides, name) ? overrides[name] : value]);
    const heads = fields.map(([name, value]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`));
    const fileHeads = this.files.map((f) =>
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(f.field)}"; filename="${quoted(f.filename)}"\r\nContent-Type: ${f.contentType}\r\n\r\n`),
    );
    const tail = Buffer.from(`--${boundary}--\r\n`);
    const crlf = Buffer.from('\r\n');
    const length =
      heads.reduce((n, b) => n + b.length, 0) + fileHeads.reduce((n, b, i) => n + b.length + this.files[i].size + crlf.length, 0) + tail.length;
    const files = this.files;
    async function* parts() {
      for (const head of heads) yield head;
      for (let i = 0; i < files.length; i++) {
        yield fileHeads[i];
        yield* fs.createReadStream(files[i].path, { highWaterMark: 64 * 1024 });
        yield crlf;
      }
      yield tail;
    }
    return {
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(length) },
      length,
      open: () => Readable.from(parts(), { objectMode: false }),
    };
  }

  async discard(): Promise<void> {
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}

/** Header parameter values: quotes and line breaks could end the header early. */
function quoted(value: string): string {
  return value.replace(/[\r\n"\\]/g, '_');
}

function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `An uploaded file is larger than the ${limit}-byte limit (UPLOAD_LIMIT_BYTES)`);
}

/** Reads a multipart/form-data request to its end, files to disk. Throws 400/413/415 as AppErrors; leaves nothing behind on failure. */
export async function spoolMultipart(req: IncomingMessage, limitBytes: number): Promise<SpooledForm> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data/i.test(type)) throw new AppError('unsupported_media_type', 'This endpoint takes multipart/form-data');
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'keywallet-upload-'));
  const fields: [string, string][] = [];
  const files: SpooledFile[] = [];
  const writes: Promise<void>[] = [];
  let failure: AppError | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({ headers: req.headers, limits: { fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, files: MAX_FILES, fileSize: limitBytes } });
      } catch {
        reject(new AppError('invalid_request', 'The multipart body has no boundary'));
        return;
      }
      parser.on('field', (name, value, info) => {
        if (info.valueTruncated) failure ??= new AppError('payload_too_large', `Field '${quoted(name)}' is longer than ${MAX_FIELD_BYTES} bytes`);
        else fields.push([name, value]);
      });
      parser.on('file', (field, stream, info) => {
        const file: SpooledFile = { field, filename: info.filename || 'upload', contentType: info.mimeType || 'application/octet-stream', path: path.join(dir, String(files.length)), size: 0 };
        files.push(file);
        stream.on('data', (chunk: Buffer) => (file.size += chunk.length));
        stream.on('limit', () => (failure ??= tooLarge(limitBytes)));
        writes.push(pipeline(stream, fs.createWriteStream(file.path, { mode: 0o600 })));
      });
      parser.on('filesLimit', () => (failure ??= new AppError('payload_too_large', `At most ${MAX_FILES} files per request`)));
      parser.on('fieldsLimit', () => (failure ??= new AppError('payload_too_large', `At most ${MAX_FIELDS} fields per request`)));
      parser.on('error', () => reject(new AppError('invalid_request', 'The multipart body could not be read')));
      parser.on('close', resolve);
      req.on('aborted', () => reject(new AppError('invalid_request', 'The client closed the request')));
      req.pipe(parser);
    });
    await Promise.all(writes).catch(() => {
      throw new AppError('invalid_request', 'An uploaded file could not be read');
    });
    if (failure) throw failure;
    return new SpooledForm(fields, files, dir);
  } catch (err) {
    await fs.promises.rm(dir, { recursive: true, force: true });
    throw err;
  }
}
