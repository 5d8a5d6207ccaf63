"""Options shared by several commands, declared once."""
import click

seed = click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
                    help="Run seed (default: the config's seed, else a fresh one, recorded).")
json_output = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON object instead of text.")
generation = click.option("--generation", "-g", type=click.IntRange(0), default=None,
                          help="Generation of the stored champion (default: the newest).")
run_file = click.argument("run_file", metavar="RUN.h5", type=click.Path(dir_okay=True))
config_file = click.argument("config_file", metavar="CONFIG.json", type=click.Path())
quiet = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary lines.")
