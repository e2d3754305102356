// The host's state that no run of knetlab, and no test, may change: its network (links, addresses,
// routes, rules, netns, iptables, nft), the mounts that would hold a namespace or a sandbox's
// folders, and what lies in /tmp, /run and /run/netns. Used by test/kernel/sandbox.test.ts around
// each run, and by scripts/test.mjs around the whole suite. Plain JavaScript: scripts/ load it too.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Runs a command; a missing one reads the same every time. */
export function sh(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.error) return { status: null, stdout: '', stderr: `${r.error.message}\n` };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lifetimes = (s) => s.replace(/(valid_lft|preferred_lft) \d+sec/g, '$1 Nsec');
const expires = (s) => s.replace(/expires -?\d+sec/g, 'expires Nsec');
const iptables = (s) =>
  s
    .split('\n')
    .filter((l) => !/^# (Generated|Completed)/.test(l))
    .join('\n')
    .replace(/\[\d+:\d+\]/g, '[0:0]');
const nftCounters = (s) => s.replace(/counter packets \d+ bytes \d+/g, 'counter');

const HOST_COMMANDS = [
  [['ip', '-d', 'link'], (s) => s],
  [['ip', 'addr'], lifetimes],
  [['ip', 'route', 'show', 'table', 'all'], expires],
  [['ip', '-6', 'route', 'show', 'table', 'all'], expires],
  [['ip', 'rule'], (s) => s],
  [['ip', '-6', 'rule'], (s) => s],
  [['ip', 'netns', 'list'], (s) => s],
  [['iptables-save'], iptables],
  [['ip6tables-save'], iptables],
  [['nft', 'list', 'ruleset'], nftCounters],
  [['ls', '-la', '/run/netns'], (s) => s.replace(/^total \d+\n/m, '')],
];

/** The host's network state as text, commands' errors included. */
export function hostNetworkState() {
  const parts = HOST_COMMANDS.map(([argv, norm]) => {
    const r = sh(argv);
    return `$ ${argv.join(' ')}${r.status === 0 ? '' : ` (exit ${r.status})`}\n${norm(r.stdout)}${r.stderr}`;
  });
  // A namespace kept by a bind mount, or a sandbox tmpfs leaking out through shared propagation.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => /nsfs|\/run\/netns|\/etc\/netns|knetlab/.test(l));
  parts.push(`$ grep -E 'nsfs|netns|knetlab' /proc/self/mountinfo\n${mounts.join('\n')}`);
  return parts.join('\n');
}

const list = (dir) => (existsSync(dir) ? readdirSync(dir).sort() : null);

/** Everything the suite must leave as it found it, by aspect. */
export function hostState() {
  return {
    network: hostNetworkState(),
    '/run/netns': JSON.stringify(list('/run/netns')),
    '/run': JSON.stringify(list('/run')),
    '/tmp': JSON.stringify(list('/tmp')),
    '/etc/netns': JSON.stringify(list('/etc/netns')),
  };
}

/** What differs between two hostState() snapshots, one line per aspect (empty: nothing). */
export function hostStateChanges(before, after) {
  const out = [];
  for (const key of Object.keys(before)) {
    if (before[key] === after[key]) continue;
    if (key === 'network') {
      const a = new Set(before[key].split('\n'));
      const b = new Set(after[key].split('\n'));
      const added = [...b].filter((l) => !a.has(l));
      const gone = [...a].filter((l) => !b.has(l));
      out.push(`network state changed: +${added.slice(0, 10).join(' | ')} -${gone.slice(0, 10).join(' | ')}`);
    } else {
      const a = JSON.parse(before[key]) ?? [];
      const b = JSON.parse(after[key]) ?? [];
      const added = b.filter((n) => !a.includes(n));
      const gone = a.filter((n) => !b.includes(n));
      out.push(
        `${key} changed (${before[key] === 'null' ? 'it did not exist' : after[key] === 'null' ? 'it is gone' : 'entries'}): ${added.length ? `left behind: ${added.join(' ')}` : ''}${gone.length ? ` removed: ${gone.join(' ')}` : ''}`.trim(),
      );
    }
  }
  return out;
}
