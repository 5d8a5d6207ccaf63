"""The NEAT engine: genomes, the population, the innovation registry, one generation of evolution."""
