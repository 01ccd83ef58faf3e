from pydantic import ValidationError

from services.logistics.app import build
from services.logistics.deps import ConfigurationRefused
from shared.runtime import run_service


def _said(loc: tuple[int | str, ...], msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    return f"{'.'.join(map(str, loc))}: {msg}" if loc else msg


if __name__ == "__main__":
    try:
        run_service(build)
    except ConfigurationRefused as exc:  # one line for the operator, no traceback
        raise SystemExit(f"logistics refuses to start: {exc}") from None
    except ValidationError as exc:
        why = "; ".join(_said(e["loc"], e["msg"]) for e in exc.errors())
        raise SystemExit(f"logistics refuses to start: {why}") from None
