"""Values of the wrong type and the fields to put them in: the common ground of the properties that a
hostile document is refused naming the field, or judged (test_shapes.py, artifacts/test_wrong_types.py)."""
import copy

WRONG = [7, -1, 3.5, 1e309, True, None, "", "x", [], [1, "a"], [None], [{}], {}, {"a": 1}]


def field_paths(value, path=()):
    """The path of every field and list element under `value` (itself first, as ())."""
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from field_paths(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from field_paths(inner, (*path, i))


def with_field(document, path: tuple, value):
    """A copy of `document` with the field at `path` set to `value`."""
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed
