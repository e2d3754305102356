// The names of the addresses and namespaces of the recorded captures (test/trace/fixtures: the
// nodeport-cluster-policy scenario), as a model's namer would give them.
import type { Namer } from '../../src/trace/report.js';

const names: Record<string, string> = {
  '192.168.8.200': 'host/client',
  '192.168.8.201': 'node/node-1',
  '192.168.8.202': 'node/node-2',
  '172.20.0.3': 'pod/nginx-1',
  '172.20.1.0': 'node/node-2@flannel.1',
  '172.20.0.0': 'node/node-1@flannel.1',
};

export const fixtureNamer: Namer = {
  ip: (ip) => (names[ip] ? `${ip} (${names[ip]})` : ip),
  netns: (ns) => (ns.includes('.') ? `pod/${ns.split('.')[0]}` : ns.startsWith('node-') ? `node/${ns}` : `host/${ns}`),
};
