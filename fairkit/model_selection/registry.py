"""The methods that ``fairkit compare`` and :func:`default_methods` know about.

A method is registered once with :func:`register_method`: a name, its stage, a *builder*
that turns a :class:`MethodContext` (which columns are protected, categorical, numeric) into
an estimator that takes the raw ``X``, and a small default parameter grid. The built-in
methods are registered at the bottom of this module; a new mitigator (in fairkit or in a
user's own code) registers itself the same way and is picked up by the comparison without
any change to the search code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "MethodContext",
    "MethodSpec",
    "register_method",
    "available_methods",
    "default_methods",
]


@dataclass
class MethodContext:
    """What a builder needs to know about the data.

    Attributes
    ----------
    prot_attr : str
        The protected column of the raw ``X``.
    categorical, numeric : list of str
        The other columns, by kind (the protected column is in neither).
    priv_group : object, optional
        The privileged group's value, where a method needs one.
    pos_label : object
        The favourable label.
    random_state : int
    """

    prot_attr: str
    categorical: list
    numeric: list
    priv_group: object = None
    pos_label: object = 1
    random_state: int = 0

    def encoder(self, *, keep_prot_attr=False, ordinal=False):
        """ColumnTransformer: one-hot (or ordinal) categoricals, scaled numerics.

        With ``keep_prot_attr`` the protected column is passed through under its own name
        (pandas output), so a mitigator after it can still find it by ``prot_attr``.
        """
        from sklearn.compose import ColumnTransformer
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

        cat = (
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                           encoded_missing_value=-2)
            if ordinal
            else OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        )
        num = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        parts = [("cat", cat, list(self.categorical)), ("num", num, list(self.numeric))]
        if keep_prot_attr:
            parts.append(("prot", "passthrough", [self.prot_attr]))
            ct = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
            return ct.set_output(transform="pandas")
        prot_enc = (
            OrdinalEncoder() if ordinal else OneHotEncoder(drop="if_binary", sparse_output=False)
        )
        parts.append(("prot", prot_enc, [self.prot_attr]))
        return ColumnTransformer(parts, remainder="drop")

    def classifier(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000)

    def baseline(self):
        """The unmitigated model: encoder + logistic regression."""
        from sklearn.pipeline import Pipeline

        return Pipeline([("encode", self.encoder()), ("model", self.classifier())])


@dataclass
class MethodSpec:
    name: str
    stage: str
    build: Callable[[MethodContext], object]
    param_grid: dict = field(default_factory=dict)
    description: str = ""


_REGISTRY: dict[str, MethodSpec] = {}
STAGES = ("baseline", "pre", "in", "post")


def register_method(name, build, *, stage, param_grid=None, description="", replace=False):
    """Register a method for :func:`default_methods` and ``fairkit compare``.

    Parameters
    ----------
    name : str
        Short name used on the command line (``--methods name1,name2``).
    build : callable
        ``build(context) -> estimator``; the estimator takes the raw ``X`` (with the
        protected column) and ``y``. It may raise ``ImportError`` when an optional part is
        missing: the method is then skipped by :func:`available_methods`.
    stage : {"baseline", "pre", "in", "post"}
    param_grid : dict, optional
        Default grid over the built estimator's parameters.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}.")
    if name in _REGISTRY and not replace:
        raise ValueError(f"method {name!r} is already registered; pass replace=True.")
    _REGISTRY[name] = MethodSpec(name, stage, build, dict(param_grid or {}), description)


def available_methods() -> dict[str, MethodSpec]:
    """Registered methods, in registration order."""
    return dict(_REGISTRY)


def default_methods(context: MethodContext, names=None) -> dict:
    """Build ``{name: (estimator, param_grid)}`` for :func:`compare_mitigators`.

    Parameters
    ----------
    context : MethodContext
    names : list of str, optional
        Which methods (default: all registered). An unknown name raises ``ValueError``
        listing the known ones.
    """
    specs = available_methods()
    if names is None:
        names = list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; available: {sorted(specs)}.")
    return {n: (specs[n].build(context), dict(specs[n].param_grid)) for n in names}


# ---------------------------------------------------------------------------------------
# Built-in methods. Grids are small on purpose: `fairkit compare` must finish in minutes.
# ---------------------------------------------------------------------------------------
def _reweighing(ctx):
    from ..preprocessing import ReweighingClassifier

    return ReweighingClassifier(ctx.baseline(), prot_attr=ctx.prot_attr)


def _correlation_remover(ctx):
    from sklearn.pipeline import Pipeline

    from ..preprocessing import CorrelationRemover

    return Pipeline(
        [
            ("encode", ctx.encoder(keep_prot_attr=True)),
            ("decorrelate", CorrelationRemover(prot_attr=ctx.prot_attr)),
            ("model", ctx.classifier()),
        ]
    )


def _threshold_optimizer(ctx):
    from ..postprocessing import ThresholdOptimizer

    return ThresholdOptimizer(ctx.baseline(), prot_attr=ctx.prot_attr)


register_method("baseline", lambda ctx: ctx.baseline(), stage="baseline",
                param_grid={"model__C": [0.1, 1.0]},
                description="one-hot + scaling + logistic regression, no mitigation")
register_method("reweighing", _reweighing, stage="pre",
                description="Kamiran & Calders reweighing of the baseline")
register_method("correlation_remover", _correlation_remover, stage="pre",
                param_grid={"decorrelate__alpha": [0.5, 1.0]},
                description="linear decorrelation of features from the attribute")
register_method("threshold_optimizer", _threshold_optimizer, stage="post",
                param_grid={"constraints": ["demographic_parity", "equalized_odds"]},
                description="group-specific thresholds on the baseline (Hardt et al.)")
