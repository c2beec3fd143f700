"""Inserts of the hot write paths, with the statement of a model built once instead of at every call.

``Model.objects.create`` compiles its ``INSERT`` anew for every row (about 0.3 ms of CPU, more than the round trip
on loopback). The journal row that every access writes and the measure every connected device sends go through
``RowInserter`` instead: the same values as the ORM (``pre_save`` then ``get_db_prep_save`` of each field, so
``auto_now_add`` dates, JSON and foreign keys behave identically), one prepared statement per process, the primary
key and the database-computed columns read back with ``RETURNING``.

Model signals are not sent: use it only for models that have no ``pre_save``/``post_save`` receiver (a guard test
checks the models that use it).
"""

from __future__ import annotations

from django.db import connections, models
from django.db.models.expressions import DatabaseDefault

__all__ = ["RowInserter"]


class RowInserter:
    """``RowInserter(Model, database_columns=("created_at",)).insert(instance)`` saves a new row of ``Model``.

    ``database_columns`` are left to their database default and read back into the instance, with the primary key.
    """

    def __init__(self, model: type[models.Model], *, database_columns: tuple[str, ...] = ()) -> None:
        self.model = model
        opts = model._meta
        self._returned = [opts.pk, *(opts.get_field(name) for name in database_columns)]
        self._fields = [
            field
            for field in opts.concrete_fields
            if field not in self._returned and not (field.primary_key and field.db_returning)
        ]
        self._sql: dict[str, str] = {}

    def _statement(self, alias: str) -> str:
        # Only names from the model's metadata are interpolated; every value is a query parameter.
        sql = self._sql.get(alias)
        if sql is None:
            quote = connections[alias].ops.quote_name
            columns = ", ".join(quote(field.column) for field in self._fields)
            placeholders = ", ".join(["%s"] * len(self._fields))
            returning = ", ".join(quote(field.column) for field in self._returned)
            sql = self._sql[alias] = (
                f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
                f"RETURNING {returning}"
            )
        return sql

    def insert(self, instance: models.Model, *, using: str = "default") -> models.Model:
        connection = connections[using]
        values = []
        for field in self._fields:
            value = field.pre_save(instance, True)
            if isinstance(value, DatabaseDefault):
                raise ValueError(f"{self.model.__name__}.{field.name} : valeur par défaut de la base non prévue")
            values.append(field.get_db_prep_save(value, connection))
        with connection.cursor() as cursor:
            cursor.execute(self._statement(using), values)
            row = cursor.fetchone()
        for field, value in zip(self._returned, row, strict=True):
            for converter in field.get_db_converters(connection):
                value = converter(value, field, connection)
            setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = using
        return instance
