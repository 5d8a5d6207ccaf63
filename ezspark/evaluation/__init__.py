"""Evaluation (docs/algorithm.md 6): the fitness of every genome of a generation.

``contract`` (what the generation loop asks of an evaluator), ``envs`` (making, checking and
seeding environments), ``lockstep`` (playing many games at once), ``local`` (this process),
``processes`` (``--workers``), ``function`` (a user fitness function), ``play`` (a champion's
episodes outside training).
"""
