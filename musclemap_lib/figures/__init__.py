"""Figures and tables for the book: display names, body map, plots, the deviations list."""
