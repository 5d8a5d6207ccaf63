"""The NEAT engine: genomes, the population, the innovation registry, one generation of
evolution (docs/algorithm.md 3 to 5)."""
