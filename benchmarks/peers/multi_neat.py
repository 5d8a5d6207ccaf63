"""MultiNEAT 0.12 on the benchmarks' tasks.

PyPI ``multineat`` 0.12 is the ci-group/MultiNEAT fork with pybind11 bindings (module
``multineat``).  Its networks take one **bias input** fixed at 1.0 (``Activate()`` has no
per-node bias) and its ``Activate()`` is one synchronous propagation step: a loop-free
network needs D = depth steps for the exact feed-forward output (``ff_depth``).

* settings: ``xor_params`` (the package's own plain-NEAT XOR test) and ``grow_params``;
* activation: ``net_from_neat`` copies a neat-python network link by link;
* CartPole-v1: ``mn_run``, the task of ``neat_python`` (same env, episode seeds, solve test);
* bookkeeping: ``mn_pass``, ``Population.Epoch()`` timed under a cheap growth fitness.
"""
import random
import statistics
import time

import multineat as NEAT

from . import neat_python as npy

US = NEAT.ActivationFunction.UNSIGNED_SIGMOID


def xor_params(pop=150):
    """The parameter block of tests/python/test_xor.py in ci-group/MultiNEAT at the 0.12
    release (commit 9009d53) -- the test the package ships for plain NEAT on XOR -- with
    PopulationSize ``pop`` (150 to match neat-python's example).  Notable: one mutation per
    offspring (roulette over mutation types), CrossoverRate 0, SurvivalRate 0.2, a dynamic
    compatibility threshold aiming at 2 to 10 species, unsigned sigmoid with slope 4.9
    everywhere, AllowLoops False (feed-forward)."""
    p = NEAT.Parameters()
    values = dict(
        PopulationSize=pop, DynamicCompatibility=True, NormalizeGenomeSize=True,
        WeightDiffCoeff=0.1, CompatTreshold=2.0, YoungAgeTreshold=15, SpeciesDropoffAge=15,
        OldAgeTreshold=35, MinSpecies=2, MaxSpecies=10, RouletteWheelSelection=False,
        RecurrentProb=0.0, OverallMutationRate=1.0, ArchiveEnforcement=False,
        MutateWeightsProb=0.05, WeightMutationMaxPower=0.5, WeightReplacementMaxPower=8.0,
        MutateWeightsSevereProb=0.0, WeightMutationRate=0.25, WeightReplacementRate=0.9,
        MaxWeight=8, MutateAddNeuronProb=0.001, MutateAddLinkProb=0.3, MutateRemLinkProb=0.0,
        MinActivationA=4.9, MaxActivationA=4.9, ActivationFunction_SignedSigmoid_Prob=0.0,
        ActivationFunction_UnsignedSigmoid_Prob=1.0, ActivationFunction_Tanh_Prob=0.0,
        ActivationFunction_SignedStep_Prob=0.0, CrossoverRate=0.0, MultipointCrossoverRate=0.0,
        SurvivalRate=0.2, MutateNeuronTraitsProb=0, MutateLinkTraitsProb=0, AllowLoops=False,
        AllowClones=True)
    for k, v in values.items():
        setattr(p, k, v)
    return p


# The bookkeeping benchmark needs genomes that grow: its structural mix, everything else as
# xor_params.  MultiNEAT applies exactly ONE mutation per offspring, chosen by roulette.
GROW_MIX = {"MutateAddNeuronProb": 0.2, "MutateAddLinkProb": 0.5, "MutateRemLinkProb": 0.0,
            "MutateRemSimpleNeuronProb": 0.0, "MutateWeightsProb": 0.3}


def grow_params(pop):
    p = xor_params(pop)
    for k, v in GROW_MIX.items():
        setattr(p, k, v)
    return p


def new_genome(n_inputs_incl_bias, n_outputs, params):
    """Fully connected start genome (inputs incl. the bias input -> outputs), unsigned sigmoid
    outputs and hidden neurons, as in MultiNEAT's XOR test."""
    return NEAT.Genome(0, n_inputs_incl_bias, 0, n_outputs, False, US, US, 0, params, 0)


def genome_list(pop):
    return [g for s in pop.Species for g in s.Individuals]


