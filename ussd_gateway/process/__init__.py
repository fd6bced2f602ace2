"""The process: command line, workers, logging, memory, demo data."""
