"""What a stage gets: the system, the resolved configuration and the run directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class StageContext:
    system: Any
    config: Any
    run_dir: Path

    def path(self, artifact: str) -> Path:
        return self.run_dir / artifact
