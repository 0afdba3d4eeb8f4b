"""Offline redirection, the grader's side: lay out a Hugging Face hub cache so that
`from_pretrained("roberta-large")` loads the profile's local model, and write the mapping the
injected hook (grader_hooks/offline.py) uses for datasets and metrics.

The mapping's hub names live in reference/offline.toml (datasets, metrics) and in each profile's
`hub_names` (models).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from grader.paths import REFERENCE_DIR

CONFIG = REFERENCE_DIR / "offline.toml"
HOOK = "offline"


def hub_cache(hub: Path, names: tuple[str, ...], model_dir: Path, seen_at: str | None = None) -> list[str]:
    """hub/models--ORG--NAME/{refs/main, snapshots/REV/*} linking to the model's files (at
    `seen_at`, where the run sees the model folder); with HF_HUB_OFFLINE=1 transformers (and
    mindnlp.transformers) resolve the name from it."""
    revision = hashlib.sha1(str(model_dir).encode()).hexdigest()
    for name in names:
        repo = hub / ("models--" + name.replace("/", "--"))
        snapshot = repo / "snapshots" / revision
        snapshot.mkdir(parents=True, exist_ok=True)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(revision)
        for item in model_dir.iterdir():
            if item.is_file() and not (snapshot / item.name).exists():
                (snapshot / item.name).symlink_to(Path(seen_at) / item.name if seen_at else item.resolve())
    return list(names)


def mapping(files: dict[str, str]) -> dict:
    """The hook's configuration: each dataset entry gets the local files of its splits."""
    config = tomllib.loads(CONFIG.read_text())
    datasets = []
    for entry in config.get("datasets", []):
        served = {split: str(files[split]) for split in entry["splits"] if split in files}
        datasets.append({"names": [n.lower() for n in entry["names"]], "files": served, "features": entry.get("features")})
    metrics = [{"names": [n.lower() for n in e["names"]], "compute": e["compute"]} for e in config.get("metrics", [])]
    return {"datasets": datasets, "metrics": metrics}


def prepare(folder: Path, hf_home: Path, hub_names: tuple[str, ...], model_dir: Path, files: dict[str, str], seen_at) -> dict[str, str]:
    """Write both; return the variables the student's process needs. `files` are where the run
    sees the data; `seen_at(path)` says where it sees a host path."""
    hub_cache(hf_home / "hub", hub_names, model_dir, seen_at(model_dir.resolve()))
    path = folder / "offline-map.json"
    path.write_text(json.dumps(mapping(files), indent=2))
    return {"GRADER_OFFLINE_MAP": seen_at(path)}
