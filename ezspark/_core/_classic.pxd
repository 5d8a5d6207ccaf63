# Batched steps of gymnasium's classic-control environments for ezspark.batched.classic
# (docs/algorithm.md 6, docs/decisions.md "Batched environments").
#
# Each function steps rows 0 ... n-1 of a batch once, exactly as gymnasium's own step of
# that environment (gymnasium 1.x, default constructor arguments) advances one instance:
#
#   cartpole_step     CartPoleEnv     state float64[R, 4] (x, x', theta, theta'), actions int64 0/1
#   acrobot_step      AcrobotEnv      state float64[R, 4] (theta1, theta2, theta1', theta2'),
#                                     actions int64 0/1/2 (torque -1, 0, +1)
#   mountaincar_step  MountainCarEnv  state float64[R, 2] (position, velocity), actions int64 0/1/2
#   pendulum_step     PendulumEnv     state float64[R, 2] (theta, theta'), actions float32[>= n]
#                                     (the torque; clipped to [-2, 2] in float32 as gymnasium does)
#
# Signature: f(n, state, actions, obs, reward, terminated).  Row r's state is updated in place;
# obs[r] (float64[R, observation size]) gets the observation's float32 values, reward[r]
# (float64) the step's reward, terminated[r] (uint8; callers pass a bool array's uint8 view)
# 1 when the episode terminated.  Rows n ... R-1 are not touched.  Time limits are the
# caller's: these functions never truncate.
#
# Bit-identity with gymnasium: every float64 operation of gymnasium's step is done in the same
# order (no reassociation; the build has -ffp-contract=off, so no fused multiply-add), and the
# functions gymnasium calls on scalars are called here: libm's sin and cos (numpy's float64
# sin/cos and math.sin/math.cos are libm's), pow(x, 2.0) for `x ** 2` of a numpy float64 and
# powf(x, 2.0f) for a float32 (neither is always x * x rounded), numpy's float64 remainder
# (fmod, then the divisor's sign).  Pendulum's float32 terms (0.001 * u ** 2 and 3.0 * u) are
# float32 products, as numpy computes a Python float times a float32.  ez_classic.h reaches
# the libm functions through volatile pointers so that the compiler neither turns pow(x, 2.0)
# into x * x nor fuses sin and cos into sincos.
#
# Errors (ValueError, before any row changes): n < 0 or n beyond a row array, a state or obs
# with the wrong number of columns, a discrete action outside the action space.
# _classic_py.py is the numpy twin with the same signatures and bits.
#
# seeded_uniform(rows, seeds, low, high, out): the resets' first states.  out[rows[j], :k]
# (k = len(low); float64[R, >= k]) = np.random.Generator(PCG64(SeedSequence(seeds[j])))
# .uniform(low, high), i.e. gymnasium's np_random(seed).uniform(low, high): low[i] +
# (high[i] - low[i]) * random(), drawn in order.  numpy's SeedSequence (pool of 4 words,
# entropy = the seed's 32-bit words), PCG64 (XSL RR 128/64, seeded from 4 generated uint64)
# and random() ((next64 >> 11) * 2**-53) are reproduced in ez_classic.h; the twin calls
# numpy's own.  rows int64, seeds int64 in 0 ... 2**63-1 (ValueError otherwise, before any
# row changes, as for a row outside out or arrays of different lengths).
