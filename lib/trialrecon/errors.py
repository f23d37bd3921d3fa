"""The one exception type for mistakes a user can make in their inputs."""

from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """Bad input: names where the problem is and what to do about it.

    Parameters
    ----------
    message
        What is wrong, in one sentence.
    file
        The file the input came from, if any.
    row
        Row number (1-based, counting the header as row 1 for CSV files) or the record
        (for example an analysis id) that holds the problem.
    column
        Column or field name.
    advice
        What the user should do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike[str] | None = None,
        row: int | str | None = None,
        column: str | None = None,
        advice: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.advice = advice
        super().__init__(self.__str__())

    def located(self, file: str | PathLike[str]) -> InputError:
        """The same error, said of ``file`` (for a caller that knows where the input came
        from when the code that found the problem did not)."""
        return InputError(self.message, file=file, row=self.row, column=self.column,
                          advice=self.advice)

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}" if isinstance(self.row, int) else str(self.row))
        if self.column:
            where.append(f"column '{self.column}'" if self.file and self.file.endswith(".csv")
                         else f"field '{self.column}'")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.advice:
            text += f" ({self.advice})"
        return text
