"""Running the signer as its own user.

Started by root with `--user corral-signer`, the signer reads its passphrase file, hands
its home directory to that user, loads every module it will need, and then gives up
root for good (groups, gid, uid). From then on, a compromise of any other service on the
host that does not reach root cannot read the keystore, and the signer itself cannot
touch anything of root's. The admin CLI, run by root on a home owned by the signer's
user, creates its files owned by that user (`write_private_file`), so they stay the
signer's.
"""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path


class PrivilegeError(Exception):
    pass


def lookup(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(user)
    except KeyError:
        raise PrivilegeError(f"no user {user!r} on this host; create it (e.g. `useradd --system corral-signer`)") from None


def hand_over(home: Path, account: pwd.struct_passwd) -> None:
    """Makes `account` the owner of everything under `home` (run as root)."""
    for directory, _, files in os.walk(home):
        os.chown(directory, account.pw_uid, account.pw_gid)
        for name in files:
            os.chown(os.path.join(directory, name), account.pw_uid, account.pw_gid, follow_symlinks=False)


def share_socket_dir(directory: Path, account: pwd.struct_passwd | None, group: str | None) -> None:
    """Makes the public socket's directory: the signer's user owns it, `group` may enter
    it (0750; setgid, so the socket made in it is that group's too), nobody else may."""
    try:
        gid = grp.getgrnam(group).gr_gid if group else os.getegid()
    except KeyError:
        raise PrivilegeError(f"no group {group!r} (scripts/setup makes corral-orchestrator)") from None
    directory.mkdir(parents=True, exist_ok=True)
    # Changed through a descriptor opened without following links: whatever replaces the
    # path meanwhile, root changes only the directory it opened.
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        raise PrivilegeError(f"--socket-dir {directory} must be a directory, not a link") from None
    try:
        os.fchown(fd, account.pw_uid if account else os.geteuid(), gid)
        os.fchmod(fd, 0o2750)
    except PermissionError:
        raise PrivilegeError(f"cannot give {directory} to group {group}: start the signer as root, or as a member of it") from None
    finally:
        os.close(fd)


def drop_to(account: pwd.struct_passwd) -> None:
    """Becomes `account` irrevocably."""
    os.setgroups([])
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
    if os.getuid() != account.pw_uid or os.geteuid() != account.pw_uid:
        raise PrivilegeError("could not change user")
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise PrivilegeError("root could be regained after dropping privileges")


def write_private_file(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Writes `data` to `path` (mode 600) atomically: readers see no file or the whole file.

    The file belongs to the owner of its directory, so a root-run admin command leaves
    the signer's files readable by the signer's user. Without `overwrite`, an existing
    file is never replaced (FileExistsError)."""
    directory = path.parent
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        if os.geteuid() == 0:
            owner = directory.stat()
            os.fchown(fd, owner.st_uid, owner.st_gid)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if `path` exists
    finally:
        tmp.unlink(missing_ok=True)
