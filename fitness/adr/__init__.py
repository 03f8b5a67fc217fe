"""Architecture decision records: MADR files with YAML front matter."""

from fitness.adr.reader import read_adr, read_adrs
from fitness.adr.record import Adr

__all__ = ["Adr", "read_adr", "read_adrs"]
