"""Plugin hooks of ezspark (pluggy project name ``"ezspark"``).

A plugin is a module or object with functions marked ``@ezspark.hookimpl`` whose names are
the hooks below.  Third-party packages declare an entry point in the group ``ezspark``::

    [project.entry-points.ezspark]
    myplugin = "mypackage.ezspark_plugin"

Reporter hooks run in the process that owns the run (the trainer), never on evaluation
workers, in the local and the distributed runs alike.  Their return values are ignored.
An exception raised by a reporter hook stops the run (after the state of the last finished
generation has been saved), because a silently broken reporter loses data.
"""
from __future__ import annotations

import pluggy

__all__ = ["hookspec", "hookimpl", "EzsparkSpec"]

hookspec = pluggy.HookspecMarker("ezspark")
hookimpl = pluggy.HookimplMarker("ezspark")


class EzsparkSpec:
    """Every hook ezspark calls."""

    @hookspec
    def ezspark_register_envs(self, register):
        """Add gymnasium environments.

        Called once, when the plugin manager is built, before any configuration is checked
        against an environment.  ``register(env_id, entry_point, **kwargs)`` takes the
        arguments of ``gymnasium.register`` (``entry_point`` is a ``"module:Class"`` string
        or a callable; ``kwargs`` include ``max_episode_steps`` and ``kwargs``).  Choose a
        namespaced id (``"mypackage/Maze-v0"``); registering an id that another plugin or
        gymnasium already has is an error naming both plugins.
        """

    @hookspec
    def ezspark_register_batched_envs(self, register):
        """Add batched versions of environments (docs/plugins.md, "Batched environments").

        Called once, when the plugin manager is built, after every ``ezspark_register_envs``.
        ``register(env_id, factory)``: ``factory(rows)`` (a class, a callable or a
        ``"module:attr"`` string) returns an ``ezspark.batched.BatchedEnv`` of ``rows`` rows
        that plays exactly what ``gymnasium.make(env_id)`` plays: the same observations,
        rewards and ends from the same reset seeds and actions, bit for bit.  Evaluation then
        steps every live game of ``env_id`` with one call (unless EZSPARK_NO_BATCHED_ENVS=1).
        ``env_id`` may be gymnasium's or another plugin's; a second registration for an id
        (a different factory) is skipped with a warning naming both plugins.
        """

    @hookspec
    def ezspark_register_commands(self, cli):
        """Add click commands: ``cli`` is the ``ezspark`` click group; call
        ``cli.add_command(...)``.  Called once when the command line starts."""

    @hookspec
    def ezspark_run_start(self, run):
        """A run begins (or resumes): the configuration is valid and the environment
        checked.  ``run`` is a frozen RunInfo with ``config``, ``seed``, ``out`` (the run.h5
        path or None), ``env_id``, ``generations`` (the most generations the run will
        evaluate), ``progress``, ``overwrite``, ``start_generation`` (0, or the
        generation a resumed run continues from) and ``resumed`` (the run continues from a
        checkpoint; a finished run that is extended reports its final generation again)."""

    @hookspec
    def ezspark_generation_start(self, run, generation, population):
        """Generation ``generation`` is about to be evaluated; it has ``population``
        genomes."""

    @hookspec
    def ezspark_genomes_evaluated(self, run, generation, done, total):
        """Progress within a generation: ``done`` of ``total`` genomes have their fitness.
        Called zero or more times per generation with increasing ``done``, the last time
        with ``done == total``."""

    @hookspec
    def ezspark_generation_end(self, run, stats):
        """Generation ``stats.generation`` is finished (evaluated and, unless it is the
        final one, reproduced).  ``stats`` is a frozen GenerationStats: one row of history."""

    @hookspec
    def ezspark_new_champion(self, run, champion):
        """A champion was stored (generation k with k mod ``saving`` = 0, and the final
        generation).  ``champion`` has ``generation``, ``fitness``, ``genome``, ``act()``
        and ``activate()``.  Called after ``ezspark_generation_end`` of that generation."""

    @hookspec
    def ezspark_population(self, run, generation, population, fitness, species):
        """The whole evaluated population of generation ``generation``, for runs that store
        populations: every ``run.save_population`` generations (those with generation mod
        save_population = 0; never when it is 0).  ``population`` is the generation's
        genomes (``population[i]`` is genome i, a Genome), ``fitness`` float64[P] their
        fitness, ``species`` int64[P] their species id (-1: none, as in the final
        generation, which is not speciated).  Called after ``ezspark_new_champion``; do not
        change the arrays."""

    @hookspec
    def ezspark_checkpoint(self, run, generation):
        """The trainer is about to write ``checkpoint.h5`` with the state after
        ``generation``.  Reporters that buffer must write everything up to and including
        that generation now: a resumed run continues from the checkpoint and assumes their
        files are at least that far (the run store truncates anything later on resume).
        Only runs with an output directory have checkpoints."""

    @hookspec
    def ezspark_run_end(self, run, result):
        """The run ended normally or was interrupted; ``result`` is the RunResult
        (``result.stopped`` says why)."""
