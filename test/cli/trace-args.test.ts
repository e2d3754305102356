// knetlab trace's probe from its options (no root): --kind, --proto and --port, and each refusal.
import t from 'tap';
import { probeOf } from '../../src/cli/trace.js';

t.test('--proto chooses the probe, --port the port on TO', async (t) => {
  t.same(probeOf('service/web', {}), { kind: 'http', to: 'service/web' }, 'an http request by default');
  t.same(probeOf('service/web', { proto: 'tcp' }), { kind: 'tcp', to: 'service/web' }, 'tcp: a TCP connect');
  t.same(probeOf('service/web', { proto: 'tcp', kind: 'http' }), { kind: 'http', to: 'service/web' }, 'an http request is TCP too');
  t.same(probeOf('service/dns', { proto: 'udp', port: '53' }), { kind: 'udp', to: 'service/dns:53' });
  t.same(probeOf('pod/web', { proto: 'icmp' }), { kind: 'ping', to: 'pod/web' });
  t.same(probeOf('10.96.0.10', { kind: 'tcp', port: '80' }), { kind: 'tcp', to: '10.96.0.10:80' });
});

t.test('options that do not fit are usage errors naming the option', async (t) => {
  const bad = (to: string, flags: Parameters<typeof probeOf>[1], message: RegExp) => t.throws(() => probeOf(to, flags), { code: 'EUSAGE', message });
  bad('service/web', { kind: 'sctp' }, /^--kind must be one of http, tcp, udp, ping, got sctp$/);
  bad('service/web', { proto: 'sctp' }, /^--proto must be tcp, udp or icmp, got sctp$/);
  bad('service/web', { proto: 'udp', kind: 'http' }, /^--kind http does not send udp$/);
  bad('service/web', { port: '0' }, /^--port must be a port number/);
  bad('service/web', { port: '80x' }, /^--port must be a port number/);
  bad('service/web:80', { port: '80' }, /names its port already/);
  bad('pod/web', { proto: 'icmp', port: '80' }, /does not apply to a ping/);
});
