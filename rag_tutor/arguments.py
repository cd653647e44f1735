"""Argument types shared by the command's parsers: a bad number is refused at the edge, with argparse's usage
line and exit code 2, instead of being reinterpreted deeper down (``-k 0`` used to become 5, ``--n -1`` 1)."""

from __future__ import annotations

import argparse


def _int_from(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small; give {minimum} or more")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its message
    return parse


positive_int = _int_from(1)
non_negative_int = _int_from(0)