# ---- networks --------------------------------------------------------------------------------

def _topological_order(n, succ, indeg):
    indeg = list(indeg)
    order = [i for i in range(n) if indeg[i] == 0]
    k = 0
    while k < len(order):
        u = order[k]
        k += 1
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                order.append(v)
    if len(order) != n:
        raise ValueError("network has a cycle")
    return order


def ff_depth(net):
    """Number of synchronous ``Activate()`` steps after which every output of a loop-free
    ``NeuralNetwork`` holds its exact feed-forward value, whatever the previous state: the
    longest path (in links) ending at an output, a non-input neuron without inputs counting
    as 1.  MultiNEAT's ``ActivateAllLayers()`` re-derives a depth on every call by enumerating
    all input -> output paths (> 10^7 on the big workload networks), hence this, once per
    network."""
    n = len(net.neurons)
    n_in = net.NumInputs()
    preds = [[] for _ in range(n)]
    succ = [[] for _ in range(n)]
    indeg = [0] * n
    for c in net.connections:
        s, t = c.source_neuron_idx, c.target_neuron_idx
        preds[t].append(s)
        succ[s].append(t)
        indeg[t] += 1
    depth = [0] * n
    for u in _topological_order(n, succ, indeg):
        if u >= n_in:
            depth[u] = max([1] + [depth[p] + 1 for p in preds[u]])
    return max(depth[n_in + i] for i in range(net.NumOutputs()))


def net_from_neat(net_np):
    """A MultiNEAT ``NeuralNetwork`` computing what a neat-python ``FeedForwardNetwork``
    computes: same links, slope a = 5 x response and shift b = 5 x bias per neuron, so that
    the unsigned sigmoid is neat-python's sigmoid(5 (bias + response sum))."""
    n_in, n_out = len(net_np.input_nodes), len(net_np.output_nodes)
    idx = {k: i for i, k in enumerate(net_np.input_nodes)}
    idx.update({k: n_in + j for j, k in enumerate(net_np.output_nodes)})
    for node, *_ in net_np.node_evals:
        idx.setdefault(node, len(idx))
    evals = {node: (bias, resp) for node, act, agg, bias, resp, links in net_np.node_evals}
    net = NEAT.NeuralNetwork()
    net.SetInputOutputDimentions(n_in, n_out)
    for k, i in sorted(idx.items(), key=lambda kv: kv[1]):
        n = NEAT.Neuron()
        n.activation_function_type = US
        if i < n_in:
            n.type = NEAT.NeuronType.INPUT
            n.a, n.b = 0.0, 0.0
        else:
            n.type = NEAT.NeuronType.OUTPUT if i < n_in + n_out else NEAT.NeuronType.HIDDEN
            bias, resp = evals.get(k, (0.0, 1.0))
            n.a, n.b = 5.0 * resp, 5.0 * bias
        net.AddNeuron(n)
    for node, act, agg, bias, resp, links in net_np.node_evals:
        for src, w in links:
            c = NEAT.Connection()
            c.source_neuron_idx = idx[src]
            c.target_neuron_idx = idx[node]
            c.weight = w
            net.AddConnection(c)
    net.Flush()
    return net


# ---- CartPole-v1 task (neat_python's: same env object, episode seeds and solve test) ----------

def mn_episodes(net, depth, seeds):
    """Total reward; per step Input(obs + [1.0]), ``depth`` x Activate(), Output(), argmax."""
    env = npy.get_env()
    step = env.step
    inp, out, act = net.Input, net.Output, net.Activate
    rs = range(depth)
    total = 0.0
    for s in seeds:
        obs, _ = env.reset(seed=s)
        while True:
            inp(obs.tolist() + [1.0])
            for _ in rs:
                act()
            o = out()
            obs, r, term, trunc, _ = step(0 if o[0] >= o[1] else 1)
            total += r
            if term or trunc:
                break
    return total


def mn_build(genome):
    net = NEAT.NeuralNetwork()
    genome.BuildPhenotype(net)
    return net, ff_depth(net)


