"""Where built images live on the host, apart from the code that builds them (which reads
agents' manifests) so that the launcher can find images without importing it."""

from __future__ import annotations

import os
from pathlib import Path

# The file that makes a directory an image for the bubblewrap backend.
DIR_IMAGE_FILE = "image.json"


def image_cache_dir() -> Path:
    """Where root filesystems and directory images live: shared by every clone on the host."""
    default = Path("/var/cache/corral/images") if os.geteuid() == 0 else Path.home() / ".cache" / "corral" / "images"
    path = Path(os.environ.get("CORRAL_IMAGE_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path
