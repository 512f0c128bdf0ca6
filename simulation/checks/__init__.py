"""Checks of the model against published results (`validation`), calibration to measured shares of time
(`calibration`) and the memory a scenario needs (`resources`)."""
