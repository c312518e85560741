"""Hypothesis strategies, all in one place and named for what they produce.

``common`` holds the building blocks (seeds, sizes, arrays that reach edges);
``modules`` holds one ``*_cases`` strategy per registry component. Importing this package
makes draws independent of the modules a process has loaded
(``reference.hypothesis_profiles.ignore_source_constants``).
"""

from reference.hypothesis_profiles import ignore_source_constants

ignore_source_constants()

from reference.strategies.common import *  # noqa: E402,F401,F403
from reference.strategies.modules import *  # noqa: E402,F401,F403
