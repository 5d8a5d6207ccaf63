"""The version string, in a module of its own so that every part of ezspark can import it
without importing the package facade."""
__version__ = "0.1.0"
