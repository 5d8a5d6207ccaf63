"""Evaluation: environments, the evaluator contract, local and multi-process evaluators."""
