"""Build the optional compiled Dijkstra kernel; metadata lives in pyproject.toml.

The extension is optional: without a C compiler urlink installs anyway and computes skims
with scipy.sparse.csgraph instead (slower, same results).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "urlink.network._dijkstra",
            sources=["urlink/network/_dijkstra.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
