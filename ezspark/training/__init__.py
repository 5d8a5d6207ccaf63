"""The generation loop behind ezspark.train."""
