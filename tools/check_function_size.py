"""Lists functions in toolkit/ that take more than 8 parameters or run over 60 lines (click commands aside)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_PARAMETERS = 8
MAX_LINES = 60


def is_click_command(node: ast.AST) -> bool:
    for decorator in getattr(node, "decorator_list", []):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = ast.unparse(target)
        if name.endswith((".command", ".group")) or name in {"command", "group"}:
            return True
    return False


def oversized(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or is_click_command(node):
                continue
            args = node.args
            count = len(args.posonlyargs) + len(args.args) + len(args.kwonlyargs)
            count -= bool(args.args and args.args[0].arg in {"self", "cls"})
            lines = node.end_lineno - node.lineno + 1
            if count > MAX_PARAMETERS or lines > MAX_LINES:
                problems.append(f"{path}:{node.lineno} {node.name}: {count} parameters, {lines} lines")
    return problems


if __name__ == "__main__":
    found = oversized(Path(sys.argv[1] if len(sys.argv) > 1 else "toolkit"))
    print("\n".join(found))
    sys.exit(1 if found else 0)