def _evaluate_generation(pop, seed):
    """Fitness of every genome of ``pop`` (set on the genomes); returns (genomes, fitness)."""
    gl = genome_list(pop)
    fits = []
    for x in gl:
        net, depth = mn_build(x)
        f = mn_episodes(net, depth, npy.episode_seeds(seed, x.GetID())) / npy.EPISODES
        x.SetFitness(f)
        x.SetEvaluated()
        fits.append(f)
    return gl, fits


def mn_run(seed, max_gens, params):
    """One run of the CartPole-v1 task: 4 + bias inputs -> 2 outputs, start fully connected."""
    pc = time.perf_counter
    t0 = pc()
    pop = NEAT.Population(new_genome(5, 2, params), params, True, 1.0, seed)
    pop.RNG.Seed(seed)
    eval_s = epoch_s = val_s = 0.0
    train_steps = val_steps = 0
    validated, rows = {}, []
    solved_by = None
    for gen in range(max_gens):
        te = pc()
        gl, fits = _evaluate_generation(pop, seed)
        dt = pc() - te
        eval_s += dt
        steps = int(round(sum(fits) * npy.EPISODES))
        train_steps += steps
        bi = max(range(len(fits)), key=fits.__getitem__)
        row = {"gen": gen, "eval_s": round(dt, 4), "steps": steps, "best": fits[bi], "species": len(pop.Species)}
        rows.append(row)
        if fits[bi] >= npy.SOLVE_THRESHOLD:
            key = gl[bi].GetID()
            if key not in validated:
                tv = pc()
                net, depth = mn_build(gl[bi])
                tot = mn_episodes(net, depth, npy.validation_seeds(seed, key))
                val_steps += int(tot)
                validated[key] = tot / npy.VALIDATION_EPISODES
                val_s += pc() - tv
                row["validated"] = {"genome": key, "mean": validated[key]}
            if validated[key] >= npy.SOLVE_THRESHOLD:
                solved_by = (key, validated[key], gl[bi].NumNeurons(), gl[bi].NumLinks())
                break
        tp = pc()
        pop.Epoch()
        epoch_s += pc() - tp
    return {"seed": seed, "lib": "multineat", "solved": solved_by is not None, "generations": len(rows),
            "train_steps": train_steps, "validation_steps": val_steps, "validations": len(validated),
            "wall_s": round(pc() - t0, 3), "eval_s": round(eval_s, 3), "epoch_s": round(epoch_s, 3),
            "validation_s": round(val_s, 3),
            "train_steps_per_s_eval": round(train_steps / eval_s, 1) if eval_s else None,
            "solved_by": solved_by, "per_gen": rows}


# ---- bookkeeping ------------------------------------------------------------------------------

def mn_pass(pop_size, gens, seed, budget_s=None):
    """``gens`` generations of ``Population.Epoch()`` (speciation, stagnation, selection,
    mutation: all C++) under neat_python.one_pass's cheap fitness: links + N(0, 0.5) from a
    separate RNG (MultiNEAT has no disabled links; bias-input links count).  Stops early once
    the Epoch seconds pass ``budget_s``.  Returns (init seconds, one row per generation)."""
    pc = time.perf_counter
    params = grow_params(pop_size)
    t0 = pc()
    pop = NEAT.Population(new_genome(5, 2, params), params, True, 1.0, seed)
    pop.RNG.Seed(seed)
    init_s = pc() - t0
    noise = random.Random(seed + 1_000_003)
    rows = []
    spent = 0.0
    for gen in range(gens):
        te = pc()
        for x in genome_list(pop):
            x.SetFitness(x.NumLinks() + noise.gauss(0.0, 0.5))
            x.SetEvaluated()
        ev = pc() - te
        tp = pc()
        pop.Epoch()
        ep = pc() - tp
        spent += ep
        gl = genome_list(pop)
        links = [x.NumLinks() for x in gl]
        rows.append({"gen": gen, "epoch_s": ep, "eval_s": ev, "pop": len(gl),
                     "us_per_offspring": 1e6 * ep / len(gl), "species": len(pop.Species),
                     "mean_links": statistics.fmean(links), "max_links": max(links),
                     "mean_neurons": statistics.fmean(x.NumNeurons() for x in gl)})
        if budget_s is not None and spent > budget_s:
            break
    return init_s, rows
