"""Model instances from one hand-written SELECT, for the few reads that run once per tenant per
cycle in the workers.

Django's SQL compiler spends its CPU per column and per join: building the reconcile's read of a
tenant with its integration, account and token cost about 0.9 ms, against 0.25 ms for the same
statement written once and turned into the same model instances here. Everything else uses the
ORM. What this keeps from it: column names from model metadata, the fields' own conversions from
the database (decryption, SQLite's datetimes), and instances that behave like loaded ones (a field
left out loads on first touch, as with `only()`).
"""

from collections.abc import Sequence
from functools import cache

from django.db import connection
from django.db.models import Model


def columns(alias: str, model: type[Model], names: Sequence[str]) -> str:
    """`alias."column", ...` for the fields `names` of `model`, quoted for this database."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(model._meta.get_field(n).column)}" for n in names)


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def instance(model: type[Model], names: Sequence[str], values: Sequence) -> Model:
    """A model instance as the ORM would load it, from the values of the fields `names`
    (attribute names: `tenant_id`, not `tenant`)."""
    loaded = {name: value(model, name, raw) for name, raw in zip(names, values, strict=True)}
    # from_db takes the values in the model's field order.
    ordered = [f.attname for f in model._meta.concrete_fields if f.attname in loaded]
    return model.from_db(connection.alias, ordered, [loaded[name] for name in ordered])


def value(model: type[Model], name: str, raw):
    """One column's value as the field `name` of `model` would hand it over (decrypted, parsed
    JSON, an aware datetime on SQLite too)."""
    col, converters = _converters(model, name)
    for convert in converters:
        raw = convert(raw, col, connection)
    return raw


@cache
def _converters(model: type[Model], name: str) -> tuple:
    field = model._meta.get_field(name)
    col = field.get_col(model._meta.db_table)
    return col, tuple(connection.ops.get_db_converters(col)) + tuple(
        field.get_db_converters(connection)
    )
