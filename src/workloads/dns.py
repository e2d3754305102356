"""knetlab cluster DNS: the `dns` listeners of the one echo-server process (every DNS pod's sockets).

A listener whose identity has "dns": "upstream" is the LAN's upstream resolver (cluster.upstreamDNS)
and answers from the zone's "upstream" part (resolve_upstream); the cluster DNS forwards every name
outside its zones to the addresses of the zone's "forward" (CoreDNS's `forward . /etc/resolv.conf`),
from its own pod's namespace, so the query crosses the node (and its masquerade) as CoreDNS's would.

Answers come from a zone rendered by src/dataplane/dns-records.ts (renderDnsZone) and pushed as
JSON on the control channel ({"op":"zone","zone":{...}}), replaced whenever the model changes.
resolve() is pure Python and follows lookupDns() of that file line for line; only the wire format
needs dnspython (Debian's python3-dnspython), loaded when a dns listener is first asked for.

echo-server.py loads this file as module `knetlab_dns`: it shares its name with dnspython's
package `dns`, so its own folder is kept off sys.path while dnspython is imported.
"""
import asyncio
import ctypes
import os
import re
import socket
import struct
import sys
import time

IP_PKTINFO = 8  # from <linux/in.h>; the socket module only names it from Python 3.12
TCP_IDLE_S = 10  # a TCP client that sends nothing for this long is dropped
FORWARD_TIMEOUT_S = 2  # CoreDNS forward's read timeout; no answer in time is SERVFAIL
CLONE_NEWNET = 0x40000000
EDNS_PAYLOAD = 1232  # what CoreDNS and most servers now advertise
OCTET = re.compile(r"^(0|[1-9][0-9]{0,2})$")
MISSING = ("cluster DNS needs dnspython, which {python} cannot import ({error}): "
           "install Debian's python3-dnspython (apt-get install -y python3-dnspython)")

forwarding = set()  # queries being forwarded (tasks)
HOME_NETNS = None  # this process's own network namespace, opened on the first forward
zone = None  # the current zone (a dict as renderDnsZone returns it); None: no answer yet (SERVFAIL)
wire = None  # dnspython's modules, once loaded


class Wire:
    def __init__(self, mods):
        (self.message, self.name, self.rdata, self.rdatatype, self.rdataclass, self.rcode,
         self.flags, self.opcode, self.exception) = mods


def load_wire():
    """dnspython's modules, imported once; a ValueError naming the package when it is missing."""
    global wire
    if wire is not None:
        return wire
    here = os.path.dirname(os.path.abspath(__file__))
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    try:
        mine = sys.modules.get("dns")
        if mine is not None and not hasattr(mine, "__path__"):
            del sys.modules["dns"]  # this very file, imported as `dns` by a script beside it
        import dns.exception
        import dns.flags
        import dns.message
        import dns.name
        import dns.opcode
        import dns.rcode
        import dns.rdata
        import dns.rdataclass
        import dns.rdatatype
    except ImportError as e:
        raise ValueError(MISSING.format(python=sys.executable, error=e)) from None
    finally:
        sys.path[:] = saved
    wire = Wire((dns.message, dns.name, dns.rdata, dns.rdatatype, dns.rdataclass, dns.rcode,
                 dns.flags, dns.opcode, dns.exception))
    return wire


def check_zone(z):
    """Raises ValueError unless z has the shape renderDnsZone gives."""
    if not isinstance(z, dict):
        raise ValueError("zone must be an object")
    if not isinstance(z.get("domain"), str) or not z["domain"]:
        raise ValueError("zone.domain must be a name")
    if not isinstance(z.get("ttl"), int):
        raise ValueError("zone.ttl must be a number")
    zones = z.get("zones")
    if not isinstance(zones, list) or not all(isinstance(x, dict) and isinstance(x.get("name"), str) and isinstance(x.get("soa"), dict) for x in zones):
        raise ValueError("zone.zones must be a list of {name, soa}")
    if z.get("pods") not in ("insecure", "verified"):
        raise ValueError("zone.pods must be insecure or verified")
    if not isinstance(z.get("namespaces"), list) or not isinstance(z.get("names"), dict):
        raise ValueError("zone.namespaces must be a list and zone.names an object")
    fwd = z.get("forward")
    if fwd is not None and not (isinstance(fwd, list) and fwd and all(isinstance(a, str) and is_ipv4(a) for a in fwd)):
        raise ValueError("zone.forward must be a list of IPv4 addresses")
    up = z.get("upstream")
    if up is not None and not (isinstance(up, dict) and isinstance(up.get("names"), dict) and isinstance(up.get("refuse"), list)):
        raise ValueError("zone.upstream must be an object with names and refuse")


