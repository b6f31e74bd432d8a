"""SOS Children's Villages Latvia: family support centres' reporting warehouse."""
__version__ = "0.1.0"
