"""The strategy for each field of one class: overrides by name or alias, inferred fields,
required vs defaulted, and what Dagster's schema says about them."""

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, get_args

import dagster as dg
import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument
from pydantic import create_model
from pydantic.fields import FieldInfo

from pytest_resources._strategies.constraints import NO_CONSTRAINTS
from pytest_resources._strategies.env import ENVIRON_TEXT
from pytest_resources._strategies.field_kinds import JSON_VALUES, infer
from pytest_resources._strategies.routes import (
    Route,
    Site,
    field_names_by_key,
    kwarg,
    valid_names,
)
from pytest_resources._strategies.scalars import is_path_like, path_names

if TYPE_CHECKING:
    from pytest_resources._dagster import DefinitionConfigSchema

# Instances of a nested class with some of its fields overridden (the plan of that class).
NestedInstances = Callable[[type[dg.Config], Mapping[str, Any], Site], st.SearchStrategy[Any]]


class FieldStrategies:
    """The strategies for one class's fields, and what a drawn config must leave out or keep."""

    def __init__(
        self,
        cls: type[dg.Config],
        overrides: Mapping[str, Any],
        route: Route,
        nested: NestedInstances,
        *,
        for_environ: bool = False,
    ) -> None:
        self.cls = cls
        overridden = _resolve_override_names(cls, overrides, route)
        self.schema = config_schema(cls, route)
        dagster_fields = getattr(self.schema.config_type, "fields", {})

        required: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        # Nested resources are not config: Dagster's schema omits them, and so must its check.
        self.resource_keys: set[str] = set()
        self.environ_kinds: dict[str, type] = {}
        # Keys overridden with plain values: a rejection of one of them is final.
        self.fixed_keys: set[str] = set()
        # Defaulted fields the strategies cannot infer: never drawn, they keep their default.
        self.defaults_kept: list[str] = []
        for name, info in cls.model_fields.items():
            key = info.alias or name
            dagster_field = dagster_fields.get(key)
            if dagster_field is None:
                self.resource_keys.add(key)
            # Only unconstrained fields: pydantic checks an EnvVar's name against the constraints.
            if for_environ and info.annotation in (str, int) and not info.metadata:
                self.environ_kinds[key] = str if info.annotation is str else int
            # Dagster 1.8 requires a discriminated union that has a default; pydantic does not.
            always_present = (
                name in overridden
                or info.is_required()
                or (dagster_field is not None and dagster_field.is_required)
            )
            site = Site(route, cls, key, path_like=is_path_like(name) or is_path_like(key))
            given = overridden.get(name, Ellipsis)
            strategy = self._strategy_for(info, site, given, nested, always_present=always_present)
            if strategy is None:
                continue
            (required if always_present else optional)[key] = strategy

        permissive = cls.model_config.get("extra") == "allow"
        fixed = st.fixed_dictionaries(required, optional=optional)
        self.configs = self._with_extras(fixed) if permissive else fixed
        # Hypothesis sees that there is nothing else to try and gives up with "Unsatisfiable",
        # which names no field: say which values were rejected instead.
        self.only_one_config = (
            not optional and not permissive and required.keys() <= self.fixed_keys
        )

    def _strategy_for(
        self,
        info: FieldInfo,
        site: Site,
        given: Any,
        nested: NestedInstances,
        *,
        always_present: bool,
    ) -> st.SearchStrategy[Any] | None:
        """The override, text that fits an environment variable, or the inferred strategy; None
        for a defaulted field whose strategy cannot be inferred."""
        if given is not Ellipsis:
            if isinstance(given, st.SearchStrategy):
                return given
            self.fixed_keys.add(site.key)
            return st.just(given)
        if self.environ_kinds.get(site.key) is str:
            return path_names(NO_CONSTRAINTS) if site.path_like else ENVIRON_TEXT
        try:
            return infer_field(info, site, nested)
        except InvalidArgument:
            if always_present:
                raise
            # Leaving a default out is always valid: the field keeps it.
            self.defaults_kept.append(site.key)
            return None

    def _with_extras(
        self, fixed: st.SearchStrategy[dict[str, Any]]
    ) -> st.SearchStrategy[dict[str, Any]]:
        """Permissive classes take undeclared keys too; avoid names the class already uses."""
        taken = set(field_names_by_key(self.cls)) | set(dir(self.cls))
        extra_keys = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
            lambda key: key not in taken
        )
        extras = st.dictionaries(extra_keys, JSON_VALUES, max_size=3)
        return st.tuples(fixed, extras).map(lambda parts: {**parts[1], **parts[0]})


