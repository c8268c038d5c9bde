"""python -m vms image: build (or find) the guest image and print its folder."""

from __future__ import annotations

import sys

from vms.image import ImageError, build


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["image"]:
        print("usage: python -m vms image", file=sys.stderr)
        return 2
    try:
        print(build().folder)
    except ImageError as exc:
        print(f"vms: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
