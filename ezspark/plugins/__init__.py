"""Built-in plugins.  Each is written exactly as a third-party plugin would be: it imports
only public names from ``ezspark`` and acts only through hooks."""
