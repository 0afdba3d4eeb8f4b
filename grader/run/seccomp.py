"""The system-call filter of a sandboxed run, compiled by libseccomp (the library every container
runtime uses) for this machine's own architecture and handed to bubblewrap as a file descriptor.

Default: allow. Refused with EPERM: what reaches files or processes past the sandbox's view
(file handles, tracing, another process's memory), what changes mounts or namespaces, kernel keys,
BPF, performance counters, modules, kexec, io_uring (its operations bypass this filter). `clone`
is refused only when it asks for a new namespace; `clone3` passes its flags in memory a filter
cannot read, so it answers ENOSYS and the C library falls back to `clone`. System calls of another
architecture (32-bit entry points on a 64-bit machine) kill the process (libseccomp's default).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

REFUSED = (
    "open_by_handle_at",
    "name_to_handle_at",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "iopl",
    "ioperm",
)
# CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP
NAMESPACE_FLAGS = (0x10000000, 0x00020000, 0x20000000, 0x40000000, 0x08000000, 0x04000000, 0x02000000)
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_MASKED_EQ = 7


def _errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


class Unavailable(Exception):
    """libseccomp is missing or refused the filter."""


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise Unavailable(f"libseccomp not found ({exc}); install libseccomp2") from exc
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _add(lib, ctx, action: int, name: str, *conditions: _ArgCmp) -> bool:
    """Add one rule; False when this architecture has no such system call."""
    number = lib.seccomp_syscall_resolve_name(name.encode())
    if number < 0:
        return False
    array = (_ArgCmp * len(conditions))(*conditions) if conditions else None
    result = lib.seccomp_rule_add_array(ctx, action, number, len(conditions), array)
    if result != 0:
        raise Unavailable(f"libseccomp refused the rule for {name}: {os.strerror(-result)}")
    return True


def compile_filter() -> tuple[int, list[str]]:
    """A file descriptor (a memfd at offset 0) holding the filter's BPF program, and the system
    calls it refuses on this architecture."""
    lib = _library()
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise Unavailable("seccomp_init failed")
    try:
        refused = [name for name in REFUSED if _add(lib, ctx, _errno(errno.EPERM), name)]
        for flag in NAMESPACE_FLAGS:  # one rule per flag: a rule's conditions are all ANDed
            _add(lib, ctx, _errno(errno.EPERM), "clone", _ArgCmp(0, SCMP_CMP_MASKED_EQ, flag, flag))
        refused.append("clone with CLONE_NEW* flags")
        if _add(lib, ctx, _errno(errno.ENOSYS), "clone3"):
            refused.append("clone3 (ENOSYS: falls back to clone)")
        fd = os.memfd_create("grader-seccomp", 0)
        result = lib.seccomp_export_bpf(ctx, fd)
        if result != 0:
            os.close(fd)
            raise Unavailable(f"seccomp_export_bpf failed: {os.strerror(-result)}")
        os.lseek(fd, 0, os.SEEK_SET)
        return fd, refused
    finally:
        lib.seccomp_release(ctx)
