"""hybridjit's seeded random-program differential fuzzer.

``python -m fuzz --programs N --seed S --jobs J`` generates N random Python
functions inside hybridjit's documented subset (:mod:`fuzz.gen`), runs each
under CPython (the oracle, :mod:`fuzz.oracle`) and compiled under several
configurations in worker processes (:mod:`fuzz.worker`, :mod:`fuzz.pool`),
compares them strictly (:mod:`fuzz.compare`), minimises failures
(:mod:`fuzz.minimise`) and writes standalone repros (:mod:`fuzz.repro`).
See README.md, "Fuzzing".
"""
