"""Table aliases and self-joins on both backends: ``aliased(Employee, "m")`` in joins,
conditions, grouping, subqueries, EXISTS and counts; the rows and keys a user reads back;
aliased rows through the identity map; alias names quoted and part of the cached shape."""
from __future__ import annotations

import pytest

from asyncqlio import (AliasedTable, Column, DatabaseInterface, ForeignKey, Integer, Row,
                       String, aliased, exc, exists, func, table_base)
from asyncqlio._speedups import _compile

Table = table_base()


class Dept(Table, table_name="al_depts"):
    id = Column(Integer, primary_key=True)
    name = Column(String(20))


class Employee(Table, table_name="al_employees"):
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
    salary = Column(Integer)
    dept_id = Column(Integer, foreign_key=ForeignKey("al_depts.id"))
    manager_id = Column(Integer, foreign_key=ForeignKey("al_employees.id"), nullable=True)


Manager = aliased(Employee, "m")
Boss = Employee.alias("boss")

#: (name, salary, dept, manager): ann runs ben, cid, fay; ben runs dan and eve
STAFF = [("ann", 300, 1, None), ("ben", 200, 1, 1), ("cid", 150, 2, 1), ("dan", 100, 2, 2),
         ("eve", 250, 1, 2), ("fay", 120, 2, 1)]

REPORTS = Employee.manager_id == Manager.id


@pytest.fixture
async def sess(db):
    db.bind_tables(Table)
    await Dept.create()
    await Employee.create()
    async with db.get_session() as s:
        await s.insert.rows(Dept(id=1, name="ops"), Dept(id=2, name="dev"))
        for i, (name, salary, dept, manager) in enumerate(STAFF, 1):
            await s.insert.rows(Employee(id=i, name=name, salary=salary, dept_id=dept,
                                         manager_id=manager))
    async with db.get_session() as s:
        yield s


async def test_self_join_selects_both_names(sess):
    q = sess.select(Employee.name, Manager.name).join(Manager, REPORTS).order_by(Employee.id)
    sql, _ = q.compile()
    assert 'JOIN "al_employees" AS "m" ON ("al_employees"."manager_id" = "m"."id")' in sql
    assert sql.startswith('SELECT "al_employees"."name", "m"."name" AS "m_name" FROM ')
    rows = await q
    assert rows == [("ben", "ann"), ("cid", "ann"), ("dan", "ben"), ("eve", "ben"),
                    ("fay", "ann")]
    # the alias's column is keyed <alias>_<attribute>, so both names can be read by key
    row = rows[2]
    assert isinstance(row, Row) and row.keys() == ["name", "m_name"]
    assert (row.name, row.m_name, row["m_name"], row[1]) == ("dan", "ben", "ben", "ben")
    assert dict(row) == {"name": "dan", "m_name": "ben"} == row._mapping
    # the same keys through sess.execute() and sess.stream()
    result = await sess.execute(q)
    assert result.keys() == ["name", "m_name"]
    assert result.mappings().all()[0] == {"name": "ben", "m_name": "ann"}
    streamed = await (await sess.stream(q)).mappings().all()
    assert [m["m_name"] for m in streamed] == ["ann", "ann", "ben", "ben", "ann"]
    # a label still names a column as given
    labelled = await (sess.select(Employee.name, Manager.name.label("boss"))
                      .join(Manager, REPORTS).where(Employee.name == "eve"))
    assert labelled[0].boss == "ben"


async def test_outerjoin_and_conditions_on_the_alias(sess):
    q = sess.select(Employee).outerjoin(Manager, REPORTS)
    ann_reports = await q.where(Manager.name == "ann").order_by(Employee.name)
    assert [e.name for e in ann_reports] == ["ben", "cid", "fay"]
    assert all(type(e) is Employee for e in ann_reports)
    # the outer join keeps the employee without a manager, NULLs on the alias's side
    top = await sess.select(Employee).outerjoin(Manager, REPORTS).where(Manager.id.is_(None))
    assert [e.name for e in top] == ["ann"]
    rows = await (sess.select(Employee.name, Manager.name).outerjoin(Manager, REPORTS)
                  .order_by(Employee.id).limit(2))
    assert rows == [("ann", None), ("ben", "ann")]
    # column-to-column comparisons across the alias: who earns more than their manager
    richer = await (sess.select(Employee.name).join(Manager, REPORTS)
                    .where(Employee.salary > Manager.salary))
    assert [r.name for r in richer] == ["eve"]


