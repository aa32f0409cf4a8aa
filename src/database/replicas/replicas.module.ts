import { type DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { ReadRouting } from './read-routing';
import { ReadYourWritesInterceptor } from './read-your-writes.interceptor';

/** Read replicas (DATABASE_REPLICA_URL): global, so every repository's read path can ask. */
@Global()
@Module({})
export class ReplicasModule {
  /**
   * Without replicas the interceptor is not registered at all: a route with no interceptor skips
   * Nest's RxJS pipeline, about 3 % of the CPU of a cheap read (bench --cpu-prof).
   */
  static forRoot(replicaUrls: readonly string[]): DynamicModule {
    const providers: Provider[] = [ReadRouting];
    if (replicaUrls.length > 0) {
      providers.push({ provide: APP_INTERCEPTOR, useClass: ReadYourWritesInterceptor });
    }
    return { module: ReplicasModule, providers, exports: [ReadRouting] };
  }
}
