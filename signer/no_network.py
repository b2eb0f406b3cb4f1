"""The signer needs no network, so it takes the ability away from itself.

`forbid_network()` installs a seccomp filter on the signer process (all its threads)
under which creating any socket other than AF_UNIX fails with EAFNOSUPPORT. A bug, a
compromised dependency or an injected payload in the signer cannot then reach the
network at all. (gRPC's core probes for AF_INET support when a server starts; under the
filter that probe fails harmlessly, which the tests check with strace.)
"""

from __future__ import annotations

import errno
import socket

import pyseccomp as seccomp


def forbid_network() -> None:
    action = seccomp.ERRNO(errno.EAFNOSUPPORT)
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    f.add_rule(action, "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    f.add_rule(action, "socketpair", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    f.set_attr(seccomp.Attr.CTL_TSYNC, 1)  # every thread of the process, not just this one
    f.load()
