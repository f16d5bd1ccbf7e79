"""Checks of numeric configuration values, shared by every config's `validate`.

A numeric hyperparameter may be a Python number, a NumPy/jnp array (a sweep stacks one
value per run) or a tracer (`validate` also runs inside jitted `init`s). Concrete values
are checked elementwise; tracers cannot be inspected and are skipped, so a sweep must be
validated where its values are still concrete (`jgail.sweep.grid` does).
"""

from __future__ import annotations

import jax
import numpy as np

from jgail.core.errors import ConfigError


def concrete(value) -> np.ndarray | None:
    """`value` as a NumPy array, or None for a tracer (a value known only at run time)."""
    try:
        return np.asarray(value)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _bounds_text(gt, ge, lt, le) -> str:
    low = f"({gt:g}" if gt is not None else f"[{ge:g}" if ge is not None else None
    high = f"{lt:g})" if lt is not None else f"{le:g}]" if le is not None else None
    if low and high:
        return f"in {low}, {high}"
    if low:
        return f"> {gt:g}" if gt is not None else f">= {ge:g}"
    if high:
        return f"< {lt:g}" if lt is not None else f"<= {le:g}"
    return ""


def check_number(owner: str, field: str, value, *, gt=None, ge=None, lt=None, le=None) -> None:
    """Raise ConfigError unless every element of `value` is a finite real number within the
    bounds (gt/ge: lower bound, open/closed; lt/le: upper bound). Tracers pass unchecked.

    check_number("PPOConfig", "learning_rate", 2.5e-4, gt=0)
    """
    bounds = _bounds_text(gt, ge, lt, le)
    array = concrete(value)
    if array is None:
        return
    verb = "lie" if bounds.startswith("in ") else "be"
    rule = f"{field} must {verb} {bounds} and be finite" if bounds else f"{field} must be finite"
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ConfigError(f"{owner}.{field}={value!r}: must be a real number ({rule})")
    finite = np.isfinite(array)
    ok = finite.copy()
    for bound, passes in ((gt, np.greater), (ge, np.greater_equal), (lt, np.less), (le, np.less_equal)):
        if bound is not None:
            ok &= passes(array, bound)
    if not ok.all():
        shown = _show(array.item()) if array.ndim == 0 else (
            f"[{', '.join(map(_show, array.ravel().tolist()))}] (entry {int(np.argmin(ok.ravel()))})")
        problem = "must be finite" if not finite.all() else f"must be {bounds}"
        raise ConfigError(f"{owner}.{field}={shown}: {problem} ({rule})")


def _show(number) -> str:
    return f"{number:.6g}"


def check_count(owner: str, field: str, value, *, minimum: int = 1) -> None:
    """Raise ConfigError unless `value` is a Python/NumPy int (not a bool) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{owner}.{field}={value!r}: must be an int >= {minimum}")