def is_ipv4(s):
    parts = s.split(".")
    return len(parts) == 4 and all(OCTET.match(p) and int(p) <= 255 for p in parts)


def set_zone(z):
    """Replaces the zone every dns listener answers from; returns how many names it has."""
    global zone
    check_zone(z)
    zone = z
    return len(z["names"])


def normalize(name):
    n = name.lower()
    return n[:-1] if n.endswith(".") else n


def insecure_pod_address(z, name):
    """The address of an insecure-mode pod name (a-b-c-d.NS.pod.DOMAIN) in an existing namespace, or None."""
    suffix = ".pod." + z["domain"]
    if z["pods"] != "insecure" or not name.endswith(suffix):
        return None
    labels = name[:-len(suffix)].split(".")
    if len(labels) != 2 or labels[1] not in z["namespaces"]:
        return None
    octets = labels[0].split("-")
    if len(octets) != 4 or not all(OCTET.match(o) and int(o) <= 255 for o in octets):
        return None
    return ".".join(octets)


def resolve(z, qname, qtype):
    """(rcode, answer, authority, additional) for one question, records as dicts: lookupDns() in Python."""
    name = normalize(qname)
    qtype = qtype.upper()
    apex = next((x for x in z["zones"] if name == x["name"] or name.endswith("." + x["name"])), None)
    if apex is None:
        return "REFUSED", [], [], []
    entry = z["names"].get(name)
    if entry is None:
        ip = insecure_pod_address(z, name)
        if ip is not None:
            entry = {"A": {"answer": [{"name": name, "type": "A", "ttl": z["ttl"], "data": ip}], "additional": []}}
    if entry is None:
        return "NXDOMAIN", [], [apex["soa"]], []
    a = entry.get(qtype)
    if not a or not a["answer"]:
        return "NOERROR", [], [apex["soa"]], []
    return "NOERROR", a["answer"], [], a.get("additional", [])


def resolve_upstream(up, qname, qtype):
    """(rcode, answer, authority, additional) of the upstream resolver: lookupUpstream() in Python."""
    name = normalize(qname)
    qtype = qtype.upper()
    if any(name == z or name.endswith("." + z) for z in up["refuse"]):
        return "REFUSED", [], [], []
    entry = up["names"].get(name)
    if entry is None:
        return "NXDOMAIN", [], [], []
    a = entry.get(qtype)
    if not a or not a["answer"]:
        return "NOERROR", [], [], []
    return "NOERROR", a["answer"], [], a.get("additional", [])


def is_upstream(lst):
    return lst is not None and lst.identity.get("dns") == "upstream"


def forward_target(data, lst):
    """The address to forward this query to (a cluster DNS listener, a name outside its zones), or None."""
    if is_upstream(lst) or zone is None or not zone.get("forward"):
        return None
    try:
        query = wire.message.from_wire(data)
    except Exception:
        return None
    if query.opcode() != wire.opcode.QUERY or len(query.question) != 1 or query.question[0].rdclass != wire.rdataclass.IN:
        return None
    name = normalize(query.question[0].name.to_text(omit_final_dot=True))
    if any(name == x["name"] or name.endswith("." + x["name"]) for x in zone["zones"]):
        return None
    return zone["forward"][0]


def setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def udp_socket_in(netns):
    """A UDP socket made inside netns (None: ours); this process then returns to its own namespace."""
    global HOME_NETNS
    if netns is None:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if HOME_NETNS is None:
        HOME_NETNS = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(fd)
    finally:
        os.close(fd)
    try:
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    finally:
        try:
            setns(HOME_NETNS)
        except OSError as e:  # serving later sockets from a pod's namespace would be worse than dying
            print(f"dns: cannot return to own netns: {e}", file=sys.stderr)
            os._exit(70)


