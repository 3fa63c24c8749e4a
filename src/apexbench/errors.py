"""User-facing errors: each carries one line that says what is wrong and how to fix it."""


class ApexbenchError(Exception):
    """Base class for errors shown to the user as a single line (no traceback)."""

    def one_line(self) -> str:
        return " ".join(str(self).split())


class ConfigError(ApexbenchError):
    """The configuration file is invalid."""


class DatasetError(ApexbenchError):
    """A dataset table or folder cannot be read at all (row-level problems are rejections)."""


class ModelUnavailableError(ApexbenchError):
    """A weight file could not be resolved locally, from the mirror, or by download."""


class ChecksumError(ModelUnavailableError):
    """A weight file's sha256 differs from the registry's."""
