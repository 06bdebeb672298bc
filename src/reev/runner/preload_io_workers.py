"""Preloaded by the forkserver of workers that run model-waiting episodes (an LLM or a
command agent): several episodes at once each, so IO_WARM_VMS prepared VMs (reev.runner.warm)."""

from reev.runner.warm import warm_process
from reev.runner.workers import IO_WARM_VMS

warm_process(vms=IO_WARM_VMS, model_client=True)
