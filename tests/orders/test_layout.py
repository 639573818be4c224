"""How orders/ is built (issue #12): the ORM throughout, imports at the top and one way down, and the order's
and its welcome mail's states written only through their state machines (ALL-3)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ORDERS = Path(__file__).resolve().parents[2] / "orders"
SOURCES = sorted(p for p in ORDERS.rglob("*.py") if "migrations" not in p.parts)

# Imports a function body may make: Django's app loading (apps.ready) and reportlab, drawn only for a PDF.
LOCAL_IMPORTS_ALLOWED = {
    ("apps.py", "django"),
    ("apps.py", "accounts"),
    ("apps.py", "locker"),
    ("apps.py", "."),
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _name(path: Path) -> str:
    return str(path.relative_to(ORDERS))


def _orders_imports(path: Path) -> set[str]:
    """The modules of orders that ``path`` imports, named within orders ("services.states", "rules")."""
    package = ".".join(["orders", *path.relative_to(ORDERS).parent.parts])
    found: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, package)
            names = [base] if node.module else [f"{base}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name.removeprefix("orders.") for name in names if name.startswith("orders.")}
    return found


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ORDERS).with_suffix("").parts)


def test_orders_speaks_the_orm_no_hand_written_sql_and_no_custom_backend():
    """Issue #12: no cursor, no raw SQL, no core.db in orders (the order list and the welcome mail's
    record of delivery are ORM queries)."""
    for path in SOURCES:
        text = path.read_text()
        for forbidden in ("core.db", "connection.cursor", ".raw(", "prepared_cursor", "cursor.execute"):
            assert forbidden not in text, (_name(path), forbidden)


def test_no_import_inside_a_function_body_hides_a_cycle():
    """Issue #12: orders imports at the top; the only imports in function bodies are Django's app loading
    (OrdersConfig.ready) and reportlab (kept out of every process that draws no PDF)."""
    for path in SOURCES:
        for func in ast.walk(_tree(path)):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    module = (
                        node.module
                        if isinstance(node, ast.ImportFrom) and node.module
                        else node.names[0].name
                    )
                    top = "." if isinstance(node, ast.ImportFrom) and node.level else module.split(".")[0]
                    allowed = (_name(path), top) in LOCAL_IMPORTS_ALLOWED or (
                        _name(path) == "invoice_pdf.py" and top == "reportlab"
                    )
                    assert allowed, (_name(path), func.name, ast.unparse(node))


def test_services_rules_and_selectors_import_one_way_down():
    """Issue #12: services and selectors both stand on orders.rules; no service imports a view, a task,
    the mail module or a selector, and neither rules nor selectors import a service (no cycle to hide)."""
    upward = {"views", "tasks", "mail", "selectors", "admin", "forms", "receivers"}
    for path in SOURCES:
        module = _module(path)
        imported = {name.split(".")[0] for name in _orders_imports(path)}
        if module.startswith("services"):
            assert not imported & upward, (module, imported & upward)
        if module in ("rules", "selectors", "models", "errors"):
            assert "services" not in imported, (module, imported)


def _writes_of(tree: ast.AST, field: str) -> list[str]:
    """Writes of ``field`` that bypass a state machine: an attribute set, a keyword of update()/create()/
    a model constructor, or a name in update_fields."""
    writes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            writes += [ast.unparse(t) for t in targets if isinstance(t, ast.Attribute) and t.attr == field]
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            writing = called in {
                "update",
                "create",
                "bulk_create",
                "update_or_create",
                "get_or_create",
                "Order",
            }
            if writing and any(k.arg == field for k in node.keywords):
                writes.append(ast.unparse(node))
            if called == "setattr" and any(
                isinstance(a, ast.Constant) and a.value == field for a in node.args
            ):
                writes.append(ast.unparse(node))
            for keyword in node.keywords:
                if keyword.arg == "update_fields" and field in ast.unparse(keyword.value):
                    writes.append(ast.unparse(node))
    return writes


def test_all3_the_welcome_mail_status_is_written_only_through_its_state_machine():
    """ALL-3, ESD-9, ESD-12: every write of Order.welcome_mail_status goes through MAIL_STATES (move, apply,
    move_row in orders.services.states' machine): no module of orders sets it by hand."""
    for path in SOURCES:
        if _name(path) == "models.py":
            continue  # the field's definition
        assert _writes_of(_tree(path), "welcome_mail_status") == [], _name(path)
