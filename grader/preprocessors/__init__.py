"""nbgrader preprocessors of this course (enabled in nbgrader_config.py): one runs a submission
and scores the evidence its tests collected, two keep odd submissions gradable, one makes the
feedback teach without showing the tests."""

from .drop_empty_metadata import DropEmptyNbgraderMetadata
from .feedback import HideTestsInFeedback
from .truncate_outputs import TruncateLongOutputs
from .trusted import ExecuteAndJudge

__all__ = ["DropEmptyNbgraderMetadata", "ExecuteAndJudge", "HideTestsInFeedback", "TruncateLongOutputs"]
