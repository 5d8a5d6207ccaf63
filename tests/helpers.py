"""Shared helpers for CLI tests: XOR data, fitness, and the user-error assertion."""
import numpy as np

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
Y = np.array([0, 1, 1, 0])


def xor_fitness(nets):
    return 4 - ((nets.activate(X)[:, :, 0] - Y) ** 2).sum(axis=1)


def assert_user_error(result, *fragments):
    """Exit 2, exactly one ``Error:`` line naming every fragment, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in errors[0]
