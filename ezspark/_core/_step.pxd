# Lockstep environment stepping for ezspark.evaluation.local.EnvEvaluator
# (docs/algorithm.md 6.1, 6.3).
#
# One call steps rows 0 ... n-1 of a batch once: row r calls steps[r](table[actions[r]]),
# unpacks (obs, reward, terminated, truncated, info), adds float(reward) to ret[r] (reward
# below floor: state[1] += 1 and low[0] = min(low[0], reward)), increments length[r], and
#   - if terminated or truncated or length[r] >= cap[r]: appends r to finished (in row order);
#   - otherwise copies obs into X[r]: directly when obs is exactly a C-contiguous, aligned
#     float32 or float64 ndarray of X.shape[1] values in native byte order, else through
#     put(r, obs) (which converts or raises; e.g. big-endian '>f8' on a little-endian machine);
#     then, if X[r] holds a NaN or infinity and state[2] < 0, state[2] = r.
# Bookkeeping for errors: state[0] = the row being stepped, state[3] = 0 while calling
# steps[r] or unpacking its result, 1 while calling put.  An exception from either
# propagates unchanged (rows before r are fully done).  Returns the number of finished rows.
#
# tally_rows(n, reward, terminated, X, ret, length, cap, floor, finished, state, low) is the
# same bookkeeping for rows 0 ... n-1 that a batched environment has stepped with one call
# (ezspark.evaluation.batched): reward float64[>= n], terminated uint8[>= n] (a bool array's
# uint8 view) and the observations already in X.  Row r adds reward[r] to ret[r] (below floor:
# state[1] += 1, low[0] = min(low[0], reward[r])), increments length[r], and is appended to
# finished when terminated[r] or length[r] >= cap[r]; otherwise, if X[r] holds a NaN or
# infinity and state[2] < 0, state[2] = r.  state[0] and state[3] are not used.  Returns the
# number of finished rows.
# _step_py.py is the pure-Python twin with the same signatures.
