"""Readable plain-numpy references of the model's rules, for tests that compare the engine with them."""
