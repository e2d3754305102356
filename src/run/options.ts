// What the command line and the library both take before validating: checked the same way.
import { networks, type NetworkKind } from '../cni/networks.js';
import { isKubernetesVersion, kubernetesVersions, type KubernetesVersion } from '../dataplane/versions.js';
import { KnetlabError } from '../errors.js';
import { proxyModes, type ProxyMode } from '../proxy/modes.js';
import { formatDuration, parseDuration } from '../scenario/duration.js';
import { resolveAllowPaths } from '../scenario/input-file.js';
import { MAX_SCENARIO_LIMIT_MS } from '../scenario/limits.js';
import type { ValidateOptions } from '../validate.js';

/** `--allow-path` and `--timeout` (how a flag is named in messages: `--timeout` or the library's `timeout`), checked. */
export async function validationOptions(allowPath: readonly string[], timeout: string | undefined, names = { timeout: '--timeout' }): Promise<ValidateOptions> {
  const allowed = await resolveAllowPaths([...allowPath]);
  if (!allowed.ok) throw new KnetlabError('EUSAGE', allowed.reason);
  if (timeout === undefined) return { allowPaths: allowed.dirs };
  const ms = parseDuration(timeout);
  if (ms === undefined || ms <= 0 || ms > MAX_SCENARIO_LIMIT_MS) {
    throw new KnetlabError('EUSAGE', `${names.timeout} must be a duration such as 45m or 2h, greater than 0 and at most ${formatDuration(MAX_SCENARIO_LIMIT_MS)}, got ${timeout}`);
  }
  return { allowPaths: allowed.dirs, limitMs: ms };
}

/** A kube-proxy mode named by a user (`--proxy-mode`, `proxyMode`). */
export function checkedProxyMode(mode: string, flag: string): ProxyMode {
  if (!(proxyModes as readonly string[]).includes(mode)) throw new KnetlabError('EUSAGE', `${flag} must be one of ${proxyModes.join(', ')}, got ${mode}`);
  return mode as ProxyMode;
}

/** A network named by a user (`--network`, `network`). */
export function checkedNetwork(network: string, flag: string): NetworkKind {
  if (!(networks as readonly string[]).includes(network)) throw new KnetlabError('EUSAGE', `${flag} must be one of ${networks.join(', ')}, got ${network}`);
  return network as NetworkKind;
}

/** A kube-proxy release named by a user (`--kubernetes-version`, `kubernetesVersion`). */
export function checkedVersion(version: string, flag: string): KubernetesVersion {
  if (!isKubernetesVersion(version)) throw new KnetlabError('EUSAGE', `${flag} must be one of ${kubernetesVersions.join(', ')}, got ${version}`);
  return version;
}
