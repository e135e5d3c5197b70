"""No import circle anywhere in the product (issue 16): the layers contract in
pyproject.toml orders the packages, this test orders the modules inside them.

A task module imports its service and a service names the task it starts
(apps.core.tasks.enqueue("...")); a model reaches a module that imports it back through
the app registry, not an import. Imports made only for type checking do not count: they
never run.
"""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & modules)))]
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
                    imported = graph.find_modules_directly_imported_by(child) & modules
                    work.append((child, iter(sorted(imported))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_module_of_the_product_imports_itself_back():
    graph = grimp.build_graph("apps", "config", exclude_type_checking_imports=True)
    modules = {m for m in graph.modules if ".migrations" not in m}
    assert _cycles(graph, modules) == []


def test_the_check_finds_a_circle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.services", "a.tasks", "a.models"):
        graph.add_module(name)
    graph.add_import(importer="a.services", imported="a.tasks")
    graph.add_import(importer="a.tasks", imported="a.services")
    graph.add_import(importer="a.services", imported="a.models")
    assert _cycles(graph, {"a.services", "a.tasks", "a.models"}) == [["a.services", "a.tasks"]]
