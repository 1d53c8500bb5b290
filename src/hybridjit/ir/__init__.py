"""Typed structured IR (see nodes.py for the contract)."""
