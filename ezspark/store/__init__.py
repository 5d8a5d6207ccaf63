"""The run store: run.h5, checkpoint.h5, history rows and exported champions."""
