import { Controller, Get, Logger, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../common/decorators/public.decorator';
import { AcceptsAnyQuery } from '../common/validation';
import { pickVariant, WebBundleRef, type WebFile } from './web-assets';

/**
 * The page's policy, stricter than the one helmet gives every response (Swagger UI at /docs needs
 * inline scripts): only this origin's scripts, styles, images and API; no plugins, no framing, no
 * <base>, and Trusted Types with no policy, so no HTML string can ever reach innerHTML and friends.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Asset names carry their content hash (web/build.mjs), so a name never changes meaning. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The read-only web dashboard (docs/api.md section 18): `GET /` and its assets. Like /health it
 * is public, not rate limited (static bytes from memory) and not part of the API or its OpenAPI
 * document; the page itself talks to the public JSON API only.
 */
@ApiExcludeController()
@Public()
// A link to the page may carry anything (?utm_source=…, a bookmark's leftovers); the page and its
// files are the same whatever the query string says.
@AcceptsAnyQuery()
@SkipThrottle({ default: true, login: true, loginIp: true })
@Controller()
export class WebController {
  private readonly logger = new Logger(WebController.name);

  constructor(private readonly bundle: WebBundleRef) {}

  @Get()
  index(@Req() req: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    const bundle = this.bundle.get();
    if (!bundle) {
      this.logger.warn('GET / asked for the web dashboard, which was not built (npm run build)');
      throw new NotFoundException('The web dashboard was not built: run `npm run build`');
    }
    // Replaces helmet's policy, which the onRequest hook set on the Node response.
    reply.raw.removeHeader('content-security-policy');
    reply.header('content-security-policy', PAGE_CSP);
    // Revalidated on every load (a 304 when unchanged), so a deploy is picked up at once.
    return send(req, reply, bundle.index, 'no-cache');
  }

  @Get('assets/:name')
  asset(
    @Param('name') name: string,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): FastifyReply {
    const file = this.bundle.get()?.asset(name);
    if (!file) throw new NotFoundException('No such asset');
    return send(req, reply, file, IMMUTABLE);
  }
}

function send(
  req: FastifyRequest,
  reply: FastifyReply,
  file: WebFile,
  cacheControl: string,
): FastifyReply {
  const variant = pickVariant(file, req.headers['accept-encoding']);
  if (variant.encoding) reply.header('content-encoding', variant.encoding);
  return reply
    .header('content-type', file.type)
    .header('cache-control', cacheControl)
    .header('vary', 'Accept-Encoding')
    .header('etag', variant.etag)
    .send(variant.body);
}
