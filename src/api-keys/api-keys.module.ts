import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { API_KEY_AUTHENTICATOR } from '../common/principal';
import { UsersModule } from '../users/users.module';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepositoryModule } from './api-keys-repository.module';
import { ApiKeysService } from './api-keys.service';

@Module({
  imports: [UsersModule, AuditModule, ApiKeysRepositoryModule],
  controllers: [ApiKeysController],
  providers: [
    ApiKeysService,
    // The global guards (registered in AppModule, which imports this module) authenticate keys
    // through this token: common/, where they live, imports no feature module.
    { provide: API_KEY_AUTHENTICATOR, useExisting: ApiKeysService },
  ],
  exports: [API_KEY_AUTHENTICATOR],
})
export class ApiKeysModule {}
