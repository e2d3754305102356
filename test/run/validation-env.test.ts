import t from 'tap';
import { ALLOW_PATHS_ENV, LIMIT_MS_ENV, validationEnv, validationFromEnv } from '../../src/run/validation-env.js';

t.test('--allow-path and --timeout reach the sandbox unchanged', async (t) => {
  const opts = { allowPaths: ['/srv/manifests', '/a path/with spaces'], limitMs: 5_400_000 };
  const env = validationEnv(opts);
  t.same(Object.keys(env).sort(), [ALLOW_PATHS_ENV, LIMIT_MS_ENV].sort());
  t.same(validationFromEnv(env), opts);
});

t.test('nothing given, nothing set, and nothing read back', async (t) => {
  t.same(validationEnv({}), {});
  t.same(validationEnv({ allowPaths: [] }), {});
  t.same(validationFromEnv({}), {});
});
