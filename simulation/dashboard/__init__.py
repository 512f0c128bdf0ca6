"""The classroom dashboard (Mesa SolaraViz): `app` is the page `run.py serve` runs; nothing imports it."""
