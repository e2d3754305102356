#!/usr/bin/env python3
"""knetlab netns-config: configures many network namespaces from one process, by rtnetlink.

A process per namespace and tool (`ip -n NS -batch -`, `bridge -n NS -batch -`, `ip netns exec
NS sysctl`) costs several ms to start here, tens under load; this one enters each namespace in
turn (setns on /run/netns/NAME), writes its sysctls under /proc/sys/net (which then shows that
namespace) and sends the kernel the messages `ip` and `bridge` would for its lines.
Input on stdin, one JSON object a line: {"id", "netns", "sysctls": [[key, value]...], "ops": [...]}
with ops as src/kernel/netlink-ops.ts parses them from the rendered lines (each op carries its
line). Output: one JSON line per request, in order, flushed: {"id", "ok": true} or {"id", "ok":
false, "error"}, the error naming the namespace, the line and the kernel's errno. A failed
request does not stop the others. EOF on stdin ends it: exit status 0, or 1 if a line could
not be read.
"""
import ctypes
import errno
import json
import os
import socket
import struct
import sys

CLONE_NEWNET = 0x40000000
NETLINK_ROUTE = 0
AF_BRIDGE = 7
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND = 0x100, 0x200, 0x400, 0x800
RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_NEWROUTE, RTM_NEWNEIGH = 16, 17, 20, 24, 28
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_NET_NS_FD = 1, 3, 4, 10, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
VETH_INFO_PEER = 1
IFLA_BRPORT_MODE = 4  # hairpin
IFLA_VXLAN_ID, IFLA_VXLAN_LINK, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LEARNING, IFLA_VXLAN_PORT = 1, 3, 4, 7, 15
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5
NDA_DST, NDA_LLADDR = 1, 2
NUD_NOARP, NUD_PERMANENT = 0x40, 0x80
NTF_SELF = 0x02
IFF_UP = 0x1
RTNH_F_ONLINK = 0x4
# What `ip route add` puts in every rtmsg it sends for a unicast route in the main table.
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST, RTN_UNICAST, RTN_BLACKHOLE = 254, 3, 0, 253, 254, 1, 6
# Each request as iproute2 6.1 sends it for the same line (ip/iplink.c, iplink_vxlan.c, ipaddress.c,
# iproute.c, ipneigh.c, bridge/fdb.c), so that the kernel's state is the same either way.
CREATE_FLAGS = {"add": NLM_F_CREATE | NLM_F_EXCL, "replace": NLM_F_CREATE | NLM_F_REPLACE, "append": NLM_F_CREATE | NLM_F_APPEND}

libc = ctypes.CDLL(None, use_errno=True)
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


class OpError(Exception):
    """A failed step, with the kernel's errno when it gave one."""

    def __init__(self, message, err=None):
        super().__init__(message)
        self.err = err


def describe(err):
    return f"{os.strerror(err)} ({errno.errorcode.get(err, err)})"


