"""Small mixins shared by fairkit's mitigators (no deep hierarchies).

A mitigator that needs group membership stores ``prot_attr`` as a constructor parameter and
accepts ``sensitive_features`` in ``fit`` / ``predict`` / ``transform``; both go through
:func:`fairkit._protected.resolve_protected`.
"""

from __future__ import annotations

import numpy as np

from ._protected import GroupEncoding, ProtectedData, resolve_protected

__all__ = ["ProtectedAttributeMixin", "map_to_fitted_groups"]


class ProtectedAttributeMixin:
    """Resolve ``self.prot_attr`` / routed ``sensitive_features`` for an estimator.

    Subclasses define a ``prot_attr`` parameter (may default to None when users are expected
    to route ``sensitive_features`` instead).
    """

    def _resolve_protected(
        self, X, sensitive_features=None, *, drop=False, require_groups=True, min_groups=1
    ) -> ProtectedData:
        return resolve_protected(
            X,
            prot_attr=getattr(self, "prot_attr", None),
            sensitive_features=sensitive_features,
            drop=drop,
            require_groups=require_groups,
            min_groups=min_groups,
        )


def map_to_fitted_groups(groups: GroupEncoding, fitted_labels, *, where="predict") -> np.ndarray:
    """Map group codes seen now onto the codes learned in ``fit``.

    Returns an array of fit-time codes, one per sample. A group that did not occur during
    ``fit`` raises ``ValueError`` naming the group, since a post-processor has no rule for it.
    """
    index = {_key(lab): i for i, lab in enumerate(fitted_labels)}
    lookup = np.empty(groups.n_groups, dtype=np.intp)
    for code, lab in enumerate(groups.labels):
        k = _key(lab)
        if k not in index:
            raise ValueError(
                f"Group {lab!r} of the protected attribute was not seen during fit "
                f"(fitted groups: {list(fitted_labels)!r}); cannot {where} for it."
            )
        lookup[code] = index[k]
    return lookup[groups.codes]


def _key(label):
    # 1 and 1.0 and np.int64(1) are the same group; strings stay strings.
    if isinstance(label, tuple):
        return tuple(_key(v) for v in label)
    if isinstance(label, (bool, np.bool_)):
        return int(label)
    if isinstance(label, (int, float, np.number)):
        return float(label)
    return label
