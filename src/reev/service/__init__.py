"""The REST API and the execution manager behind `reev serve`."""
