"""Hypothesis strategies, all in one place and named for what they produce.

``common`` holds the building blocks (seeds, sizes, arrays that reach edges);
``modules`` holds one ``*_cases`` strategy per registry component.
"""

from reference.strategies.common import *  # noqa: F401,F403
from reference.strategies.modules import *  # noqa: F401,F403
