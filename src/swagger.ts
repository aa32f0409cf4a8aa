import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

const DESCRIPTION = `
Finance records with role-based access.

* **Auth**: \`POST /api/v1/auth/login\` returns a short-lived JWT access token and a single-use refresh token.
* **Roles**: \`admin\` manages users and all records; \`analyst\` records transactions and reads insights; \`viewer\` reads own records and summary.
* **Errors** are RFC 9457 \`application/problem+json\` bodies with a \`requestId\`; validation errors list every field in \`errors\`.
* **Money** is a decimal string with two decimals (\`"1234.50"\`), never a float.
* **Unknown** body fields and query parameters are rejected with 400; a repeated query parameter too.
* **Rate limits**: per user (per IP when anonymous), plus stricter limits on login; 429 carries \`Retry-After\`.
* **Busy**: any route may answer 503 with \`Retry-After\` when no database connection comes free within \`DB_POOL_TIMEOUT_MS\` or a query runs past its timeout; retrying later is safe (use \`Idempotency-Key\` on creates and imports).
`.trim();

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Finance Data Processing API')
    .setDescription(DESCRIPTION)
    .setVersion('1.0.0')
    .setLicense('UNLICENSED', 'https://example.com/license')
    .addServer('/', 'This server')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) =>
      `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
}

export function setupSwagger(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    customSiteTitle: 'Finance API docs',
  });
}
