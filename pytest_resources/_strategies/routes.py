"""Where a field sits, and the call that overrides it: what every error message of the
strategies names, so that a field reached through nested classes is fixed from the user's call."""

import keyword
from dataclasses import dataclass, replace

import dagster as dg
from hypothesis.errors import InvalidArgument

_FILL_IN = "<a value or strategy>"


def kwarg(key: str, value: str) -> str:
    """``key=value`` as the user would type it; aliases need not be identifiers."""
    if key.isidentifier() and not keyword.iskeyword(key):
        return f"{key}={value}"
    return f"**{{{key!r}: {value}}}"


@dataclass(frozen=True)
class Step:
    owner: type[dg.Config]
    key: str
    # How the strategy for the next class is passed for this field, "{}" standing for it,
    # e.g. "st.lists({})" for a list[Inner] field.
    wrapper: str


@dataclass(frozen=True)
class Route:
    """How the user's call reaches a class: the entry point and the fields passed through."""

    entry_point: str
    steps: tuple[Step, ...] = ()

    def through(self, owner: type[dg.Config], key: str, wrapper: str) -> "Route":
        return Route(self.entry_point, (*self.steps, Step(owner, key, wrapper)))

    def describe(self, owner: type[dg.Config], key: str) -> str:
        path = "".join(f"{step.owner.__name__}.{step.key} -> " for step in self.steps)
        reached = f" (reached through {path}{owner.__name__})" if self.steps else ""
        return f"field {key!r} of {owner.__name__}{reached}"

    def fix(self, owner: type[dg.Config], key: str) -> str:
        """The call that overrides ``key`` of ``owner``, starting from the user's own call."""
        argument = kwarg(key, _FILL_IN)
        classes = [*(step.owner for step in self.steps), owner]
        for step, inner in reversed(list(zip(self.steps, classes[1:], strict=True))):
            call = f"resource_instances({inner.__name__}, {argument})"
            argument = kwarg(step.key, step.wrapper.format(call))
        top = self.steps[0].owner if self.steps else owner
        return f"{self.entry_point}({top.__name__}, {argument})"


@dataclass(frozen=True)
class Site:
    """The field whose strategy is being inferred, and where in its annotation we are."""

    route: Route
    owner: type[dg.Config]
    key: str
    wrapper: str = "{}"
    # Named like a file system path: its text is drawn as a safe relative name (path_names).
    path_like: bool = False

    def inside(self, wrapper: str) -> "Site":
        return replace(self, wrapper=self.wrapper.format(wrapper))

    def route_into(self) -> Route:
        return self.route.through(self.owner, self.key, self.wrapper)

    def cannot_infer(self, reason: str) -> InvalidArgument:
        return InvalidArgument(
            f"{self.route.describe(self.owner, self.key)} {reason}; pass a value: "
            f"{self.route.fix(self.owner, self.key)}"
        )


def field_names_by_key(cls: type[dg.Config]) -> dict[str, str]:
    """Each field's name, under its name and under its alias."""
    names = {}
    for name, info in cls.model_fields.items():
        names[name] = name
        if info.alias:
            names[info.alias] = name
    return names


def valid_names(cls: type[dg.Config]) -> str:
    if not cls.model_fields:
        return "it has no fields"
    return "valid names: " + ", ".join(
        f"{name!r} (alias {info.alias!r})" if info.alias else repr(name)
        for name, info in cls.model_fields.items()
    )
