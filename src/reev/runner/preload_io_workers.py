"""Preloaded by the forkserver of workers that run model-waiting episodes (an LLM or a
command agent): IO_SLOTS_PER_PROCESS episodes at once each, so as many VMs (reev.runner.warm)."""

from reev.runner.warm import warm_process
from reev.runner.workers import IO_SLOTS_PER_PROCESS

warm_process(vms=IO_SLOTS_PER_PROCESS, model_client=True)
