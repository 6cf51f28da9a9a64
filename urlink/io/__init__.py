"""Reading inputs: boundaries, settlements, coordinates (WGS84, GCJ-02), rasters, tables, PostGIS.

Layer 1 of urlink (see ``docs/architecture.md``): imports only the base modules
(:mod:`urlink.errors`, :mod:`urlink.validate`, :mod:`urlink.registry`, :mod:`urlink.parallel`).
"""
