"""Benchmarks of the order pipeline (``python -m bench``; ``make bench``): synth, handler init, processor, local pipeline.

Not part of the test suite. Every figure is measured here, on this machine, with
``time.perf_counter`` and the kernel's resource usage of child processes
(``os.wait4``, the per-child form of ``resource.getrusage(RUSAGE_CHILDREN)``).
See bench/README.md for what each figure means.
"""
