"""Where each thing of a run lies on the host and where the run sees it: the one place that maps
a host path to the run's view of it.

Inside the sandbox the run sees the ModelArts notebook's paths (course notebooks write to
/home/ma-user/work and its home unchanged) and the grader's files under /opt/grader. Without a
sandbox (--unsafe-no-sandbox) both sides are the host's paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HOME = PurePosixPath("/home/ma-user")
GRADER = PurePosixPath("/opt/grader")
# name -> (where the run sees it, whether it may write there); binds are made in this order
PLACES = {
    "home": (HOME, True),
    "work": (HOME / "work", True),
    "output": (HOME / "output", True),
    "data": (HOME / "data", False),
    "tmp": (PurePosixPath("/tmp"), True),
    "model": (GRADER / "model", False),
    "inject": (GRADER / "inject", False),
    "launch": (GRADER / "launch", False),
    "control": (GRADER / "control", False),  # probe socket, offline map, passwd and group
    "notebook": (GRADER / "notebook", True),
}
USER, UID, GID = "ma-user", 1000, 100  # as on ModelArts


@dataclass
class Layout:
    """Host folders by name; `sandboxed` says whether the run sees them at PLACES' paths."""

    host: dict[str, Path]
    sandboxed: bool = True

    @classmethod
    def for_run(cls, private: Path, work: Path, model_dir: Path, inject: Path, launch: Path, sandboxed: bool) -> Layout:
        """The standard folders of a run in its private area `private`; creates the writable ones."""
        host = {
            "home": private / "home",
            "work": work,
            "output": private / "output",
            "data": private / "data",
            "tmp": private / "tmp",
            "model": model_dir.resolve(),  # bound from where it really lies: renaming a link changes nothing
            "inject": inject,
            "launch": launch,
            "control": private / "control",
            "notebook": private / "notebook",
        }
        for name in ("home", "output", "tmp", "control", "notebook", "data"):
            host[name].mkdir(parents=True, exist_ok=True)
        return cls(host, sandboxed)

    def inside(self, name: str) -> str:
        """Where the run sees the named folder."""
        return str(PLACES[name][0]) if self.sandboxed else str(self.host[name])

    def to_inside(self, path: Path | str) -> str:
        """A host path under one of the folders, as the run sees it."""
        path = Path(path)
        if not self.sandboxed:
            return str(path)
        for name, host in sorted(self.host.items(), key=lambda item: -len(str(item[1]))):
            if path == host or path.is_relative_to(host):
                return str(PurePosixPath(PLACES[name][0]) / path.relative_to(host))
        return str(path)

    def binds(self) -> list[tuple[str, str, bool]]:
        """(host, inside, writable) for bubblewrap, parents before children."""
        return [(str(self.host[name]), str(place), writable) for name, (place, writable) in PLACES.items()]
