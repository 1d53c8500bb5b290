"""Generic traversal of IR trees.

Contract: :func:`children` lists a node's direct sub-nodes in source order;
:func:`walk` yields a tree in pre-order; :func:`rewrite` rebuilds a tree
bottom-up through a function that may replace any node.  All are pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from .nodes import Node

N = TypeVar("N", bound=Node)


def children(node: Node) -> Iterator[Node]:
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, f.name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item


def walk(node: Node) -> Iterator[Node]:
    """Pre-order traversal of ``node`` and everything below it."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(children(n))))


def walk_all(nodes: Iterable[Node]) -> Iterator[Node]:
    for n in nodes:
        yield from walk(n)


def rewrite(node: N, fn: Callable[[Node], Node]) -> N:
    """Rebuild ``node`` bottom-up: children first, then ``fn`` on the result."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        value = getattr(node, f.name)
        if isinstance(value, Node):
            new = rewrite(value, fn)
            if new is not value:
                changes[f.name] = new
        elif isinstance(value, tuple) and any(isinstance(v, Node) for v in value):
            new_items = tuple(rewrite(v, fn) if isinstance(v, Node) else v for v in value)
            if any(a is not b for a, b in zip(new_items, value)):
                changes[f.name] = new_items
    rebuilt = dataclasses.replace(node, **changes) if changes else node  # type: ignore[type-var]
    return fn(rebuilt)  # type: ignore[return-value]


def rewrite_body(body: tuple[Node, ...], fn: Callable[[Node], Node]) -> tuple[Any, ...]:
    return tuple(rewrite(s, fn) for s in body)
