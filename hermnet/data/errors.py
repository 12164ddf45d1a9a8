"""The one exception type raised for bad input data."""


class DataError(ValueError):
    """Input data is missing, malformed or inconsistent.

    Messages name where the data came from, what is wrong and how to fix it, because the
    person who sees them is usually looking at a dataset, not at this code. It subclasses
    ValueError so callers that already catch ValueError keep working.
    """
