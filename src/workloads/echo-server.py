#!/usr/bin/env python3
"""knetlab echo server: one process serves every echo socket of a scenario, in any netns.

A socket stays in the network namespace it was created in, so this process enters a
namespace (setns), creates and binds a socket there, and returns to its own namespace.
Control: JSON lines on stdin (listen, close, ping, zone), one JSON reply line on stdout each,
in order. EOF on stdin ends the process. See src/workloads/echo.ts for the client side.
A listener of kind "dns" answers DNS from the zone of the last zone op (dns.py, beside this file).
"""
import asyncio
import ctypes
import importlib.util
import json
import os
import re
import resource
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
IP_PKTINFO = 8  # from <linux/in.h>; the socket module only names it from Python 3.12
REQUEST_LINE = re.compile(rb"^[A-Z]+ \S+ HTTP/\d\.\d\r?\n$")
MAX_HEADERS = 100
MAX_BODY = 16 * 1024 * 1024  # the most `?size=BYTES` may ask for
SIZE_VALUE = re.compile(r"[0-9]{1,8}")

libc = ctypes.CDLL(None, use_errno=True)
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
HOME_NETNS = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)

log_file = None
listeners = {}  # (netns, port, protocol) -> Listener
dns_module = None  # dns.py, loaded on first use


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def iso_now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (int(now * 1000) % 1000)


class Listener:
    def __init__(self, netns, port, protocol, identity, sock, kind="echo"):
        self.netns, self.port, self.protocol, self.identity, self.sock = netns, port, protocol, identity, sock
        self.kind = kind
        self.server = None  # asyncio.Server of a TCP listener

    def answer(self, local, peer, host, path):
        ident = self.identity
        return {
            "pod": ident.get("pod"), "namespace": ident.get("namespace"), "node": ident.get("node"),
            "podIP": ident.get("podIP"), "server": ident.get("server"),
            "serverIP": local[0], "serverPort": local[1], "clientIP": peer[0], "clientPort": peer[1],
            "host": host, "path": path, "time": iso_now(),
        }

    def log(self, answer):
        if log_file is None:
            return
        try:
            log_file.write(json.dumps({**answer, "protocol": self.protocol, "netns": self.netns}) + "\n")
            log_file.flush()
        except OSError as e:
            print(f"echo-server: log: {e}", file=sys.stderr)

    def close(self):
        if self.server is not None:
            self.server.close()  # stops accepting; connections in flight go on until they end
        else:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()


def make_socket(netns, port, protocol):
    """Creates and binds a socket inside netns (None: our own) and returns to our namespace."""
    where = f"netns {netns}: " if netns is not None else ""
    if netns is not None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise ValueError(f"netns {netns}: {e.strerror}")
        try:
            setns(fd)
        except OSError as e:
            raise ValueError(f"netns {netns}: {e.strerror}")
        finally:
            os.close(fd)
    try:
        kind = socket.SOCK_STREAM if protocol == "TCP" else socket.SOCK_DGRAM
        sock = socket.socket(socket.AF_INET, kind)  # IPv4 only: pods, nodes and hosts have IPv4 addresses
        try:
            if protocol == "TCP":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)  # to learn each datagram's destination
            sock.bind(("0.0.0.0", port))
            if protocol == "TCP":
                sock.listen(1024)
            sock.setblocking(False)
        except OSError as e:
            sock.close()
            raise ValueError(f"{where}{protocol} port {port}: {e.strerror}")
        return sock
    finally:
        if netns is not None:
            try:
                setns(HOME_NETNS)
            except OSError as e:  # serving later sockets from a pod's namespace would be worse than dying
                print(f"echo-server: cannot return to own netns: {e}", file=sys.stderr)
                os._exit(70)