async def test_selecting_an_alias_gives_the_sessions_objects(sess):
    everyone = await sess.select(Employee).order_by(Employee.id)
    bosses = await sess.select(Manager).where(Manager.manager_id == None)  # noqa: E711
    assert len(bosses) == 1 and bosses[0] is everyone[0]
    sql, params = sess.select(Manager).where(Manager.salary > 100).order_by(Manager.name).compile()
    assert sql.startswith('SELECT "m"."id", "m"."name", ')
    assert ' FROM "al_employees" AS "m" WHERE ("m"."salary" > ' in sql and params == [100]
    high = await sess.select(Manager).where(Manager.salary >= 200).order_by(Manager.name.desc())
    assert [e.name for e in high] == ["eve", "ben", "ann"]
    assert high[0] is everyone[4] and high[2] is everyone[0]
    # the original builder spelling, first(), and one object per key across both spellings
    ben = await sess.select.from_(Boss).where(Boss.name == "ben").first()
    assert ben is everyone[1]
    # managers of someone in dev, rows of the alias joined back to the table
    managers = await (sess.select(Manager).join(Employee, REPORTS)
                      .where(Employee.dept_id == 2).distinct().order_by(Manager.id))
    assert managers == [everyone[0], everyone[1]] and managers[0] is everyone[0]
    assert await sess.select(Manager).where(Manager.dept_id == 2).count() == 3
    assert await sess.select(Manager).where(Manager.salary > 1000).exists() is False
    sub = sess.select(Manager).where(Manager.dept_id == 1).subquery("ops")
    assert await sess.select(func.max(sub.c.salary)).from_(sub).scalar() == 300


async def test_group_by_having_order_by_on_the_alias(sess):
    q = (sess.select(Manager.name, func.count().label("n"))
         .join(Employee, REPORTS).group_by(Manager.id, Manager.name))
    assert await q.order_by(Manager.name) == [("ann", 3), ("ben", 2)]
    assert await q.having(func.count() > 2) == [("ann", 3)]
    totals = await (sess.select(Manager.name, func.sum(Employee.salary).label("payroll"))
                    .join(Employee, REPORTS).group_by(Manager.name)
                    .order_by(func.sum(Employee.salary).desc()))
    assert [(r.m_name, r.payroll) for r in totals] == [("ann", 470), ("ben", 350)]


async def test_two_aliases_of_one_table(sess):
    rows = await (sess.select(Employee.name, Manager.name, Boss.name)
                  .join(Manager, REPORTS).join(Boss, Manager.manager_id == Boss.id)
                  .order_by(Employee.name))
    assert rows == [("dan", "ben", "ann"), ("eve", "ben", "ann")]
    assert rows[0].keys() == ["name", "m_name", "boss_name"] and rows[1].boss_name == "ann"
    # an alias of another table, joined by its foreign key without on=
    d = aliased(Dept, "d")
    depts = await sess.select(Employee.name, d.name).join(d).order_by(Employee.id).limit(3)
    assert depts == [("ann", "ops"), ("ben", "ops"), ("cid", "dev")]
    assert depts[0].d_name == "ops"


async def test_subqueries_exists_and_counts(sess):
    reports = aliased(Employee, "r")
    # correlated EXISTS through an alias: the employees who manage someone
    has_reports = exists(sess.select(reports.id).where(reports.manager_id == Employee.id))
    managers = await sess.select(Employee.name).where(has_reports).order_by(Employee.id)
    assert [r.name for r in managers] == ["ann", "ben"]
    leaves = await sess.select(Employee.name).where(~has_reports).order_by(Employee.id)
    assert [r.name for r in leaves] == ["cid", "dan", "eve", "fay"]
    # IN a select of the alias
    in_dan_dept = Employee.dept_id.in_(sess.select(Manager.dept_id).where(Manager.name == "dan"))
    assert await sess.select(Employee.name).where(in_dan_dept).order_by(Employee.id).scalars() \
        == ["cid", "dan", "fay"]
    # a subquery in FROM keeps the alias's key as its column name
    sub = sess.select(Employee.id, Manager.name).join(Manager, REPORTS).subquery("s")
    per_manager = await (sess.select(sub.c.m_name, func.count().label("n")).from_(sub)
                         .group_by(sub.c.m_name).order_by(sub.c.m_name))
    assert per_manager == [("ann", 3), ("ben", 2)]
    # count() and exists() of a query joined to an alias
    q = sess.select(Employee).join(Manager, REPORTS).where(Manager.name == "ann")
    assert await q.count() == 3 and await q.exists() is True
    assert await sess.select(Employee.name, Manager.name).join(Manager, REPORTS).count() == 5
    assert await q.where(Manager.salary < 0).exists() is False


