"""Batch jobs: the KG build runner and the demo catalog generator."""
