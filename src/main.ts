import { AppConfig, ConfigError } from './config/app-config';

// Configuration is checked before Nest and the app are even loaded, so a bad setting stops the
// start within milliseconds with a message naming the variable.
function fail(error: unknown): never {
  const message =
    error instanceof ConfigError
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
  process.stderr.write(`Failed to start: ${message}\n`);
  process.exit(1);
}

let config: AppConfig;
try {
  config = AppConfig.fromEnv();
} catch (error) {
  fail(error);
}

import('./bootstrap.js').then(({ bootstrap }) => bootstrap(config)).catch(fail);
