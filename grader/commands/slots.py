"""A batch's slots: how many students are graded at once, and on which device each one trains.

`--devices ascend:0-7` (or `gpu:0,1`) gives one slot per device, so two trainings never share a
device; `--jobs N` gives N slots on the CPU; neither gives one slot on the grading's device.
Every device is checked before anyone is graded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from grader.errors import CannotGrade
from grader.run import devices


@dataclass(frozen=True)
class Slot:
    name: str  # shown in progress and recorded in the gradebook: "ascend:3", "cpu-2"
    device: str  # the device option of the grading run in this slot: "ascend:3", "cpu"


def parse_ids(text: str) -> list[int]:
    """`0-7`, `0,2,5-6` -> device numbers, in order, once each."""
    ids: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, dash, last = part.partition("-")
        try:
            numbers = range(int(first), int(last) + 1) if dash else [int(first)]
        except ValueError:
            raise CannotGrade(f"device ids must be numbers or ranges like 0-7, not {part!r}") from None
        if dash and not numbers:
            raise CannotGrade(f"empty device range {part!r}: write the lower number first")
        ids += [n for n in numbers if n not in ids]
    return ids


def plan(device_list: str | None, jobs: int | None, device: str | None) -> list[Slot]:
    """The slots for `--devices`, `--jobs` or neither (one slot on `device`)."""
    if device_list and jobs:
        raise CannotGrade("give --devices (one slot per device) or --jobs (slots on the CPU), not both")
    if jobs is not None:
        if jobs < 1:
            raise CannotGrade(f"--jobs must be 1 or more, not {jobs}")
        if device and devices.parse(device).kind != "cpu":
            raise CannotGrade(f"--jobs gives CPU slots; for {device} slots give --devices {device.split(':')[0]}:IDS")
        cores = os.cpu_count() or 1
        if jobs > cores:
            print(f"note: {jobs} slots on {cores} CPU cores; each grading will take longer", flush=True)
        return [Slot(f"cpu-{i + 1}", "cpu") for i in range(jobs)]
    if device_list:
        kind, _, ids = device_list.partition(":")
        parsed = devices.parse(kind)
        if parsed.kind == "cpu":
            raise CannotGrade("--devices names accelerators (ascend:0-7, gpu:0,1); for CPU slots give --jobs N")
        numbers = parse_ids(ids) if ids else devices.present(parsed.kind)
        devices.check(devices.Device(parsed.kind, tuple(numbers)))  # names every missing one, or says there are none
        return [Slot(f"{parsed.kind}:{n}", f"{parsed.kind}:{n}") for n in numbers]
    return [Slot(device or "default", device or "")]