async def forward(lst, data, server):
    """(reply bytes, what to log) of a query sent on to server:53 from the listener's namespace; SERVFAIL when none comes in time."""
    w = wire
    query = w.message.from_wire(data)
    q = query.question[0]
    log = {"name": q.name.to_text(omit_final_dot=True), "type": w.rdatatype.to_text(q.rdtype), "rcode": None, "answers": 0, "id": query.id, "forwardedTo": server}
    reply = None
    loop = asyncio.get_running_loop()
    sock = udp_socket_in(lst.netns)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, (server, 53))
        await loop.sock_sendall(sock, data)
        deadline = loop.time() + FORWARD_TIMEOUT_S
        while reply is None:
            got = await asyncio.wait_for(loop.sock_recv(sock, 65535), max(0.001, deadline - loop.time()))
            if len(got) >= 2 and got[:2] == data[:2]:
                reply = got  # the same id: this query's answer (a connected socket hears only the server)
    except (OSError, asyncio.TimeoutError):
        reply = None
    finally:
        sock.close()
    if reply is not None:
        try:
            msg = w.message.from_wire(reply)
            log["rcode"] = w.rcode.to_text(msg.rcode())
            log["answers"] = sum(len(r) for r in msg.answer)
            return reply, log
        except Exception:
            pass
    response = w.message.make_response(query)
    response.set_rcode(w.rcode.SERVFAIL)  # as CoreDNS's forward when no upstream answers
    log["rcode"] = "SERVFAIL"
    return response.to_wire(), log


def iso_now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (int(now * 1000) % 1000)


def formerr(data):
    """A FORMERR header for a query dnspython cannot parse, or None when even its header is short."""
    if len(data) < 12:
        return None
    qid, flags = struct.unpack("!HH", data[:4])
    return struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x7900) | 1, 0, 0, 0, 0)  # QR, opcode and RD kept


def answer(data, tcp, lst=None):
    """(reply bytes or None, what to log) for one query message; lst: the listener (the upstream's answers from zone.upstream)."""
    w = wire
    log = {"name": None, "type": None, "rcode": None, "answers": 0}
    try:
        query = w.message.from_wire(data)
    except Exception:  # garbage, or a header only: FORMERR when there is an id to answer
        reply = formerr(data)
        log["rcode"] = "FORMERR" if reply else None
        return reply, log
    log["id"] = query.id
    response = w.message.make_response(query, our_payload=EDNS_PAYLOAD)
    response.flags |= w.flags.AA  # authoritative, as CoreDNS's kubernetes plugin; no RA (no recursion)
    rcode, ans, auth, add = "NOERROR", [], [], []
    if query.opcode() != w.opcode.QUERY:
        rcode = "NOTIMP"
    elif len(query.question) != 1:
        rcode = "FORMERR"
    else:
        q = query.question[0]
        log["name"] = q.name.to_text(omit_final_dot=True)
        log["type"] = w.rdatatype.to_text(q.rdtype)
        if q.rdclass != w.rdataclass.IN:
            rcode = "REFUSED"
        elif zone is None or (is_upstream(lst) and zone.get("upstream") is None):
            rcode = "SERVFAIL"  # no zone pushed yet, like CoreDNS before it has synced with the API
        else:
            if is_upstream(lst):
                response.flags |= w.flags.RA  # a recursive resolver, as a LAN's router is
                rcode, ans, auth, add = resolve_upstream(zone["upstream"], log["name"], log["type"])
            else:
                rcode, ans, auth, add = resolve(zone, log["name"], log["type"])
            key = normalize(log["name"])
            for section, records in ((response.answer, ans), (response.authority, auth), (response.additional, add)):
                for rec in records:
                    # The answer's owner keeps the case of the question, as CoreDNS does.
                    owner = q.name if rec["name"] == key else w.name.from_text(rec["name"], origin=w.name.root)
                    rdtype = w.rdatatype.from_text(rec["type"])
                    rd = w.rdata.from_text(w.rdataclass.IN, rdtype, rec["data"], origin=w.name.root, relativize=False)
                    response.find_rrset(section, owner, w.rdataclass.IN, rdtype, create=True).add(rd, rec["ttl"])
    response.set_rcode(w.rcode.from_text(rcode))
    log["rcode"] = rcode
    log["answers"] = len(ans)
    limit = 65535 if tcp else (max(512, query.payload) if query.edns >= 0 else 512)
    try:
        reply = response.to_wire(max_size=limit)
    except w.exception.TooBig:
        # Too big for a datagram: send the header with TC so that the client asks again over TCP.
        response.answer, response.authority, response.additional = [], [], []
        response.flags |= w.flags.TC
        reply = response.to_wire(max_size=limit)
    return reply, log