async def test_a_hostile_alias_name_is_quoted(sess):
    name = 'x"; DROP TABLE al_employees; --'
    evil = aliased(Employee, name)
    q = sess.select(Employee.name, evil.name).join(evil, Employee.manager_id == evil.id) \
        .where(evil.name == "ben").order_by(Employee.id)
    sql, params = q.compile()
    assert 'AS "x""; DROP TABLE al_employees; --"' in sql
    assert '"x""; DROP TABLE al_employees; --"."name" = ' in sql and params == ["ben"]
    rows = await q
    assert rows == [("dan", "ben"), ("eve", "ben")]
    assert rows[0][name + "_name"] == "ben"
    assert await sess.select(Employee).count() == 6  # the table is still there
    # a quote alone, and a name with spaces, both work as aliases
    for odd in ('"', "my boss"):
        a = aliased(Employee, odd)
        assert await sess.select(a.name).where(a.id == 1).scalar() == "ann"


def test_bad_aliases_are_refused():
    for name in ("", "a\x00b", 3):
        with pytest.raises(exc.ArgumentError):
            aliased(Employee, name)
    with pytest.raises(exc.ArgumentError):
        aliased(Employee.name)
    with pytest.raises(AttributeError, match="no column 'nope'"):
        Manager.nope
    with pytest.raises(AttributeError):
        Manager.name = "x"
    sess = DatabaseInterface("sqlite://").get_session()
    with pytest.raises(exc.ArgumentError, match="already in this query"):
        sess.select(Employee).join(Employee, Employee.manager_id == Employee.id)
    with pytest.raises(exc.ArgumentError, match="itself"):
        sess.select(Employee).join(Manager)
    with pytest.raises(exc.ArgumentError):
        sess.select(Employee.name, "Manager")  # tables, aliases and columns; not names
    assert isinstance(Manager, AliasedTable) and isinstance(Boss, AliasedTable)
    # an alias of an alias is another alias of the table; unnamed ones get fresh names
    again = aliased(Manager, "m2")
    assert again.name.sql == '"m2"."name"'
    first, second = aliased(Employee), aliased(Employee)
    assert first.id.sql != second.id.sql and first.id.sql.startswith('"al_employees_')


@pytest.mark.parametrize("dsn", ["sqlite://", "postgresql://u@localhost/x"])
def test_the_alias_name_is_part_of_the_cached_shape(dsn):
    sess = DatabaseInterface(dsn).get_session()
    dialect = sess.dialect

    def query(alias):
        return sess.select(Employee.name, alias.name) \
            .join(alias, Employee.manager_id == alias.id).where(alias.salary > 10)

    sqls = {}
    for name in ("a", "b", "a"):
        alias = aliased(Employee, name)
        sql, params = query(alias).compile()
        fresh = _compile.compile_statement(_compile.Compiler(dialect.name, dialect.numeric),
                                           query(alias)._statement(None))
        assert (sql, params) == fresh and params == [10]
        assert f'AS "{name}"' in sql and f'"{name}"."salary" > ' in sql
        sqls.setdefault(name, set()).add(sql)
    assert sqls["a"] != sqls["b"] and len(sqls["a"]) == 1
    # a select of whole rows of an alias, and the same with another alias name
    rows_of = [aliased(Employee, n) for n in ("p", "q")]
    one, other = (sess.select(a).where(a.id == 1).compile()[0] for a in rows_of)
    assert '"al_employees" AS "p" WHERE ("p"."id" = ' in one
    assert '"al_employees" AS "q" WHERE ("q"."id" = ' in other
