"""The config's error: a module of its own, light, so that what only reports one need not load the model."""


class ConfigError(ValueError):
    """A user's mistake in a config: the message names the key and what is allowed."""
