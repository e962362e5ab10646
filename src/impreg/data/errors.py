"""Errors of the image-data loaders (all ``impreg.io.DataFileError``), apart so that every loader module
can raise them without importing another loader."""

from __future__ import annotations

from impreg.io import DataFileError


class DatasetMissingError(DataFileError):
    """Dataset files are absent and could not (or may not) be downloaded."""


class ChecksumMismatchError(DataFileError):
    """A dataset file is present but its MD5 differs from the published one (truncated or corrupted)."""


class CorruptDatasetError(DataFileError):
    """A dataset file without a published checksum is structurally invalid (e.g. truncated)."""


class StandInDataError(DataFileError):
    """The data folder holds generated stand-in files, and stand-in data was not allowed."""
