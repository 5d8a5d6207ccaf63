"""Training: ``ezspark.train`` and the generation loop behind it.

``trainer`` (``train``: options to result), ``loop`` (the generation loop, docs/algorithm.md
5.1), ``evaluators`` (which evaluator a run uses), ``seeds`` (the run seed and its streams,
docs/algorithm.md 1.2), ``resume`` (continuing from a checkpoint, docs/algorithm.md 8).
"""
