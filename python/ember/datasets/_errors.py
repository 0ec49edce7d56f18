"""The one error every loader raises when its files are not on this machine."""

from __future__ import annotations


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are missing; the message says which command installs them.

    It subclasses FileNotFoundError so code that already handles missing files keeps working,
    and carries the data set's name, the path that was looked at and the install command as
    attributes, so a CLI can print them without parsing the message.
    """

    def __init__(self, name: str, where: str, install: str, detail: str = "") -> None:
        self.name = name
        self.where = where
        self.install = install
        self.detail = detail
        msg = f"data set {name!r} not found at {where}"
        if detail:
            msg += f" ({detail})"
        msg += f". Install it with: {install}"
        super().__init__(msg)


    def __reduce__(self):
        # The default would call __init__(message) alone; keep the fields through pickling
        # (multiprocessing data-loader workers send exceptions back to the parent).
        return type(self), (self.name, self.where, self.install, self.detail)