def open_netns(netns):
    if "/" in netns or netns in ("", ".", ".."):
        raise OpError(f"bad netns name {netns!r}")
    try:
        return os.open(f"/run/netns/{netns}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise OpError(f"cannot open /run/netns/{netns}: {describe(e.errno)}", e.errno)


def enter(netns):
    fd = open_netns(netns)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OpError(f"setns: {describe(err)}", err)
    finally:
        os.close(fd)


def attr(kind, payload):
    size = 4 + len(payload)
    return struct.pack("HH", size, kind) + payload + b"\0" * (-size % 4)


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


class Rtnl:
    """A NETLINK_ROUTE socket of the namespace this process is in when it is made."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0
        self.ifindex = {}

    def close(self):
        self.sock.close()

    def request(self, kind, flags, body):
        """Sends one message with NLM_F_ACK and waits for its ack; raises OpError on a kernel error."""
        self.seq += 1
        self.sock.send(struct.pack("IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_ACK | flags, self.seq, 0) + body)
        while True:
            data = self.sock.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, mtype, _flags, seq, _pid = struct.unpack_from("IHHII", data, offset)
                if length < 16:
                    raise OpError("bad netlink reply")
                if seq == self.seq and mtype == NLMSG_ERROR:
                    (code,) = struct.unpack_from("i", data, offset + 16)
                    if code:
                        raise OpError(describe(-code), -code)
                    return
                offset += (length + 3) & ~3

    def index(self, name):
        if name not in self.ifindex:
            try:
                self.ifindex[name] = socket.if_nametoindex(name)
            except OSError as e:
                raise OpError(f"no device {name}: {describe(e.errno or errno.ENODEV)}", e.errno or errno.ENODEV)
        return self.ifindex[name]

    def link(self, op):
        cmd = op["cmd"]
        name = attr(IFLA_IFNAME, op["dev"].encode() + b"\0")
        if cmd == "del":
            self.request(RTM_DELLINK, 0, ifinfomsg() + name)
            self.ifindex.pop(op["dev"], None)
            return
        up = op.get("up")
        attrs = name + self.link_attrs(op)
        fds = []
        try:
            if cmd == "add":
                data = b""
                if op["kind"] == "veth":
                    peer = op["peer"]
                    pattrs = attr(IFLA_IFNAME, peer["name"].encode() + b"\0") + self.link_attrs(peer)
                    if "netns" in peer:
                        fds.append(open_netns(peer["netns"]))
                        pattrs += attr(IFLA_NET_NS_FD, struct.pack("I", fds[-1]))
                    data = attr(VETH_INFO_PEER, ifinfomsg() + pattrs)
                elif op["kind"] == "vxlan":
                    v = op["vxlan"]
                    data = (attr(IFLA_VXLAN_LINK, struct.pack("I", self.index(v["dev"]))) + attr(IFLA_VXLAN_ID, struct.pack("I", v["id"]))
                            + attr(IFLA_VXLAN_LOCAL, socket.inet_aton(v["local"])) + attr(IFLA_VXLAN_LEARNING, b"\0")
                            + attr(IFLA_VXLAN_PORT, struct.pack("!H", v["dstport"])))
                elif op["kind"] != "bridge":
                    raise OpError(f"unknown link kind {op['kind']!r}")
                attrs += attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, op["kind"].encode()) + (attr(IFLA_INFO_DATA, data) if data else b""))
                flags = CREATE_FLAGS["add"]
            else:
                if "hairpin" in op:
                    port = attr(IFLA_BRPORT_MODE, struct.pack("B", 1 if op["hairpin"] else 0))
                    attrs += attr(IFLA_LINKINFO, attr(IFLA_INFO_SLAVE_KIND, b"bridge") + attr(IFLA_INFO_SLAVE_DATA, port))
                # No NLM_F_CREATE: a missing device is ENODEV, never made.
                flags = 0
            self.request(RTM_NEWLINK, flags, ifinfomsg(IFF_UP if up else 0, IFF_UP if up is not None else 0) + attrs)
        finally:
            for fd in fds:
                os.close(fd)

    def link_attrs(self, op):
        out = b""
        if "address" in op:
            out += attr(IFLA_ADDRESS, mac_bytes(op["address"]))
        if "mtu" in op:
            out += attr(IFLA_MTU, struct.pack("I", op["mtu"]))
        if "master" in op:
            out += attr(IFLA_MASTER, struct.pack("I", self.index(op["master"])))
        return out

    def addr(self, op):
        local = socket.inet_aton(op["address"])
        # As `ip addr add`: loopback addresses get host scope, IFA_ADDRESS repeats IFA_LOCAL without a peer.
        scope = RT_SCOPE_HOST if op["address"].startswith("127.") else RT_SCOPE_UNIVERSE
        body = struct.pack("BBBBI", socket.AF_INET, op["prefix"], 0, scope, self.index(op["dev"]))
        body += attr(IFA_LOCAL, local) + attr(IFA_ADDRESS, local)
        self.request(RTM_NEWADDR, CREATE_FLAGS[op["cmd"]], body)

    def route(self, op):
        # As ip route: via a gateway (scope universe), a device route (scope link), or a blackhole.
        flags = RTNH_F_ONLINK if op.get("onlink") else 0
        kind = RTN_BLACKHOLE if op.get("blackhole") else RTN_UNICAST
        scope = RT_SCOPE_LINK if op.get("scope") == "link" else RT_SCOPE_UNIVERSE
        body = struct.pack("BBBBBBBBI", socket.AF_INET, op["prefix"], 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, scope, kind, flags)
        if op["prefix"]:
            body += attr(RTA_DST, socket.inet_aton(op["dst"]))
        if "via" in op:
            body += attr(RTA_GATEWAY, socket.inet_aton(op["via"]))
        if "dev" in op:
            body += attr(RTA_OIF, struct.pack("I", self.index(op["dev"])))
        self.request(RTM_NEWROUTE, CREATE_FLAGS[op["cmd"]], body)

    def sysctl(self, op):
        set_sysctl(op["key"], op["value"])

    def neigh(self, op):
        body = ndmsg(socket.AF_INET, self.index(op["dev"]), NUD_PERMANENT, 0)
        body += attr(NDA_DST, socket.inet_aton(op["dst"])) + attr(NDA_LLADDR, mac_bytes(op["lladdr"]))
        self.request(RTM_NEWNEIGH, CREATE_FLAGS[op["cmd"]], body)

    def fdb(self, op):
        # bridge fdb's `permanent` keeps its default NUD_NOARP.
        body = ndmsg(AF_BRIDGE, self.index(op["dev"]), NUD_NOARP | NUD_PERMANENT, NTF_SELF)
        body += attr(NDA_LLADDR, mac_bytes(op["lladdr"])) + attr(NDA_DST, socket.inet_aton(op["dst"]))
        self.request(RTM_NEWNEIGH, CREATE_FLAGS[op["cmd"]], body)


def ifinfomsg(flags=0, change=0):
    return struct.pack("BxHiII", socket.AF_UNSPEC, 0, 0, flags, change)


def ndmsg(family, index, state, flags):
    return struct.pack("BxxxiHBB", family, index, state, flags, 0)


def set_sysctl(key, value):
    # sysctl(8)'s names: dots separate, a slash stands for a dot inside a name (an interface's).
    path = "/proc/sys/" + "/".join(part.replace("/", ".") for part in key.split("."))
    if ".." in key.split(".") or not key.startswith("net."):
        raise OpError(f"sysctl {key}: only net.* keys")
    try:
        with open(path, "w") as f:
            f.write(f"{value}\n")
    except OSError as e:
        raise OpError(f"sysctl {key} = {value}: {describe(e.errno)}", e.errno)


def configure(req):
    netns = req["netns"]
    try:
        enter(netns)
    except OpError as e:
        return f"netns {netns}: {e}"
    for key, value in req.get("sysctls", []):
        try:
            set_sysctl(key, value)
        except OpError as e:
            return f"netns {netns}: {e}"
    ops = req.get("ops", [])
    if not ops:
        return None
    rtnl = Rtnl()
    try:
        for op in ops:
            try:
                if op["op"] not in ("link", "addr", "route", "neigh", "fdb", "sysctl"):
                    raise OpError(f"unknown op {op['op']!r}")
                getattr(rtnl, op["op"])(op)
            except OpError as e:
                return f"netns {netns}: `{op['line']}`: {e}"
    finally:
        rtnl.close()
    return None


def main():
    status = 0
    for raw in sys.stdin:
        if not raw.strip():
            continue
        try:
            req = json.loads(raw)
            rid = req["id"]
        except (ValueError, KeyError, TypeError) as e:
            print(json.dumps({"id": None, "ok": False, "error": f"bad request line: {e}"}), flush=True)
            status = 1
            continue
        try:
            error = configure(req)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            error = f"netns {req.get('netns')}: bad request: {e!r}"
        except OSError as e:  # the netlink socket itself failed: this request alone
            error = f"netns {req.get('netns')}: {describe(e.errno) if e.errno else e}"
        reply = {"id": rid, "ok": error is None}
        if error is not None:
            reply["error"] = error
        print(json.dumps(reply), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
