// IPVS's connection table (`ipvsadm -Lnc`): which real server the virtual server chose for the
// probe, told apart by the probe's source address and port as it reached the node.

/** One entry of `ipvsadm -Lnc`: `pro expire state source virtual destination`. */
export interface IpvsConnection {
  /** tcp, udp, sctp (ipvsadm prints them upper case). */
  proto: string;
  /** mm:ss until the entry expires. */
  expire: string;
  /** ESTABLISHED, SYN_RECV, FIN_WAIT, TIME_WAIT, CLOSE, NONE, UDP, ... */
  state: string;
  /** ADDRESS:PORT of each: the client, the virtual server, the real server. */
  source: string;
  virtual: string;
  destination: string;
}

/**
 * ipvsadm's list_conn and print_conn (ipvsadm.c): a title, a header, then one line an entry
 * (`%-3s %-6s %-11s %-18s %-18s %s`, wider columns pushed right, so split on blanks). A persistent
 * connection's pe name and data (-p) follow the destination; they are left out.
 */
export function parseIpvsConnections(text: string): IpvsConnection[] {
  const out: IpvsConnection[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^(TCP|UDP|SCTP)$/.test(f[0]!) || !/^\d+:\d\d$/.test(f[1]!)) continue;
    out.push({ proto: f[0]!.toLowerCase(), expire: f[1]!, state: f[2]!, source: f[3]!, virtual: f[4]!, destination: f[5]! });
  }
  return out;
}

/** The entry of the probe's connection: its protocol and its source address and port as it reached this node. */
export function ipvsConnectionFor(entries: readonly IpvsConnection[], proto: string, source: string): IpvsConnection | undefined {
  return entries.find((e) => e.proto === proto && e.source === source);
}
