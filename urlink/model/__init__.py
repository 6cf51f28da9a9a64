"""The linkage model: flows of people, goods, capital and ecosystem services, and the state.

Layer 3 of urlink (see ``docs/architecture.md``): imports the base modules, :mod:`urlink.io`
and :mod:`urlink.network`. A :class:`~urlink.model.state.State` holds the zones, the routing
graphs and skims, the model inputs and the flows computed from them.
"""
