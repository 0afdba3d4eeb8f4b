"""Binding and connecting Unix sockets by a short, neutral address.

A socket's address is limited to 107 bytes, and a grading's private folder lies under the
instructor's temporary folder, a batch's work folder and the attempt's: a long path fails to bind
("AF_UNIX path too long"). The address a socket was bound with is also what /proc/net/unix lists,
and the kernel lists the grader's end of a run's connection in the run's own network namespace:
a run that reads /proc/net/unix would see the host path of its private folder. So the socket is
bound (and connected) through an open descriptor of its folder, `/proc/self/fd/N/NAME`: the
socket file lies where it always did, the address is short, and it says nothing of the host.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def address(path: Path | str) -> Iterator[str]:
    """`path` as `/proc/self/fd/N/NAME`, valid inside the block (the folder stays open meanwhile)."""
    path = Path(path)
    folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


def bind(sock: socket.socket, path: Path | str) -> None:
    """Bind `sock` at `path`, whatever the length of its folder's path."""
    with address(path) as short:
        sock.bind(short)


def connect(sock: socket.socket, path: Path | str) -> None:
    """Connect `sock` to the socket at `path`, whatever the length of its folder's path."""
    with address(path) as short:
        sock.connect(short)
