"""SQLAlchemy models of ``bench.relations`` (its annotations resolve at module level)."""
from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class SParent(Base):
    __tablename__ = "bench_parent"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    children: Mapped[list[SChild]] = relationship(back_populates="parent")


class SChild(Base):
    __tablename__ = "bench_child"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("bench_parent.id"))
    title: Mapped[str] = mapped_column(String(40))
    parent: Mapped[SParent] = relationship(back_populates="children")
