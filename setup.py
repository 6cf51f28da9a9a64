"""Build the optional compiled kernels; metadata lives in pyproject.toml.

The extensions are optional: without a C compiler urlink installs anyway and computes skims
with scipy.sparse.csgraph and the Furness balancing with numpy instead (slower, same
results).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "urlink.network._dijkstra",
            sources=["urlink/network/_dijkstra.c"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "urlink.model.flows._balance",
            sources=["urlink/model/flows/_balance.c"],
            # -fno-trapping-math (clang's default): floating-point exceptions are not
            # trapped, so division may be vectorised; the values are IEEE's either way
            extra_compile_args=["-O3", "-fno-trapping-math"],
            optional=True,
        ),
    ]
)
