"""The study as typed data and its run pipeline.

``catalogue`` (experiments and the paper's tables) and ``profiles`` (the one table of profiles)
import no torch and are re-exported here; ``pipeline`` (plan -> build -> fit -> evaluate ->
record), ``reproduce``, ``efficiency``, ``book`` and ``commands`` are imported where used.
"""

from musclemap_lib.study.catalogue import (
    EXPERIMENTS,
    SPLITS,
    Experiment,
    Family,
    Row,
    TableRow,
    dependencies,
    get_experiment,
    list_experiments,
    plan,
)
from musclemap_lib.study.paper_tables import (
    TABLES,
    Note,
    Table,
    experiments_for_tables,
    get_table,
    table_rows,
)
from musclemap_lib.study.profiles import PROFILES, Profile, get_profile

__all__ = [
    "EXPERIMENTS",
    "PROFILES",
    "SPLITS",
    "TABLES",
    "Experiment",
    "Family",
    "Note",
    "Profile",
    "Row",
    "Table",
    "TableRow",
    "dependencies",
    "experiments_for_tables",
    "get_experiment",
    "get_profile",
    "get_table",
    "list_experiments",
    "plan",
    "table_rows",
]
