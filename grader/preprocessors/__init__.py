"""nbgrader preprocessors of this course (enabled in nbgrader_config.py): two keep odd
submissions gradable, one makes the feedback teach without showing the tests."""

from .drop_empty_metadata import DropEmptyNbgraderMetadata
from .feedback import HideTestsInFeedback
from .truncate_outputs import TruncateLongOutputs

__all__ = ["DropEmptyNbgraderMetadata", "HideTestsInFeedback", "TruncateLongOutputs"]
