"""The seccomp filter of the bubblewrap backend: sockets only of families AF_UNIX and AF_INET,
and no kernel surface an agent has no use for (ptrace, mounts, namespaces, BPF, keyrings, …).

AF_INET is for the loopback listener of the egress path (sandbox_runner/inside/egress.py): the
sandbox's network namespace holds only `lo`, so an AF_INET socket reaches nothing but other
sockets of the same sandbox. Raw, packet, netlink and IPv6 sockets stay refused.

Compiled with libseccomp (through pyseccomp) to a BPF program that bwrap installs
right before it executes the sandbox's first process.
"""

from __future__ import annotations

import errno
import functools
import socket
import tempfile

import pyseccomp as seccomp

# Namespace-creating clone() flags: a sandboxed process may not make new namespaces.
_NAMESPACE_FLAGS = [0x10000000, 0x00020000, 0x40000000, 0x08000000, 0x04000000, 0x20000000, 0x02000000, 0x00000080]
_DENIED_SYSCALLS = [
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "syslog", "acct", "quotactl", "open_by_handle_at", "name_to_handle_at", "fsopen", "fsmount",
    "move_mount", "open_tree", "fspick", "mount_setattr", "lookup_dcookie", "vhangup", "nfsservctl",
]


def build_filter() -> seccomp.SyscallFilter:
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for family_rule in ("socket", "socketpair"):
        # Families are numbered AF_UNSPEC 0, AF_UNIX 1, AF_INET 2: refuse below and above.
        f.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), family_rule, seccomp.Arg(0, seccomp.LT, socket.AF_UNIX))
        f.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), family_rule, seccomp.Arg(0, seccomp.GT, socket.AF_INET))
    # Raw IPv4 sockets (ping, hand-made packets) are refused too; stream and datagram stay.
    f.add_rule(seccomp.ERRNO(errno.EPERM), "socket", seccomp.Arg(0, seccomp.EQ, socket.AF_INET),
               seccomp.Arg(1, seccomp.MASKED_EQ, 0xF, socket.SOCK_RAW))
    for name in _DENIED_SYSCALLS:
        try:
            f.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a syscall on this architecture/kernel headers
    # clone3 takes its flags in a struct the filter cannot read: make libc fall back to clone.
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in _NAMESPACE_FLAGS:
        f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    return f


@functools.cache
def _compiled() -> bytes:
    """The BPF program, built once per process: the rules never change, and building them
    took about 7 ms of every bubblewrap start."""
    with tempfile.TemporaryFile() as handle:
        build_filter().export_bpf(handle)
        handle.seek(0)
        return handle.read()


def compiled_filter_file():
    """An open temporary file holding the BPF program (pass its fd to bwrap --seccomp)."""
    handle = tempfile.TemporaryFile()
    handle.write(_compiled())
    handle.seek(0)
    return handle
