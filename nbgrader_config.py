"""nbgrader settings for the CIFAR-10 Keras course (this folder is the course directory).

Settings that differ between machines come from environment variables, so this file stays the same
everywhere:

* ``NBGRADER_EXCHANGE``: the exchange folder shared by instructors and students (release, fetch,
  submit, collect); default ``/srv/nbgrader/exchange``.
* ``NBGRADER_CELL_TIMEOUT``: seconds one cell may run while validating or grading before it is
  interrupted (an endless loop then costs its own cell, not the whole submission); default 60.
* ``NBGRADER_DB_URL``: the gradebook, any SQLAlchemy URL; default ``sqlite:///<course>/gradebook.db``.
  Several graders at once (``grader.grade`` on a cluster) are safest with PostgreSQL,
  e.g. ``postgresql://grader@dbhost/cifar10``.
* ``CIFAR10_DIR``: where the notebooks read CIFAR-10 from (see utils/data.py); inherited by the
  kernels nbgrader starts.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

from grader.assignment import COURSE_ID  # noqa: E402

c.CourseDirectory.course_id = COURSE_ID
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
if os.environ.get("NBGRADER_DB_URL"):
    c.CourseDirectory.db_url = os.environ["NBGRADER_DB_URL"]

# One cell that runs past this is interrupted and marked with an error; grading goes on.
c.Execute.timeout = int(os.environ.get("NBGRADER_CELL_TIMEOUT", "60"))
c.Execute.interrupt_on_timeout = True
# After a cell finishes, its remaining output may take a while to arrive (a cell that printed
# 100 MB, a busy machine); nbclient's default 4 s would fail the whole submission.
c.Execute.iopub_timeout = 30

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# A student who deletes a test cell gets it back (re-added from the gradebook) rather than skipping it.
c.OverwriteCells.add_missing_cells = True

# Two fixes for odd submissions (see grader/preprocessors/): a duplicated graded cell no
# longer stops grading, and one huge output is cut to a readable size.
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, ClearOutput, DeduplicateIds, GetGrades,
    IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor  # noqa: E402

from grader.preprocessors import (  # noqa: E402
    DropEmptyNbgraderMetadata, ExecuteAndJudge, HideTestsInFeedback, TruncateLongOutputs)

c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, DropEmptyNbgraderMetadata, OverwriteKernelspec, OverwriteCells,
    CheckCellMetadata]
c.Autograde.autograde_preprocessors = [
    ExecuteAndJudge, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, TruncateLongOutputs,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

# Feedback (generate_feedback, then release_feedback) shows each graded cell's points and what
# went wrong, not the test code, tracebacks into the helpers or this server's paths. Only the
# feedback page changes: formgrader still shows the complete autograded notebook.
c.GenerateFeedback.preprocessors = [GetGrades, HideTestsInFeedback, CSSHTMLHeaderPreprocessor]

# formgrader's grading pages load MathJax from this server (the jupyter-server-mathjax extension),
# not from a CDN that an offline server cannot reach: grader/templates/classic/mathjax.html.j2.
# nbgrader's own page templates stay first on the search path.
import grader  # noqa: E402
import nbgrader.server_extensions.formgrader  # noqa: E402

c.HTMLExporter.extra_template_basedirs = [
    os.path.join(os.path.dirname(nbgrader.server_extensions.formgrader.__file__), "templates"),
    os.path.join(os.path.dirname(grader.__file__), "templates")]
