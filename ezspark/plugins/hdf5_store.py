"""Built-in reporter: the run store, ``run.h5`` (history rows and champions).

Active for runs with an output file (``run.out``).  The file is created when the run
starts (an existing one is refused unless the run may overwrite it; a resumed run's is
trimmed to its checkpoint), rows and champions are added as generations end and appended
to the file in place (see ``ezspark.RunStore``): at most every 2 seconds, before every
checkpoint, and at the end; so are whole populations in runs that store them
(``save_population``).  The file says "running" until the run ends, then how it
ended.  Blocking the plugin name ``ezspark.plugins.hdf5_store`` leaves runs without a
run.h5.
"""
from __future__ import annotations

from ezspark import RunStore, hookimpl

_stores: dict[int, RunStore] = {}


@hookimpl
def ezspark_run_start(run):
    if run.out is None:
        return
    if run.resumed:
        _stores[id(run)] = RunStore.reopen(run.out, keep_below=run.start_generation,
                                          cfg=run.config,
                                          save_population=run.save_population)
    else:
        _stores[id(run)] = RunStore.create(run.out.parent, run.config, run.seed, run.env_id,
                                           overwrite=run.overwrite,
                                           save_population=run.save_population,
                                           actions=getattr(run, "actions", None))


@hookimpl
def ezspark_checkpoint(run, generation):
    store = _stores.get(id(run))
    if store is not None:
        store.flush(sync=True)   # run.h5 on disk before the checkpoint that relies on it


@hookimpl
def ezspark_generation_start(run, generation, population):
    store = _stores.get(id(run))
    if store is not None:
        store.maybe_flush()      # the previous generation is complete: row and champion


@hookimpl
def ezspark_generation_end(run, stats):
    store = _stores.get(id(run))
    if store is not None:
        store.add_row(stats)


@hookimpl
def ezspark_new_champion(run, champion):
    store = _stores.get(id(run))
    if store is not None:
        store.add_champion(champion)


@hookimpl
def ezspark_population(run, generation, population, fitness, species):
    store = _stores.get(id(run))
    if store is not None:
        store.add_population(generation, population, fitness, species,
                             run.config.network_inputs, run.config.output_size)


@hookimpl
def ezspark_run_end(run, result):
    store = _stores.pop(id(run), None)
    if store is not None:
        store.close(result)
