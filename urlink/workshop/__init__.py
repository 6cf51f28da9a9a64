"""``urlink workshop``: a live web app where stakeholder groups weigh the strategies.

One model run (or a finished run's folder) gives the performance table; the server then
takes each group's weights (100-point sliders or AHP comparisons), re-scores the strategies
with :mod:`urlink.scoring` after every submission and pushes the ranking to the
facilitator's screen. Sessions live in SQLite in ``--data``; see ``docs/workshop.md``.

Modules: :mod:`~urlink.workshop.data` (what the room sees of a run),
:mod:`~urlink.workshop.live` (re-scoring with cached SMAA), :mod:`~urlink.workshop.store`
(the session database), :mod:`~urlink.workshop.checks` (every request body validated),
:mod:`~urlink.workshop.report` (the exports) and :mod:`~urlink.workshop.app` (the
Starlette application and ``serve``; the only module that imports the web stack).
"""

from __future__ import annotations

__all__: list[str] = []
