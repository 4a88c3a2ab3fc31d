"""Model-level assessments: how open a model is and under what terms.

:func:`modeltrust._assess.openness.assess` reads a snapshot's card, licence files, dataset
cards and lineage metadata (offline, bounded, never loading weights) and returns an
:class:`~modeltrust._assess.report.OpennessReport`: the licence with quoted clauses, the
OSAID 1.0 checklist, the MOF 1.0 class, declared training data and lineage, and
accountability facts, with findings in the common format.
"""
