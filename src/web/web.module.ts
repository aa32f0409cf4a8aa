import { Module } from '@nestjs/common';
import { join } from 'node:path';
import { WebBundle, WebBundleRef } from './web-assets';
import { WebController } from './web.controller';

/**
 * Where `npm run build` puts the dashboard: dist/public, beside dist/src (this file runs from
 * dist/src/web). Run from source (the integration tier) there is none, and GET / says so.
 */
export const WEB_DIST = join(__dirname, '..', '..', 'public');

/** The web dashboard at `/`; imported by AppModule unless UI_ENABLED=false. */
@Module({
  controllers: [WebController],
  providers: [
    { provide: WebBundleRef, useFactory: () => new WebBundleRef(WebBundle.load(WEB_DIST)) },
  ],
})
export class WebModule {}
