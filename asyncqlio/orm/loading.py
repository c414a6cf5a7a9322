"""Loading relationships with their table's query: one more query for all the rows
(``load="select"``: ``WHERE child.fk IN (...)``, ``= ANY($1)`` on PostgreSQL), or a LEFT OUTER
JOIN in the same query (``load="joined"``).

SQLAlchemy's loader options (``selectinload(User.addresses)``, ``joinedload``, ...) change
that for one query (``sess.select(User).options(...)``), and chained
(``selectinload(User.addresses).selectinload(Address.tags)``) load the related rows'
relationships too, one more query per relationship and level."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from asyncqlio._speedups import _compile
from asyncqlio.exc import ArgumentError, InvalidRequestError
from asyncqlio.orm.alias import AliasedTable, adapt, column_of, generated_name
from asyncqlio.orm.schema import relationship as _relationships
from asyncqlio.orm.schema.relationship import Relationship, RelatedList

if TYPE_CHECKING:
    from asyncqlio.orm.session import Session

#: SQLite refuses more than 32766 bound values in one statement
SQLITE_IN_CHUNK = 30000


async def load_select(sess: "Session", rel: Relationship, rows: list) -> None:
    """One query (one per 30,000 keys on SQLite) loading ``rel`` for all ``rows``."""
    local_attr = rel.local.attr_name
    keys = list(dict.fromkeys(k for k in (getattr(r, local_attr) for r in rows) if k is not None))
    related = await _fetch_related(sess, rel, keys) if keys else []
    _assign(rel, rows, related)


async def _fetch_related(sess: "Session", rel: Relationship, keys: list) -> list:
    table = rel.related
    info = table.__table__
    d = sess.dialect
    remote = rel.remote
    proc = remote.type.bind_processor(d.name)
    bound = [proc(k) for k in keys] if proc is not None else keys
    out: list = []
    if d.name == "postgresql":
        chunks = [bound]
    else:
        chunks = [bound[i:i + SQLITE_IN_CHUNK] for i in range(0, len(bound), SQLITE_IN_CHUNK)]
    for chunk in chunks:
        if d.name == "postgresql":
            any_of = _compile.FuncExpr("ANY", (_compile.Param(chunk),))
            cond = _compile.BinaryExpr("=", remote, any_of)
        else:
            cond = _compile.InExpr(remote, [_compile.Param(v) for v in chunk])
        stmt = _compile.Select([info.select_sql], [info.quoted], where=cond, order_by=rel.order_by)
        compiler = _compile.Compiler(d.name, d.numeric)
        if d.name == "postgresql":
            sql, params = _compile.statement_cached(compiler, stmt)
        else:
            sql, params = _compile.compile_statement(compiler, stmt)
        out.extend(sess._hydrate(table, await sess._select(sql, params)))
    return out


def _assign(rel: Relationship, rows: list, related: list) -> None:
    """Put the related rows onto ``rows`` (and the back references onto them)."""
    name = rel.name
    remote_attr = rel.remote.attr_name
    local_attr = rel.local.attr_name
    back = rel.back()
    if rel.uselist:
        # one pass over the children fills the collections and the back references
        lists: dict[Any, RelatedList] = {}
        shared: list[tuple[RelatedList, Any]] = []  # parents with the same key
        for row in rows:
            key = getattr(row, local_attr)
            collection = row.__dict__[name] = RelatedList(row, rel, ())
            if key in lists:
                shared.append((collection, key))
            else:
                lists[key] = collection
        back_name = back.name if back is not None and not back.uselist else None
        get = lists.get
        for item in related:
            collection = get(getattr(item, remote_attr))
            if collection is not None:
                list.append(collection, item)  # loading, not adding: no links, no writes
                if back_name is not None:
                    item.__dict__[back_name] = collection._parent
        for collection, key in shared:
            list.extend(collection, lists[key])
        return
    by_key = {getattr(item, remote_attr): item for item in related}
    for row in rows:
        item = by_key.get(getattr(row, local_attr))
        row.__dict__[name] = item
        if item is not None and back is not None and not back.uselist:
            item.__dict__[back.name] = row


# --- joined loading: the owner's select with the related tables' columns appended


def _join_alias(rel: Relationship, owner: str) -> AliasedTable:
    """The alias ``rel`` joins its table under from ``owner`` (a table or alias name):
    ``"<owner>.<relationship>"``, so the join never clashes with the query's own use of that
    table (a self-reference, an explicit join, two relationships to one table)."""
    aliases = rel._join_aliases
    alias = aliases.get(owner)
    if alias is None:
        if len(aliases) >= 100:  # many unnamed aliases of the owner: keep this bounded
            aliases.clear()
        name = rel.table_alias if rel.table_alias and owner == rel.owner.__table__.name \
            else generated_name(owner + "." + rel.name)
        alias = aliases[owner] = AliasedTable(rel.related, name)
    return alias


def joined_statement(owner: Any, rels: list[Relationship], stmt: Any) -> Any:
    """``stmt`` (a model select of ``owner``, a table or an alias of one) widened with an
    aliased LEFT OUTER JOIN per joined relationship. A one-to-many join multiplies rows, so
    a LIMIT/OFFSET moves into a subquery named as the owner itself (the outer query's column
    references still fit)."""
    if isinstance(owner, AliasedTable):
        name, select_sql = owner.__alias__.name, owner.__alias__.select_sql
    else:
        name, select_sql = owner.__table__.name, owner.__table__.select_sql
    if stmt.for_update:
        raise InvalidRequestError(
            f"for_update() cannot lock the outer join of {rels[0]!r}; select with "
            "load='select' relationships to lock the rows")
    if any(rel.uselist for rel in rels) and (stmt.limit is not None or stmt.offset is not None):
        inner = _compile.Select([select_sql], stmt.froms, stmt.joins, stmt.where,
                                stmt.group_by, stmt.having, stmt.order_by, stmt.limit,
                                stmt.offset, stmt.distinct, False)
        outer = _compile.Select([select_sql], [_compile.Alias(inner, name)],
                                order_by=stmt.order_by, for_update=stmt.for_update)
    else:
        outer = _compile.Select(stmt.columns, stmt.froms, stmt.joins, stmt.where, stmt.group_by,
                                stmt.having, stmt.order_by, stmt.limit, stmt.offset,
                                stmt.distinct, stmt.for_update)
    for rel in rels:
        target = _join_alias(rel, name)
        joined = target.__alias__
        outer.columns.append(joined.select_sql)
        outer.joins.append(("LEFT OUTER JOIN", joined.from_sql,
                            column_of(target, rel.remote) == column_of(owner, rel.local)))
        if rel.uselist and rel.order_by:
            outer.order_by.extend(adapt(o, target) for o in rel.order_by)
    return outer


def hydrate_joined(sess: "Session", table: type, rels: list[Relationship],
                   records: list) -> list:
    """Rows of a :func:`joined_statement` -> the owner's rows (each once, in order) with
    the joined relationships filled in."""
    info = table.__table__
    n = len(info.columns)
    pk = info.pk_indexes
    parents: dict[Any, Any] = {}
    slices = []
    start = n
    for rel in rels:
        rinfo = rel.related.__table__
        width = len(rinfo.columns)
        slices.append((rel, start, start + width, rinfo.pk_indexes, rel.back()))
        start += width
    seen: dict[tuple, Any] = {}
    for record in records:
        values = tuple(record)
        key = tuple(values[i] for i in pk)
        parent = parents.get(key)
        if parent is None:
            parent = sess._hydrate(table, [values[:n]])[0]
            parents[key] = parent
            for rel, *_ in slices:
                parent.__dict__[rel.name] = RelatedList(parent, rel, ()) if rel.uselist else None
        for rel, lo, hi, rpk, back in slices:
            part = values[lo:hi]
            rkey = tuple(part[i] for i in rpk)
            if rkey[0] is None:
                continue  # no related row: the outer join's NULLs
            if rel.uselist:
                # a second one-to-many join repeats these rows: each goes in once
                seen_key = (id(rel), key, rkey)
                if seen_key in seen:
                    continue
                item = seen[seen_key] = sess._hydrate(rel.related, [part])[0]
                list.append(parent.__dict__[rel.name], item)
            else:
                # many rows may share one related row: one object for it
                seen_key = (id(rel), rkey)
                item = seen.get(seen_key)
                if item is None:
                    item = seen[seen_key] = sess._hydrate(rel.related, [part])[0]
                parent.__dict__[rel.name] = item
            if back is not None and not back.uselist:
                item.__dict__[back.name] = parent
    return list(parents.values())


# --- loader options: how one query loads relationships

#: a load plan: relationship -> (its load kind, None for the declared one; the plan of its rows)
Plan = dict


class Load:
    """A loader option: a path of relationships from the queried table, each with how it
    loads (``"select"``, ``"joined"``, ``"explicit"``, or None to keep the declared one),
    and the options given below its end (``.options(...)``). Chaining extends the path:
    ``selectinload(User.addresses).selectinload(Address.tags)``."""

    __slots__ = ("path", "below")

    def __init__(self, path: tuple[tuple[Any, str | None], ...],
                 below: tuple["Load", ...] = ()) -> None:
        self.path = path
        self.below = below

    def _then(self, attr: Any, kind: str | None) -> "Load":
        if self.below:
            raise ArgumentError("chain loader options before .options(...), not after it")
        return Load((*self.path, (_relationship(attr), kind)))

    def selectinload(self, attr: Any) -> "Load":
        return self._then(attr, "select")

    subqueryload = immediateload = selectinload

    def joinedload(self, attr: Any, innerjoin: bool | None = None) -> "Load":
        return self._then(attr, "joined")

    def lazyload(self, attr: Any) -> "Load":
        return self._then(attr, "explicit")

    noload = lazyload

    def raiseload(self, attr: Any, sql_only: bool = False) -> "Load":
        return self._then(attr, "explicit")

    def defaultload(self, attr: Any) -> "Load":
        return self._then(attr, None)

    def options(self, *options: "Load") -> "Load":
        """Several options below this path: ``selectinload(User.addresses).options(
        joinedload(Address.user), selectinload(Address.tags))``."""
        for opt in options:
            if not isinstance(opt, Load):
                raise ArgumentError(f"options() takes loader options, not {opt!r}")
        return Load(self.path, (*self.below, *options))

    def paths(self) -> Iterable[tuple]:
        """Every path this option names, from the queried table."""
        yield self.path
        for opt in self.below:
            for path in opt.paths():
                yield (*self.path, *path)

    def __repr__(self) -> str:
        return "Load(" + ", ".join(f"{_label(r)}={k}" for r, k in self.path) + ")"


def _label(rel: Any) -> str:
    return rel if isinstance(rel, str) else f"{rel.owner.__name__}.{rel.name}"


def _relationship(attr: Any) -> Any:
    if isinstance(attr, Relationship) or (isinstance(attr, str) and attr == "*"):
        return attr
    if isinstance(attr, _compile.ColumnNode):
        raise ArgumentError(f"loader options name relationships; {attr!r} is a column")
    raise ArgumentError(f"loader options take a relationship (User.addresses) or '*', "
                        f"not {attr!r}")


def selectinload(attr: Any) -> Load:
    """Load the relationship with one more query for all the rows (``load="select"``)."""
    return Load(((_relationship(attr), "select"),))


def joinedload(attr: Any, innerjoin: bool | None = None) -> Load:
    """Load the relationship by a LEFT OUTER JOIN in the same query (``load="joined"``);
    below the first level of a chain, by one more query (asyncqlio joins only the queried
    table's relationships). ``innerjoin`` is accepted and changes nothing: the join is
    always outer, so no row is lost to a NULL foreign key."""
    return Load(((_relationship(attr), "joined"),))


def subqueryload(attr: Any) -> Load:
    """As :func:`selectinload`: the same rows, without repeating the query as a subquery."""
    return selectinload(attr)


def immediateload(attr: Any) -> Load:
    """As :func:`selectinload`: the rows' relationship loaded before the query returns."""
    return selectinload(attr)


def lazyload(attr: Any) -> Load:
    """Leave the relationship unloaded: asyncqlio never loads on attribute access, so
    reading it raises NotLoadedError (as SQLAlchemy's asyncio extension refuses lazy IO)."""
    return Load(((_relationship(attr), "explicit"),))


def noload(attr: Any) -> Load:
    """Leave the relationship unloaded (see :func:`lazyload`)."""
    return lazyload(attr)


def raiseload(attr: Any, sql_only: bool = False) -> Load:
    """Leave the relationship unloaded: reading it raises NotLoadedError."""
    return lazyload(attr)


def defaultload(attr: Any) -> Load:
    """Load the relationship as declared; the start of a chain for the rows below it."""
    return Load(((_relationship(attr), None),))


def plan(table: type, options: Iterable[Any]) -> tuple[dict, Plan]:
    """The load kinds ``options`` give ``table``'s relationships (only those they change),
    and the plans of the rows below them (relationship -> :data:`Plan`). Later options win;
    a named relationship wins over ``"*"``."""
    tree: Plan = {}
    for opt in options:
        if not isinstance(opt, Load):
            raise ArgumentError(f"options() takes loader options (selectinload(...), ...), "
                                f"not {opt!r}")
        for path in opt.paths():
            _add(tree, table, path)
    kinds = {rel: kind for rel, (kind, _) in tree.items() if kind is not None}
    nested = {rel: below for rel, (_, below) in tree.items() if below}
    for rel, below in nested.items():
        _check_loaded(rel, kinds.get(rel), below)
    return kinds, nested


def _add(tree: Plan, table: type, path: tuple) -> None:
    (rel, kind), rest = path[0], path[1:]
    if isinstance(rel, str):  # "*": every relationship of the table
        if rest:
            raise ArgumentError("'*' ends a chain of loader options")
        for each in _relationships.of_table(table):
            if each not in tree or tree[each][0] is None:
                tree[each] = (kind, tree.get(each, (None, {}))[1])
        return
    rel.resolve()
    if rel.owner is not table:
        raise ArgumentError(f"{rel!r} is not a relationship of {table.__name__}, whose rows "
                            "this option applies to")
    old_kind, below = tree.get(rel, (None, {}))
    tree[rel] = (old_kind if kind is None else kind, below)
    if rest:
        _add(below, rel.related, rest)


def _check_loaded(rel: Relationship, kind: str | None, below: Plan) -> None:
    """A chain loads below a relationship only if that relationship loads."""
    if (kind or rel.load_kind) == "explicit":
        raise ArgumentError(
            f"{rel!r} is not loaded by this query, so nothing below it can be: start the "
            f"chain with selectinload({rel.owner.__name__}.{rel.name}) or joinedload(...)")
    for child, (child_kind, child_below) in below.items():
        if child_below:
            _check_loaded(child, child_kind, child_below)


async def load_nested(sess: "Session", rows: list, nested: dict) -> None:
    """Load the relationships ``nested`` plans below the relationships of ``rows``, one query
    per relationship and level (a joined one too: only the queried table's join)."""
    for rel, below in nested.items():
        related = _related_rows(rows, rel)
        if not related:
            continue
        for child, (kind, child_below) in below.items():
            if (kind or child.load_kind) != "explicit":
                await load_select(sess, child, related)
            if child_below:
                await load_nested(sess, related, {child: child_below})


def _related_rows(rows: list, rel: Relationship) -> list:
    """The rows ``rel`` holds on ``rows``, each once."""
    name = rel.name
    out: dict[int, Any] = {}
    for row in rows:
        value = row.__dict__.get(name)
        if value is None:
            continue
        if rel.uselist:
            for item in value:
                out[id(item)] = item
        else:
            out[id(value)] = value
    return list(out.values())
