"""Tortoise models of ``bench.relations`` (Tortoise imports its models by module name)."""
from tortoise import fields
from tortoise.models import Model


class TParent(Model):
    id = fields.IntField(primary_key=True, generated=False)
    name = fields.CharField(max_length=40)

    class Meta:
        table = "bench_parent"


class TChild(Model):
    id = fields.IntField(primary_key=True, generated=False)
    parent = fields.ForeignKeyField("bench.TParent", related_name="children")
    title = fields.CharField(max_length=40)

    class Meta:
        table = "bench_child"