def _resolve_override_names(
    cls: type[dg.Config], overrides: Mapping[str, Any], route: Route
) -> dict[str, Any]:
    """The overrides by field name, whether given by name or by alias."""
    names = field_names_by_key(cls)
    overridden: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in overrides.items():
        if key not in names:
            raise InvalidArgument(
                f"{route.entry_point}({cls.__name__}, {kwarg(key, '...')}): "
                f"{cls.__name__} has no field {key!r}; {valid_names(cls)}"
            )
        name = names[key]
        if name in overridden:
            raise InvalidArgument(
                f"{route.entry_point}({cls.__name__}): {given_as[name]!r} and "
                f"{key!r} both name field {name!r}; pass only one"
            )
        overridden[name] = value
        given_as[name] = key
    return overridden


def config_schema(cls: type[dg.Config], route: Route) -> "DefinitionConfigSchema":
    """Dagster's schema for ``cls``; an annotation Dagster rejects is reported by field."""
    try:
        return cls.to_config_schema()
    except Exception as error:
        # Dagster rejects a class as a whole, and not every error names the field: find it.
        rejected = [
            f"{route.describe(cls, info.alias or name)}, {info.annotation!r}"
            for name, info in cls.model_fields.items()
            if _dagster_rejects_alone(cls, name, info)
        ]
        where = rejected[0] if rejected else f"a field of {cls.__name__}"
        raise InvalidArgument(
            f"Dagster rejects the annotation of {where}, so no override can make "
            f"{cls.__name__} usable: change the annotation. Dagster says: {error}"
        ) from error


def _dagster_rejects_alone(cls: type[dg.Config], name: str, info: FieldInfo) -> bool:
    field_definition: dict[str, Any] = {name: (info.annotation, info)}
    try:
        create_model(cls.__name__, __base__=dg.Config, **field_definition).to_config_schema()
    except Exception:
        return True
    return False


def _is_resource_class(annotation: Any) -> bool:
    # ConfigurableResourceFactory, the base of every resource and IO manager, is not public:
    # recognise it by the classmethod all of them share.
    return (
        isinstance(annotation, type)
        and issubclass(annotation, dg.Config)
        and hasattr(annotation, "configure_at_launch")
    )


def infer_field(info: FieldInfo, site: Site, nested: NestedInstances) -> st.SearchStrategy[Any]:
    """The strategy for a field: its annotation's, or nested resources Dagster rewrote."""
    metadata = list(info.metadata)
    if "resource_param" in metadata:
        raise site.cannot_infer("is a ResourceParam[...], a value Dagster passes in, not config")
    if "resource_dependency" in metadata:
        # Dagster rewrites `db: Inner` to
        # `Annotated[Inner | PartialResource, "resource_dependency"]`,
        # and `ResourceDependency[T]` to `Annotated[Any, "resource_dependency"]`.
        resource_classes = [m for m in get_args(info.annotation) if _is_resource_class(m)]
        if not resource_classes:
            raise site.cannot_infer("is a ResourceDependency[...]")
        return nested(resource_classes[0], {}, site)
    if isinstance(info.discriminator, str):
        # Config instances of any member; Dagster converts them to its selector form itself.
        return st.one_of(
            [
                nested(member, {info.discriminator: tag}, site)
                for member in get_args(info.annotation)
                for tag in get_args(member.model_fields[info.discriminator].annotation)
            ]
        )
    return infer(info.annotation, NO_CONSTRAINTS.adding(metadata), site)


def check_config_class(entry_point: str, cls: Any) -> None:
    """Raise ``InvalidArgument`` unless ``cls`` is a concrete dagster Config class."""
    if not (isinstance(cls, type) and issubclass(cls, dg.Config)):
        if isinstance(cls, dg.Config):
            hint = f"; pass the class itself: {entry_point}({type(cls).__name__})"
        elif hasattr(cls, "resource_cls"):
            resource_name = cls.resource_cls.__name__
            hint = f"; pass the class, not configure_at_launch(): {entry_point}({resource_name})"
        else:
            hint = ""
        raise InvalidArgument(
            f"{entry_point}() takes a dagster Config, ConfigurableResource or "
            f"ConfigurableIOManager class, not {cls!r}{hint}"
        )
    if inspect.isabstract(cls):
        raise InvalidArgument(
            f"{entry_point}({cls.__name__}): {cls.__name__} is abstract (it does not implement "
            f"{', '.join(sorted(cls.__abstractmethods__))}); pass a concrete subclass"
        )
