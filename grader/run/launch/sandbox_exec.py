"""Put this process in the sandbox, then exec the student's command in its place.

Run by path with the grader's own interpreter (standard library only, never imports the grader):

    python sandbox_exec.py PLAN.json -- COMMAND...

PLAN.json says which resource limits to set, whether to cut the network, which paths to mask,
and where to write what was actually in force (the machine may refuse a namespace; the run goes
on with what it allows and the record says so). Namespaces are made with unshare(2): a new
network namespace has only a loopback interface (brought up here, so Jupyter kernels can still
talk to their client); a new mount namespace lets empty read-only tmpfs mounts cover the
grader's hidden folders, and /dev/null cover hidden files, for this process and its children only.
"""

import ctypes
import ctypes.util
import fcntl
import json
import os
import resource
import socket
import struct
import sys

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_CAPBSET_DROP = 24
# Without these a root process could undo the mounts (umount, remount read-write), trace the
# grader, or load modules; nothing a training run needs.
DROPPED_CAPABILITIES = {
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_NET_ADMIN": 12,
    "CAP_MKNOD": 27,
}
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _call(name, *args):
    if getattr(_libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}: {os.strerror(err)}")


def _unshare(flags):
    """unshare(2) as this user; if refused, inside a new user namespace that maps us to ourselves."""
    try:
        _call("unshare", flags)
        return "as root" if os.geteuid() == 0 else "as this user"
    except OSError:
        uid, gid = os.geteuid(), os.getegid()
        _call("unshare", flags | CLONE_NEWUSER)
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            try:
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
            except OSError:
                if name != "setgroups":
                    raise
        return "in a user namespace"


def _loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


def _mask(paths):
    """Cover each path with something empty; returns the paths covered."""
    _call("mount", None, b"/", None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None)  # never leak to the host
    covered = []
    for path in paths:
        target = os.fsencode(path)
        if os.path.isdir(path):
            _call("mount", b"tmpfs", target, b"tmpfs", ctypes.c_ulong(MS_RDONLY | MS_NOSUID | MS_NODEV), b"size=4k,mode=000")
        elif os.path.exists(path):
            _call("mount", b"/dev/null", target, None, ctypes.c_ulong(MS_BIND), None)
        else:
            continue
        covered.append(path)
    return covered


def _read_only(paths):
    """Bind each path onto itself read-only (the base model: the run reads it, must not change it)."""
    done = []
    for path in paths:
        if not os.path.exists(path):
            continue
        target = os.fsencode(path)
        _call("mount", target, target, None, ctypes.c_ulong(MS_BIND | MS_REC), None)
        _call("mount", None, target, None, ctypes.c_ulong(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC), None)
        done.append(path)
    return done


def _drop_capabilities(record):
    """Remove the capabilities from the bounding set: after exec even root no longer has them."""
    dropped = []
    for name, number in DROPPED_CAPABILITIES.items():
        if _libc.prctl(PR_CAPBSET_DROP, number, 0, 0, 0) == 0:
            dropped.append(name)
        else:
            record["problems"].append(f"capability {name} not dropped: {os.strerror(ctypes.get_errno())}")
    record["capabilities_dropped"] = dropped


def _limits(plan, record):
    applied = {}
    for name, value in plan.get("limits", {}).items():
        if value is None:
            continue
        which = getattr(resource, f"RLIMIT_{name.upper()}")
        try:
            resource.setrlimit(which, (int(value), int(value)))
            applied[name] = int(value)
        except (ValueError, OSError) as exc:
            record["problems"].append(f"limit {name}: {exc}")
    if "nproc" in applied and os.geteuid() == 0:
        record["problems"].append("the process-count limit does not bind root")
    record["limits"] = applied


def apply(plan):
    record = {"network": "not isolated", "hidden": "not masked", "masked": [], "problems": []}
    record["read_only"] = []
    mounts = plan.get("hide") or plan.get("read_only")
    flags = (CLONE_NEWNET if plan.get("isolate_network") else 0) | (CLONE_NEWNS if mounts else 0)
    if flags:
        try:
            how = _unshare(flags)
        except OSError as exc:
            record["problems"].append(f"namespaces refused ({exc}); ran without them")
            flags = 0
    if flags & CLONE_NEWNET:
        try:
            _loopback_up()
            record["network"] = f"network namespace {how}: loopback only"
        except OSError as exc:
            record["network"] = f"network namespace {how}: no interfaces at all"
            record["problems"].append(f"loopback not brought up: {exc}")
    if flags & CLONE_NEWNS:
        try:
            record["masked"] = _mask(plan["hide"])
            record["hidden"] = f"mount namespace {how}: hidden paths covered"
        except OSError as exc:
            record["problems"].append(f"hidden paths not masked: {exc}")
        try:
            record["read_only"] = _read_only(plan.get("read_only", []))
        except OSError as exc:
            record["problems"].append(f"read-only paths not protected: {exc}")
    _drop_capabilities(record)
    _limits(plan, record)
    return record


def main(argv):
    split = argv.index("--")
    with open(argv[1]) as handle:
        plan = json.load(handle)
    with open(plan["record"], "w") as handle:  # opened first: the record's folder may be masked next
        json.dump(apply(plan), handle, indent=2)
    command = argv[split + 1 :]
    os.execvpe(command[0], command, os.environ)


if __name__ == "__main__":
    main(sys.argv)
