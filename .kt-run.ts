import { readFileSync } from 'node:fs';
import { modelOf } from './test/helpers.js';
import { renderKubeProxyIptables } from './src/dataplane/iptables.js';
const m = await modelOf(readFileSync(process.argv[2]!, 'utf8'));
process.stdout.write(renderKubeProxyIptables(m, process.argv[3]!, JSON.parse(process.argv[4] ?? '{}')));
