"""How the command line reports user mistakes: one ``Error:`` line per problem, exit code 2."""
from __future__ import annotations

import contextlib
import sys

import click

from ezspark.config.training import ConfigError
from ezspark.distributed import CredentialsError, DistributedError, JoinError
from ezspark.evaluation.contract import EvaluationError
from ezspark.evaluation.envs import EnvError
from ezspark.store.runfile import StoreError

__all__ = ["USER_ERRORS", "UserError", "user_errors"]

#: Exceptions that mean "the user's input is wrong": exit code 2.
USER_ERRORS = (ConfigError, EnvError, StoreError, EvaluationError, CredentialsError,
               DistributedError, JoinError)


class UserError(click.ClickException):
    """One or more lines of explanation, exit code 2."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)

    def show(self, file=None):
        file = file or sys.stderr
        for line in str(self.message).splitlines() or [""]:
            click.echo(f"Error: {line}", file=file)


@contextlib.contextmanager
def user_errors(prefix: str = ""):
    """Turn ezspark's user-mistake exceptions into a clean exit with code 2."""
    try:
        yield
    except USER_ERRORS as exc:
        text = str(exc)
        if prefix:
            text = "\n".join(f"{prefix}{line}" for line in text.splitlines())
        raise UserError(text) from None
