import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { ReadRouting } from './read-routing';
import { ReadYourWritesInterceptor } from './read-your-writes.interceptor';

/** Read replicas (DATABASE_REPLICA_URL): global, so every repository's read path can ask. */
@Global()
@Module({
  providers: [ReadRouting, { provide: APP_INTERCEPTOR, useClass: ReadYourWritesInterceptor }],
  exports: [ReadRouting],
})
export class ReplicasModule {}
