"""top10bot core: charts in, events out. Imports no platform SDK and no database driver."""

__version__ = "0.1.0"
