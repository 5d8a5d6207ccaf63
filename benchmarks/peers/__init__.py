"""The peers' side of the benchmarks: the code that runs neat-python 2.0.0 and MultiNEAT 0.12
on the same tasks as ezspark.

* ``neat_python`` -- neat-python's config, the activation workload's genomes, the CartPole-v1
  task with its solve test, and one bookkeeping pass with timers;
* ``multi_neat`` -- MultiNEAT's parameter sets, its networks (copied from neat-python's or
  built from its genomes), the same CartPole-v1 task and one bookkeeping pass;
* ``bare_env`` -- bare gymnasium loops: what stepping CartPole-v1 costs with no learning;
* ``cartpole-feedforward.cfg`` -- neat-python's config for every task (its XOR example's
  values, 4 inputs and 2 outputs);
* ``neat_activate_workload.json`` -- the 10 networks the activation benchmark runs, with
  neat-python's outputs on 32 inputs (regenerate: ``bench_activate.py --write-workload``).

Nothing here imports ezspark or the harness: these modules are what each peer package does,
so that the ``bench_*.py`` scripts can time them next to ezspark in one process.
"""
