"""A catalog of candidates for ``python -m reference.verify``: deliberately wrong implementations
(one bug each, stated in the class docstring) that the verifier must catch, and correct
implementations written differently from scratch's own that it must pass.

Each catalog module lists its candidates in ``ENTRIES``; ``CATALOG`` is all of them.
``Entry.ref`` is what the command line takes (``tests.catalog.layers:NaiveSoftmax``).
``tests/test_catalog.py`` runs the verifier on every entry; ``python -m tests.catalog``
times each run and prints the catch rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    kind: str                     # the registry name it claims to implement
    cls: type
    wrong: bool                   # True: must be caught; False: must pass
    examples: int = 10            # generated cases per verify run (the default case is always added)
    dtypes: tuple = ("float64",)  # run in each: caught if wrong, passes if not
    misses: tuple = ()            # dtypes where the generated cases are known to miss this bug ...
    why_missed: str = ""          # ... and why (which edge the strategy reaches too rarely, measured)
    edge: object = field(default=None, compare=False)  # a hand-made Case at that edge: the engine must flag it

    @property
    def name(self) -> str:
        return self.cls.__name__

    @property
    def ref(self) -> str:
        return f"{self.cls.__module__}:{self.cls.__name__}"

    @property
    def doc(self) -> str:
        return " ".join((self.cls.__doc__ or "").split())

    def runs(self) -> list[tuple[str, bool]]:
        """(dtype, whether the verifier should report a mismatch) for every run of this entry,
        known misses included (the test suite checks those through ``edge`` instead)."""
        return [(dt, self.wrong) for dt in self.dtypes + self.misses]


def wrong(kind, cls, float32=False, **kw) -> Entry:
    return Entry(kind, cls, True, **({"dtypes": ("float64", "float32")} if float32 else {}), **kw)


def correct(kind, cls, float32=False, **kw) -> Entry:
    return Entry(kind, cls, False, **({"dtypes": ("float64", "float32")} if float32 else {}), **kw)


_MODULES = ("layers", "losses", "optimizers", "correct_layers", "correct_losses", "correct_optim")


def _load() -> list[Entry]:
    import importlib

    return [e for m in _MODULES for e in importlib.import_module(f"tests.catalog.{m}").ENTRIES]


CATALOG: list[Entry] = _load()
