"""Options shared by several commands, declared once."""
import click

seed = click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
                    help="Run seed (default: the config's seed, else a fresh one, recorded).")
json_output = click.option("--json", "as_json", is_flag=True,
                           help="Print one JSON object instead of text.")


class ChampionChoice(click.ParamType):
    """A stored champion: ``best`` (the best validation score), ``last`` (the newest) or a
    generation number."""

    name = "best|last|G"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value in ("best", "last"):
            return value
        text = str(value).strip().lower()
        if text in ("best", "last"):
            return text
        try:
            number = int(text)
        except ValueError:
            number = -1
        if number < 0:
            self.fail(f"{value!r} is not a champion: give best, last or a generation number "
                      "(0 or more)", param, ctx)
        return number


generation = click.option(
    "--generation", "-g", "generation", type=ChampionChoice(), default="best",
    show_default=True,
    help="Which stored champion: best (best validation score; the newest when none was "
         "validated), last (the newest) or a generation number.")
run_file = click.argument("run_file", metavar="RUN.h5", type=click.Path(dir_okay=True))
config_file = click.argument("config_file", metavar="CONFIG.json", type=click.Path())
quiet = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary lines.")
