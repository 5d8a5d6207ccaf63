"""XOR through the fitness-function API (docs/algorithm.md section 11).

    python examples/xor.py            # one run, seed 0
    python examples/xor.py --seeds 10 # solve rate over seeds 0..9

The config is the docs example with input_size 2, output_size 1, species_threshold 2.0,
fitness_threshold 3.9 and at most 500 generations; no environment is needed.
"""
import argparse
import time

import numpy as np

import ezspark

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def xor_fitness(nets):
    """4 - sum of squared errors over the four cases, for every genome at once."""
    out = nets.activate(X)                      # (P, 4, 1): one kernel call for all
    return 4.0 - ((out[:, :, 0] - Y) ** 2).sum(axis=1)


def xor_config(**overrides):
    keys = ezspark.TrainingConfig.docs_example().to_dict()
    keys.update(gym_game_name=None, input_size=2, output_size=1, species_threshold=2.0,
                fitness_threshold=3.9, generations=500)
    keys.update(overrides)
    return ezspark.TrainingConfig.from_dict(keys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds, from 0")
    args = parser.parse_args()
    cfg = xor_config()
    solved = 0
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        result = ezspark.train(cfg, fitness=xor_fitness, seed=seed)
        best = result.history[-1].best_fitness
        evaluations = sum(h.evaluations for h in result.history)
        ok = best >= 3.9
        solved += ok
        print(f"seed {seed}: {'solved' if ok else 'not solved'} at generation "
              f"{result.generations - 1}, best fitness {best:.4f}, {evaluations} evaluations, "
              f"{time.perf_counter() - t0:.2f} s; champion {result.champion}")
        out = result.champion.activate(X)
        print("   outputs:", np.round(out[:, 0], 3).tolist())
    print(f"solved {solved}/{args.seeds}")


if __name__ == "__main__":
    main()
