"""``ezspark plot RUN.h5 [-o FILE.png]``: fitness and species curves and the champion network."""
from __future__ import annotations

from pathlib import Path

import click

from ezspark.cli import options
from ezspark.cli.errors import UserError, user_errors
from ezspark.cli.export import write_output
from ezspark.store.runfile import RunFile


@click.command("plot")
@options.run_file
@click.option("-o", "--output", metavar="FILE.png", type=click.Path(dir_okay=False),
              help="Image to write (default: the run file with suffix .png, e.g. run.png "
                   "next to run.h5). The suffix picks the format: .png, .svg, .pdf, ….")
@options.generation
@click.option("--dpi", type=click.IntRange(20, 1200), default=100, show_default=True,
              help="Resolution of the image, in dots per inch.")
def command(run_file, output, generation, dpi):
    """Plot best and mean fitness, species and population per generation, and draw a
    stored champion's network (the best validated one, or --generation)."""
    try:
        import matplotlib  # noqa: F401  (the optional "plot" extra)
    except ImportError:
        raise UserError('plot needs matplotlib: pip install "ezspark[plot]"') from None
    # deferred: matplotlib is an optional extra, and plotting imports it at its top
    from ezspark.cli import plotting

    formats = plotting.image_formats()
    if output is not None:
        fmt = Path(output).suffix[1:].lower() or "png"
        if fmt not in formats:
            raise click.BadParameter(f"unknown image format {fmt!r} (use one of "
                                     f"{', '.join(sorted(formats))})", param_hint="'-o'")
    with user_errors():
        run = RunFile.open(run_file)
        figure = plotting.run_figure(run, generation)
    path = Path(output) if output is not None else run.path.with_suffix(".png")
    fmt = path.suffix[1:].lower() or "png"
    write_output(path, plotting.render(figure, fmt, dpi))
    click.echo(str(path))