def entry(lst, local, peer, log):
    ident = lst.identity
    return {
        "kind": "dns", "server": ident.get("server"), "pod": ident.get("pod"), "namespace": ident.get("namespace"),
        "node": ident.get("node"), "podIP": ident.get("podIP"),
        "serverIP": local[0], "serverPort": local[1], "clientIP": peer[0], "clientPort": peer[1],
        "role": ident.get("dns", "cluster"), **log, "time": iso_now(),
    }


def serve_udp(lst):
    try:
        data, anc, _flags, peer = lst.sock.recvmsg(65535, socket.CMSG_SPACE(12))
    except OSError:
        return  # e.g. ICMP port unreachable reported on the socket: nothing to answer
    local_ip = lst.sock.getsockname()[0]
    for level, kind, value in anc:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            local_ip = socket.inet_ntoa(value[8:12])  # struct in_pktinfo: ifindex, spec_dst, addr (header dst)
    try:
        server = forward_target(data, lst)
        if server is not None:
            task = asyncio.get_running_loop().create_task(forward_udp(lst, data, server, local_ip, peer))
            forwarding.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(forwarding.discard)
            return
        reply, log = answer(data, tcp=False, lst=lst)
    except Exception as e:  # a bug on one query must not stop the others
        print(f"dns: UDP {lst.netns}:{lst.port}: {e!r}", file=sys.stderr)
        return
    if reply is None:
        return
    send_udp(lst, reply, log, local_ip, peer)


async def forward_udp(lst, data, server, local_ip, peer):
    try:
        reply, log = await forward(lst, data, server)
    except Exception as e:  # a bug on one query must not stop the others
        print(f"dns: UDP {lst.netns}:{lst.port}: forward: {e!r}", file=sys.stderr)
        return
    send_udp(lst, reply, log, local_ip, peer)


def send_udp(lst, reply, log, local_ip, peer):
    lst.log(entry(lst, (local_ip, lst.port), peer, log))
    # Answer from the address the query was sent to, so conntrack maps the reply back (kube-dns's DNAT).
    pktinfo = struct.pack("=i4s4s", 0, socket.inet_aton(local_ip), b"\0" * 4)
    try:
        lst.sock.sendmsg([reply], [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)], 0, peer)
    except OSError:
        try:
            lst.sock.sendto(reply, peer)
        except OSError as e:
            print(f"dns: UDP {lst.netns}:{lst.port}: {e}", file=sys.stderr)


async def serve_tcp(lst, reader, writer):
    """DNS over TCP: length-prefixed messages, as many as the client sends, until it closes or idles."""
    try:
        local = writer.get_extra_info("sockname")
        peer = writer.get_extra_info("peername")
        while True:
            try:
                head = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_S)
                data = await asyncio.wait_for(reader.readexactly(struct.unpack("!H", head)[0]), TCP_IDLE_S)
            except (asyncio.IncompleteReadError, asyncio.TimeoutError):
                return
            server = forward_target(data, lst)
            reply, log = await forward(lst, data, server) if server is not None else answer(data, tcp=True, lst=lst)
            if reply is None:
                return
            writer.write(struct.pack("!H", len(reply)) + reply)
            lst.log(entry(lst, local, peer, log))
            await writer.drain()
    except OSError:
        pass  # the client went away
    except Exception as e:  # never let one connection disturb the others
        print(f"dns: TCP {lst.netns}:{lst.port}: {e!r}", file=sys.stderr)
    finally:
        writer.close()
