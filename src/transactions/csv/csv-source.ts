import {
  PayloadTooLargeException,
  RequestTimeoutException,
  UnprocessableEntityException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import busboy from 'busboy';
import type { Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { badRequest } from '../../common/validation';

export interface UploadLimits {
  maxBytes: number;
  /** An upload that sends nothing for this long is abandoned with a 408. */
  idleTimeoutMs: number;
}

/**
 * The uploaded CSV as a stream of text: a `text/csv` body as is, or the `file` part of a
 * multipart form. Nothing is buffered beyond a chunk; the size limit is enforced while reading.
 * `hash`, when given, is fed every byte of the file (for Idempotency-Key comparisons).
 */
export function csvUpload(
  req: IncomingMessage,
  { maxBytes, idleTimeoutMs }: UploadLimits,
  hash?: Hash,
): Promise<Readable> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new PayloadTooLargeException(`The file exceeds ${maxBytes} bytes`);
  const type = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
  if (type === 'text/csv')
    return Promise.resolve(req.pipe(guarded(req, idleTimeoutMs, new Utf8Text(maxBytes, hash))));
  if (type !== 'multipart/form-data') {
    throw new UnsupportedMediaTypeException(
      'Send the CSV as text/csv or as the `file` field of multipart/form-data',
    );
  }
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fields: 0, parts: 5 } });
    } catch {
      reject(badRequest('Malformed multipart body'));
      return;
    }
    let found = false;
    parser.on('file', (name, file) => {
      if (name !== 'file' || found) {
        file.resume();
        return;
      }
      found = true;
      const text = guarded(req, idleTimeoutMs, new Utf8Text(maxBytes, hash));
      // A truncated or malformed form is the client's fault (400), not a server error.
      file.on('error', () => text.destroy(badRequest('Malformed multipart body')));
      resolve(file.pipe(text));
    });
    parser.on('error', () => reject(badRequest('Malformed multipart body')));
    parser.on('close', () => {
      if (!found)
        reject(new UnprocessableEntityException('The multipart body has no `file` field'));
    });
    // Until the `file` part starts, the same two failures are watched on the request itself: a
    // client that stalls or goes away before it would otherwise leave this promise open forever.
    req.setTimeout(idleTimeoutMs, () => {
      if (!found) reject(stalled(idleTimeoutMs));
    });
    req.once('close', () => {
      if (!found && !req.complete)
        reject(badRequest('The upload ended before the body was complete'));
    });
    req.pipe(parser);
  });
}

function stalled(idleTimeoutMs: number): RequestTimeoutException {
  return new RequestTimeoutException({
    message: `The upload sent nothing for ${idleTimeoutMs} ms and was abandoned`,
    headers: { Connection: 'close' },
  });
}

/**
 * Three ways an upload fails before or while it is read: the body turns out malformed in the very
 * tick the stream is handed over, before the reader has attached its handlers (an unhandled
 * 'error' event would crash the process); the client goes away mid-body (the stream would never
 * end); the client stops sending (it would hold its socket and the import's spool file until the
 * request timeout). The error is kept on the stream (`errored`) for the reader's `pipeline`; an
 * interrupted request ends the stream with a 400, a stalled one with a 408 that closes the
 * connection.
 */
function guarded(req: IncomingMessage, idleTimeoutMs: number, text: Utf8Text): Utf8Text {
  text.on('error', () => undefined);
  const interrupted = () => {
    if (!req.complete) text.destroy(badRequest('The upload ended before the body was complete'));
  };
  if (req.destroyed) interrupted();
  else req.once('close', interrupted);
  req.setTimeout(idleTimeoutMs, () => text.destroy(stalled(idleTimeoutMs)));
  // The idle timer is the socket's: a kept-alive connection must not inherit it.
  text.once('close', () => req.setTimeout(0));
  return text;
}

/**
 * Passes bytes through as text, refusing what is not a CSV: invalid UTF-8 or NUL bytes (binary
 * files) end the stream with a 422, more than `maxBytes` with a 413.
 */
class Utf8Text extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private seen = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly hash?: Hash,
  ) {
    super({ decodeStrings: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    this.hash?.update(chunk);
    if (this.seen > this.maxBytes)
      return callback(new PayloadTooLargeException(`The file exceeds ${this.maxBytes} bytes`));
    if (chunk.includes(0))
      return callback(new UnprocessableEntityException('The file is binary, not CSV text'));
    try {
      callback(null, this.decoder.decode(chunk, { stream: true }));
    } catch {
      callback(new UnprocessableEntityException('The file is not valid UTF-8'));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      callback(null, this.decoder.decode());
    } catch {
      callback(new UnprocessableEntityException('The file is not valid UTF-8'));
    }
  }
}
