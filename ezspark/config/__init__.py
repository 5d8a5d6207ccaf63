"""The training configuration: the EzSpark keys, their checks, JSON and the key reference."""
