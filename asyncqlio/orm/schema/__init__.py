"""Table definitions: tables (:mod:`.table`), columns (:mod:`.column`), their types
(:mod:`.types`), indexes (:mod:`.index`), foreign keys and relationships
(:mod:`.relationship`), and a row's change record (:mod:`.history`)."""
from asyncqlio.orm.schema.column import Column
from asyncqlio.orm.schema.index import Index
from asyncqlio.orm.schema.relationship import ForeignKey, RelatedList, Relationship
from asyncqlio.orm.schema.table import (PrimaryKey, Table, TableBase, TableInfo, TableMeta,
                                        TableMetadata, table_base)

__all__ = ["Column", "ForeignKey", "Index", "PrimaryKey", "RelatedList", "Relationship",
           "Table", "TableBase", "TableInfo", "TableMeta", "TableMetadata", "table_base"]
