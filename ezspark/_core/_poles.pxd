# Batched steps of ezspark's pole-balancing environments for ezspark.batched.poles
# (docs/poles.md; docs/decisions.md "Batched environments").
#
# poles_step(n, state, actions, obs, reward, terminated, balanced, f2, window, poles,
#            velocities, damping, cart_friction, hinge_friction) steps rows 0 ... n-1 once,
# exactly as ezspark.poles.PoleBalancingEnv.step advances one instance:
#
#   state     float64[R, 2 poles + 2]: x, x', theta1, theta1'[, theta2, theta2'], in place
#   actions   float32[>= n]: row r's action, clipped to [-1, 1] in float64 (a NaN is refused)
#   obs       float64[R, k]: the float32 values of the state divided by (4.8, 2, 0.52, 2, 0.52,
#             2), every variable (velocities) or x, theta1[, theta2] only (k = poles + 1)
#   reward    float64[R]: 0 for the failing step; else 1, or with damping the change of
#             Gruau's fitness (0.1 / 1000 + 0.9 (f2 - f2 of the previous step))
#   terminated uint8[R]: 1 when the cart left the track or a pole fell (the step's end state)
#   balanced  int64[R], f2 float64[R], window float64[R, 100]: each row's balanced steps,
#             damping term and window of |x| + |x'| + |theta1| + |theta1'| (slot (t - 1) mod
#             100 for balanced step t); the caller zeroes them at a reset
#
# The force is 10 N times the action, held for two classical Runge-Kutta steps of 0.01 s of
# Wieland's equations with the frictions given (ezspark.poles' order of operations, libm's sin
# and cos as math.sin/math.cos); failure beyond 2.4 m or 12 degrees (one pole) / 36 degrees
# (two poles, either).  f2 = 0.75 / max(fsum(window), 1e-9) from the 100th balanced step on,
# else 0, where fsum is math.fsum's correctly rounded sum (CPython's algorithm; a window holding
# a NaN or infinity gives the plain sum of those, where math.fsum would raise).
# Errors (ValueError, before any row changes): poles not 1 or 2, wrong column counts, n beyond
# a row array, a NaN action.
# _poles_py.py is the numpy twin with the same signature and bits.
