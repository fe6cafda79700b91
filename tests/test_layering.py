"""The module graph has no cycles: every module can be read knowing only what it imports.

The layers themselves (pages → ui → startup → core → db, and the domains inside core) are
import-linter contracts in pyproject.toml, checked by ``lint-imports`` in scripts/test.sh; this test
adds what those contracts cannot say — no two modules anywhere import each other, directly or
round a loop, including imports made inside functions.
"""

from __future__ import annotations

import grimp

PACKAGES = ("pages", "ui", "startup", "core", "db")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_round_a_loop():
    graph = grimp.build_graph(*PACKAGES)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_loop(tmp_path, monkeypatch):
    pkg = tmp_path / "loopy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from loopy import b\n")
    (pkg / "b.py").write_text("from loopy import a\n")
    (pkg / "c.py").write_text("from loopy import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cycles(grimp.build_graph("loopy", cache_dir=None)) == [["loopy.a", "loopy.b"]]


def test_every_staff_page_guards_itself_by_its_registry_entry():
    """A page's roles are written once, in ui.nav; each page asks the guard by its own name, so a
    page copied from another cannot keep the other's roles."""
    import ast
    from pathlib import Path

    from ui.nav import PAGES

    root = Path(__file__).resolve().parent.parent / "pages"
    for spec in PAGES:
        tree = ast.parse((root / f"{spec.module}.py").read_text(encoding="utf-8"))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "page_guard"]
        assert [[ast.literal_eval(a) for a in c.args] for c in calls] == [[spec.module]], spec.module


def _session_openings(source: str) -> list[int]:
    """Lines where a ``.read()`` or ``.write()`` with no arguments (a database transaction) is called."""
    import ast

    return [n.lineno for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("read", "write")
            and not n.args and not n.keywords]


def test_pages_never_open_a_database_session():
    """A page calls core functions that open their own transaction and return typed values; it never
    holds a session itself, so what a screen reads together is read together in core, where it is tested."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "pages"
    found = {p.name: lines for p in sorted(root.glob("*.py"))
             if (lines := _session_openings(p.read_text(encoding="utf-8")))}
    assert found == {}


def test_the_session_finder_finds_a_page_that_opens_one():
    assert _session_openings("with runtime.db().read() as s:\n    pass\n") == [1]
    assert _session_openings("db = runtime.db()\nwith db.write() as s:\n    pass\n") == [2]
    assert _session_openings("data = upload.read(1024)\n") == []


# Modules allowed over the size limit, each with why; shrink this list, never grow it.
OVERSIZE: dict[str, str] = {}
MAX_LINES = 500


def test_no_module_is_over_the_size_limit():
    """A module stays short enough to read whole: a larger one is split by what its parts hold (as
    core/points/ledger.py, startup/bulkseed.py and db/models.py were). Generated migrations are exempt."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    files = [p for d in (*PACKAGES, "web", "bench") for p in (root / d).rglob("*.py")
             if "migrations" not in p.relative_to(root).parts]
    files += sorted(root.glob("*.py"))
    over = {str(p.relative_to(root)): n for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert sorted(over) == sorted(OVERSIZE), over
