// The list of commands knetlab runs (scripts/host-commands.txt): it parses, it holds every command
// the source runs, a broken line is named, and a missing command is told with its package.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { RecordingRunner } from '../../src/kernel/exec.js';
import { checkCommand, hostCommands, installCommand, neededByWords, onPath, parseHostCommands } from '../../src/kernel/host-commands.js';
import { existsSync } from 'node:fs';

t.test('the shipped list parses, and names what needs each command', async (t) => {
  const list = hostCommands();
  const ipvsadm = list.find((c) => c.check === 'ipvsadm')!;
  t.same(ipvsadm.modes, ['ipvs']);
  t.equal(neededByWords(ipvsadm), 'ipvs mode');
  t.equal(neededByWords(list.find((c) => c.check === 'ip')!), 'every run');
  t.equal(neededByWords(list.find((c) => c.check === 'ipset')!), 'ipvs mode, calico-vxlan, calico-ipip, calico-bgp');
  t.equal(neededByWords(list.find((c) => c.check === 'dig')!), 'some scenarios');
  t.equal(list.find((c) => c.check === 'python3:dns.message')?.package, 'python3-dnspython');
  t.equal(new Set(list.map((c) => c.check)).size, list.length, 'each command once');
});

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

t.test('every command the source runs as runner.run([CMD or inNetns(NS, [CMD is listed', async (t) => {
  const listed = new Set(hostCommands().map((c) => c.check));
  const run = new Set<string>();
  for (const file of sources('src')) for (const m of readFileSync(file, 'utf8').matchAll(/(?:inNetns\([^,()]+, \[|run\(\[|confined\(\[)'([a-z0-9_-]+)'/g)) run.add(m[1]!);
  t.ok(run.size >= 10, `found the commands run (${[...run].join(' ')})`);
  for (const c of run) t.ok(listed.has(c), `${c} is in scripts/host-commands.txt`);
});

t.test("a malformed line is knetlab's own bug, named by its line", async (t) => {
  t.throws(() => parseHostCommands('# c\nip iproute2 sometimes namespaces\n'), /host-commands.txt:2: "sometimes" is none of all, some, mode:/);
  t.throws(() => parseHostCommands('ip iproute2 mode:ipvs2 x\n'), /"mode:ipvs2"/);
  t.throws(() => parseHostCommands('ip iproute2 all\n'), /:1: expected NEEDED-BY and what it is for/);
  t.throws(() => parseHostCommands('IP iproute2 all x\n'), /expected a command name/);
  t.throws(() => parseHostCommands('# only a comment\n'), /lists no command/);
  t.same(parseHostCommands('ip iproute2 all,mode:ipvs,network:host-gw the devices\n'), [
    { check: 'ip', package: 'iproute2', all: true, modes: ['ipvs'], networks: ['host-gw'], for: 'the devices' },
  ]);
});

t.test('a command is found on PATH; a missing one is told with its package, once per package', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'knetlab-test-commands-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'knetlab-fake-a'), '#!/bin/sh\n');
  chmodSync(join(dir, 'knetlab-fake-a'), 0o755);
  const [a, b, c] = parseHostCommands('knetlab-fake-a pkg-a all x\nknetlab-fake-b pkg-b some y\nknetlab-fake-c pkg-b some z\n') as [never, never, never];
  const runner = new RecordingRunner();
  const found = await checkCommand(runner, a, dir);
  t.equal(found.path, join(dir, 'knetlab-fake-a'));
  const missing = await checkCommand(runner, b, dir);
  t.equal(missing.path, undefined);
  t.match(missing.why, 'knetlab-fake-b not found on PATH');
  t.ok(missing.install);
  t.equal(installCommand([found, missing, await checkCommand(runner, c, dir)]), 'apt-get install -y pkg-b');
  t.equal(installCommand([found]), undefined, 'nothing to install');
});

const noPython = existsSync('/usr/bin/python3') || onPath('python3') ? false : 'no python3 here';
t.test('a python module is checked by importing it, isolated from the current folder', { skip: noPython }, async (t) => {
  const [dns] = parseHostCommands('python3:dns.message python3-dnspython all the DNS\n') as [never];
  const absent = new RecordingRunner(() => ({ exitCode: 1, stderr: "Traceback...\nModuleNotFoundError: No module named 'dns'\n" }));
  const r = await checkCommand(absent, dns);
  t.ok(r.install, 'the package is what is missing');
  t.match(r.why, "cannot import dns.message: ModuleNotFoundError: No module named 'dns'");
  t.same(absent.calls[0]?.argv.slice(1), ['-I', '-c', 'import dns.message']);
  const present = await checkCommand(new RecordingRunner(), dns);
  t.match(present.path, /python3 \(dns.message\)$/);
});
