"""What a run shows and writes: maps, the report, the output folder and its manifest.

Layer 6 of urlink (see ``docs/architecture.md``): imports every layer below it
(base, :mod:`urlink.io`, :mod:`urlink.network`, :mod:`urlink.model`, :mod:`urlink.scoring`,
:mod:`urlink.scenario`).
"""