def dns():
    """dns.py, loaded under another name: `dns` is dnspython's package."""
    global dns_module
    if dns_module is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dns.py")
        spec = importlib.util.spec_from_file_location("knetlab_dns", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except OSError as e:
            raise ValueError(f"cannot load {path}: {e.strerror}")
        dns_module = module
    return dns_module


def check_listener(spec):
    if not isinstance(spec, dict):
        raise ValueError("listener must be an object")
    netns, port, protocol = spec.get("netns"), spec.get("port"), spec.get("protocol")
    if netns is not None and (not isinstance(netns, str) or not netns or "/" in netns or netns in (".", "..")):
        raise ValueError(f"bad netns {netns!r}")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ValueError(f"bad port {port!r}")
    if protocol not in ("TCP", "UDP"):
        raise ValueError(f"bad protocol {protocol!r}")
    return netns, port, protocol


async def listen(spec):
    key = check_listener(spec)
    kind = spec.get("kind", "echo")
    if kind not in ("echo", "dns", "healthz"):
        raise ValueError(f"bad kind {kind!r}")
    if kind == "healthz" and key[2] != "TCP":
        raise ValueError("a healthz listener is TCP")
    identity = spec.get("identity")
    if not isinstance(identity, dict) or not isinstance(identity.get("server"), str):
        raise ValueError("identity.server must be a string")
    if key in listeners:
        if listeners[key].kind != kind:
            raise ValueError(f"{key[2]} port {key[1]} in netns {key[0]} already serves {listeners[key].kind}")
        listeners[key].identity = identity  # idempotent: the same socket, its answer brought up to date
        return
    if kind == "dns":
        dns().load_wire()  # before the socket: a missing dnspython fails this listen alone
        on_tcp, on_udp = dns_module.serve_tcp, dns_module.serve_udp
    else:
        on_tcp, on_udp = serve_tcp, serve_udp
    lst = Listener(*key, identity, make_socket(*key), kind)
    if lst.protocol == "TCP":
        try:
            lst.server = await asyncio.start_server(lambda r, w: on_tcp(lst, r, w), sock=lst.sock)
        except Exception:
            lst.sock.close()
            raise
    else:
        asyncio.get_running_loop().add_reader(lst.sock.fileno(), on_udp, lst)
    listeners[key] = lst


async def serve_tcp(lst, reader, writer):
    try:
        local = writer.get_extra_info("sockname")
        peer = writer.get_extra_info("peername")
        first = True
        while await serve_request(lst, reader, writer, local, peer, first):
            first = False
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        pass  # the client went away or sent garbage: only this connection ends
    except Exception as e:  # never let one connection disturb the others
        print(f"echo-server: {lst.protocol} {lst.netns}:{lst.port}: {e!r}", file=sys.stderr)
    finally:
        writer.close()


async def serve_request(lst, reader, writer, local, peer, first):
    """Answers one request; returns whether the connection stays open for another."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as e:
        if e.partial or first:  # a raw client that sent its data (or nothing) and shut down its side
            await answer_raw(lst, writer, local, peer)
        return False
    if not REQUEST_LINE.match(line):
        await answer_raw(lst, writer, local, peer)
        return False
    method, target, version = line.decode("latin-1").split()
    headers = {}
    for _ in range(MAX_HEADERS + 1):
        h = await reader.readuntil(b"\n")
        if h in (b"\r\n", b"\n"):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ValueError("too many headers")
    length = int(headers.get("content-length", "0") or 0)
    while length > 0:  # discard the body in bounded chunks
        chunk = await reader.read(min(length, 65536))
        if not chunk:
            return False
        length -= len(chunk)
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    keep = keep and "transfer-encoding" not in headers  # a chunked body we do not parse cannot be skipped
    path = target.split("?", 1)[0] if target.startswith("/") else target
    answer = lst.answer(local, peer, headers.get("host"), path)
    status = "200 OK"
    if lst.kind == "healthz":
        # kube-proxy's health check server: 200 while the node has local endpoints, else 503.
        health = lst.identity.get("health") or {}
        local_endpoints = int(health.get("localEndpoints", 0))
        status = "200 OK" if local_endpoints > 0 else "503 Service Unavailable"
        body = (json.dumps({"service": health.get("service"), "localEndpoints": local_endpoints, "serviceProxyHealthy": True}) + "\n").encode()
    else:
        body = (json.dumps(answer) + "\n").encode()
    extra = ""
    size = requested_size(target) if lst.kind == "echo" else None
    if size == -1:
        status, body = "400 Bad Request", f"size must be 0 to {MAX_BODY} bytes\n".encode()
    elif size is not None:
        # A body of exactly `size` bytes: the answer's line if it fits, then filler; the answer also in a header.
        extra = f"X-Knetlab-Echo: {json.dumps(answer, separators=(',', ':'))}\r\n"
        body = body + b"." * (size - len(body)) if size >= len(body) else b"." * size
    head = (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {len(body)}\r\nConnection: {'keep-alive' if keep else 'close'}\r\n\r\n")
    writer.write(head.encode() + (b"" if method == "HEAD" else body))
    lst.log(answer)
    await writer.drain()
    return keep


def requested_size(target):
    """The body size a request asks for with the query parameter size=BYTES; None without one, -1 for a bad one."""
    for part in target.partition("?")[2].split("&"):
        name, _, value = part.partition("=")
        if name == "size":
            return int(value) if SIZE_VALUE.fullmatch(value) and int(value) <= MAX_BODY else -1
    return None


async def answer_raw(lst, writer, local, peer):
    answer = lst.answer(local, peer, None, None)
    lst.log(answer)
    writer.write((json.dumps(answer) + "\n").encode())
    await writer.drain()


def serve_udp(lst):
    try:
        data, anc, _flags, peer = lst.sock.recvmsg(65535, socket.CMSG_SPACE(12))
    except OSError:
        return  # e.g. ICMP port unreachable reported on the socket: nothing to answer
    local_ip = lst.sock.getsockname()[0]
    for level, kind, value in anc:
        if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
            local_ip = socket.inet_ntoa(value[8:12])  # struct in_pktinfo: ifindex, spec_dst, addr (header dst)
    answer = lst.answer((local_ip, lst.port), peer, None, None)
    answer["data"] = data.decode("utf-8", "replace")
    lst.log(answer)
    reply = json.dumps(answer).encode()
    # Answer from the address the datagram was sent to, so conntrack maps the reply back (DNAT).
    pktinfo = struct.pack("=i4s4s", 0, socket.inet_aton(local_ip), b"\0" * 4)
    try:
        lst.sock.sendmsg([reply], [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)], 0, peer)
    except OSError:
        try:
            lst.sock.sendto(reply, peer)  # e.g. a broadcast destination cannot be a source
        except OSError as e:
            print(f"echo-server: UDP {lst.netns}:{lst.port}: {e}", file=sys.stderr)


async def handle(line):
    try:
        req = json.loads(line)
        if not isinstance(req, dict):
            raise ValueError("request must be an object")
    except ValueError as e:
        return {"id": None, "ok": False, "error": f"bad control line: {e}"}
    rid, op = req.get("id"), req.get("op")
    if op == "ping":
        return {"id": rid, "ok": True, "listeners": len(listeners)}
    if op == "zone":
        try:
            return {"id": rid, "ok": True, "names": dns().set_zone(req.get("zone"))}
        except ValueError as e:
            return {"id": rid, "ok": False, "error": f"bad zone: {e}"}
    if op not in ("listen", "close") or not isinstance(req.get("listeners"), list):
        return {"id": rid, "ok": False, "error": f"unknown op {op!r} or no listeners list"}
    errors = []
    for spec in req["listeners"]:
        try:
            if op == "listen":
                await listen(spec)
            else:
                lst = listeners.pop(check_listener(spec), None)
                if lst is not None:
                    lst.close()
        except (ValueError, OSError) as e:
            errors.append({"listener": spec, "error": str(e)})
    return {"id": rid, "ok": True} if not errors else {"id": rid, "ok": False, "errors": errors}


async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)  # one listen line may carry thousands of listeners
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            os._exit(0)  # EOF: the runner is done or died; connections in flight do not matter
        if not line.strip():
            continue
        try:
            reply = await handle(line)
        except Exception as e:  # a bug on one request must not end the server
            reply = {"id": None, "ok": False, "error": f"internal error: {e!r}"}
        try:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            os._exit(0)


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--log"] and len(args) == 2:
        try:
            log_file = open(args[1], "a", encoding="utf-8")
        except OSError as e:
            sys.exit(f"echo-server: cannot open log {args[1]}: {e.strerror}")
    elif args:
        sys.exit("usage: echo-server.py [--log FILE]")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # hundreds of pods' sockets exceed 1024
    asyncio.run(main())
