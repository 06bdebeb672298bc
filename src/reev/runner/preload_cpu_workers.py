"""Preloaded by the forkserver of workers that run one CPU-bound episode at a time (the
deterministic agent): one VM each (reev.runner.warm)."""

from reev.runner.warm import warm_process

warm_process(vms=1, model_client=False)
