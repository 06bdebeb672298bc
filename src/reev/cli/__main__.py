"""`python -m reev.cli …`: the execution manager starts runs this way."""

from reev.cli import app

app()
