"""nbgrader preprocessors that keep odd submissions gradable (enabled in nbgrader_config.py)."""

from .drop_empty_metadata import DropEmptyNbgraderMetadata
from .truncate_outputs import TruncateLongOutputs

__all__ = ["DropEmptyNbgraderMetadata", "TruncateLongOutputs"]
