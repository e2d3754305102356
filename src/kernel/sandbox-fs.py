#!/usr/bin/env python3
"""knetlab sandbox filesystem: carries out a plan of mount operations in one process.

Run inside a new sandbox (its own mount namespace, private propagation), before anything else.
The plan is a JSON list of operations on stdin (see src/kernel/sandbox-fs.ts, which writes it;
a bind's source "kept:ID" is the folder a "keep" operation held open before it was hidden);
one JSON line on stdout answers: {"ok": true, "failedGroups": {group: error}} or, when an
operation outside any group fails, {"ok": false, "error": "..."}. An operation with a "group"
may fail: the rest of its group is then skipped and the failure reported, not raised.
Mount flags come from <linux/mount.h>; mount_setattr (Linux 5.12) makes a whole tree read-only
in one call, with no window in which part of it is still writable.
"""
import ctypes
import json
import os
import sys

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_MOVE = 0x2000
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (the syscall table was unified)

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.syscall.restype = ctypes.c_long


class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def fail(what):
    err = ctypes.get_errno()
    raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()
    if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        fail("mount %s on %s" % (fstype or source, target))


def set_readonly(path, readonly, recursive):
    attr = MountAttr(MOUNT_ATTR_RDONLY if readonly else 0, 0 if readonly else MOUNT_ATTR_RDONLY, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    r = libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, ctypes.byref(attr), ctypes.sizeof(attr))
    if r == 0:
        return
    if ctypes.get_errno() != 38 or not readonly:  # ENOSYS: a kernel older than 5.12
        fail("make %s %s" % (path, "read-only" if readonly else "writable"))
    remount_each_readonly(path)


def remount_each_readonly(top):
    """Before mount_setattr: every mount at or below top, one by one, keeping the flags it has
    (a user namespace may not clear flags such as nosuid that its parent set)."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split(" ")[4].encode().decode("unicode_escape")
            if point == top or point.startswith(top.rstrip("/") + "/"):
                points.append(point)
    for point in points:
        st = os.statvfs(point)
        keep = st.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
        mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)


kept = {}  # id -> an O_PATH descriptor of a folder kept by a "keep" operation


def run(op):
    kind = op["op"]
    if kind == "readonly":
        set_readonly(op["path"], True, op.get("recursive", False))
    elif kind == "writable":
        set_readonly(op["path"], False, False)
    elif kind == "tmpfs":
        mount("knetlab", op["target"], "tmpfs", MS_NOSUID | MS_NODEV, "mode=%s" % op["mode"])
    elif kind == "overlay":
        data = "lowerdir=%s,upperdir=%s,workdir=%s" % (op["lower"], op["upper"], op["work"])
        mount("knetlab", op["target"], "overlay", 0, data)
    elif kind == "devpts":
        mount("devpts", op["target"], "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    elif kind == "bind":
        source = op["source"]
        if source.startswith("kept:"):
            source = "/proc/self/fd/%d" % kept[source[len("kept:"):]]
        mount(source, op["target"], None, MS_BIND)
    elif kind == "move":
        mount(op["source"], op["target"], None, MS_MOVE)
    elif kind == "mkdir":
        if not os.path.isdir(op["path"]):
            os.makedirs(op["path"])
            os.chmod(op["path"], int(op.get("mode", "755"), 8))  # makedirs' mode is cut by the umask
    elif kind == "keep":
        # Held open from the start, so the folder can be bound after private mounts hide its path.
        kept[op["id"]] = os.open(op["path"], os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    elif kind == "file":
        os.close(os.open(op["path"], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644))
    elif kind == "symlink":
        os.symlink(op["to"], op["path"])
    else:
        raise ValueError("unknown operation %r" % kind)


def main():
    plan = json.load(sys.stdin)
    failed = {}
    for i, op in enumerate(plan):
        group = op.get("group")
        if group in failed:
            continue
        try:
            run(op)
        except (OSError, ValueError) as e:
            what = "operation %d (%s): %s" % (i + 1, json.dumps(op, sort_keys=True), e)
            if group is None:
                print(json.dumps({"ok": False, "error": what}), flush=True)
                sys.exit(1)
            failed[group] = what
    print(json.dumps({"ok": True, "failedGroups": failed}), flush=True)


if __name__ == "__main__":
    main()
