import type { ValidateOptions } from '../validate.js';

// How the runner hands `--allow-path` and `--timeout` to the sandbox, so that the run validates
// the scenario exactly as the command line did.
export const ALLOW_PATHS_ENV = 'KNETLAB_ALLOW_PATHS';
export const LIMIT_MS_ENV = 'KNETLAB_LIMIT_MS';

export function validationEnv(o: ValidateOptions = {}): Record<string, string> {
  return {
    ...(o.allowPaths?.length ? { [ALLOW_PATHS_ENV]: JSON.stringify(o.allowPaths) } : {}),
    ...(o.limitMs !== undefined ? { [LIMIT_MS_ENV]: String(o.limitMs) } : {}),
  };
}

export function validationFromEnv(env: NodeJS.ProcessEnv): ValidateOptions {
  const paths = env[ALLOW_PATHS_ENV] ? (JSON.parse(env[ALLOW_PATHS_ENV]) as unknown) : undefined;
  const limit = env[LIMIT_MS_ENV] ? Number(env[LIMIT_MS_ENV]) : undefined;
  return {
    ...(Array.isArray(paths) ? { allowPaths: paths.map(String) } : {}),
    ...(limit !== undefined && Number.isFinite(limit) ? { limitMs: limit } : {}),
  };
}
