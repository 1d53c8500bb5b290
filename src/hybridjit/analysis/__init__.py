"""Pure analyses of the typed IR (no compiling, no global state).

Contract: every function here takes IR nodes (and plain values) and returns
a frozen result or a new IR tree; nothing is mutated and nothing is cached.

- :mod:`.scalars`    scalar locals of a loop: private, reduction, carried
- :mod:`.affine`     integer index expressions as affine forms
- :mod:`.dependence` does a loop carry a dependence through array memory?
- :mod:`.footprint`  which part of each array a parallel region reads/writes
- :mod:`.ranges`     which subscripts are provably >= 0 (clears ``wrap`` flags)
"""
