"""Experiments that compare scratch with torch and write reports (``python -m experiments``)."""
