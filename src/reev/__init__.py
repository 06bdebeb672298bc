"""reev: reproducible evaluation of LLM agents that act on Solana."""

__version__ = "0.1.0"
