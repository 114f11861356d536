"""A watch folder: each new file is loaded once, then moved to ``done/`` or ``failed/`` (with a reason file).

A file is taken when its size and modification time held still between two scans (a copy in progress is
left alone); names starting with '.' or '~', or ending in .part/.tmp/.crdownload, are never taken. A process
stopped between loading a file and moving it loads it again on the next run: the load is then skipped (same
content hash) and the file moved, so each file's rows are stored once.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from ..store import LoadReport

log = logging.getLogger("supplyfit.live")
SUFFIXES = {".csv", ".tsv", ".txt", ".parquet", ".xlsx"}
PARTIAL = (".part", ".tmp", ".crdownload")


def _destination(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-N.suffix`` when that is taken (a file of the same name came before)."""
    folder.mkdir(exist_ok=True)
    path, n = folder / name, 1
    while path.exists():
        path, n = folder / f"{Path(name).stem}-{n}{Path(name).suffix}", n + 1
    return path


class Watcher:
    """Scans ``folder`` and loads each file that held still with ``load(path)``; see the module docstring."""

    def __init__(self, folder: str | Path, load: Callable[[Path], LoadReport], say: Callable[[str], None] = log.info):
        self.folder, self.load, self.say = Path(folder), load, say
        self._seen: dict[Path, tuple[int, float]] = {}
        self.folder.mkdir(parents=True, exist_ok=True)

    def candidates(self) -> list[Path]:
        return sorted(
            p
            for p in self.folder.iterdir()
            if p.is_file() and not p.name.startswith((".", "~")) and not p.name.endswith(PARTIAL)
        )

    def scan(self) -> list[tuple[str, str]]:
        """Load the files that held still since the last scan; (file name, 'done' or 'failed') of each."""
        out = []
        now = {}
        for path in self.candidates():
            stat = path.stat()
            now[path] = (stat.st_size, stat.st_mtime)
            if self._seen.get(path) == now[path]:
                out.append((path.name, self.take(path)))
                del now[path]
        self._seen = now
        return out

    def take(self, path: Path) -> str:
        """Load one file and move it (with its report or reason beside it); 'done' or 'failed'."""
        try:
            if path.suffix.lower() not in SUFFIXES:
                raise ValueError(
                    f"unsupported file type {path.suffix or '(none)'}; watched files are {', '.join(sorted(SUFFIXES))}"
                )
            report = self.load(path)
        except Exception as e:  # noqa: BLE001 - any failure is the file's: it is set aside with the reason
            target = _destination(self.folder / "failed", path.name)
            shutil.move(path, target)
            target.with_name(target.name + ".reason.txt").write_text(f"{type(e).__name__}: {e}\n")
            self.say(f"failed: {path.name} ({type(e).__name__}: {e})")
            return "failed"
        target = _destination(self.folder / "done", path.name)
        shutil.move(path, target)
        target.with_name(target.name + ".load.json").write_text(json.dumps(report.as_dict(), default=str, indent=1))
        self.say(
            f"done: {path.name} (load {report.load_id} {report.status}: {report.stored:,} stored, "
            f"{report.quarantined:,} quarantined, {report.duplicates:,} duplicates)"
        )
        return "done"

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Scan every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                self.scan()
            except OSError:  # the folder went away or a file could not be moved: say so, keep watching
                log.exception("watch folder %s: scan failed", self.folder)
            stop.wait(interval)
