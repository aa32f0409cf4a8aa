import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How much of a refused body is read and discarded after the 413 before the connection closes. */
export const DRAIN_LIMIT = 16 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 30_000;

/**
 * `onSend`: a 413 goes out while the client is still sending its body, with `Connection: close`.
 * Closing the socket at once would leave the rest unread, and the kernel answers unread data with
 * a reset, which many clients meet before they read the answer (EPIPE or ECONNRESET instead of
 * the 413). So the close waits until the rest of the body has been read and discarded, up to
 * DRAIN_LIMIT bytes or DRAIN_TIMEOUT_MS (docs/api.md section 1); a body declared larger than
 * DRAIN_LIMIT is not waited for.
 */
export function drainBeforeClose(
  req: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (err: null, payload: unknown) => void,
): void {
  if (reply.statusCode === 413 && !req.raw.complete) delayClose(req.raw, req.raw.socket);
  done(null, payload);
}

function delayClose(raw: IncomingMessage, socket: Socket): void {
  if (Number(raw.headers['content-length']) > DRAIN_LIMIT) return;
  // Node closes a `Connection: close` socket with destroySoon() once the response is written.
  const destroySoon = socket.destroySoon.bind(socket);
  socket.destroySoon = () => {
    socket.destroySoon = destroySoon;
    let read = 0;
    const close = () => {
      clearTimeout(timer);
      raw.off('data', count);
      raw.off('end', close);
      destroySoon();
    };
    const count = (chunk: Buffer) => {
      read += chunk.length;
      if (read > DRAIN_LIMIT) close();
    };
    const timer = setTimeout(close, DRAIN_TIMEOUT_MS);
    if (raw.complete) return close();
    raw.on('data', count);
    raw.once('end', close);
    raw.resume();
  };
}
