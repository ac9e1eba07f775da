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

import numpy as np

__all__ = [
    "MethodContext",
    "MethodSpec",
    "register_method",
    "available_methods",
    "default_methods",
    "MethodUnavailable",
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

        ``keep_prot_attr`` keeps the protected column under its own name (pandas output), so
        a mitigator after the encoder still finds it by ``prot_attr``: ``True`` passes the
        raw values through, ``"ordinal"`` replaces them by integer codes (for models that
        need a numeric attribute as an input feature). Otherwise the attribute is encoded
        like any other feature (one-hot, or ordinal codes with ``ordinal=True``).
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
            keep = OrdinalEncoder() if keep_prot_attr == "ordinal" else "passthrough"
            parts.append(("prot", keep, [self.prot_attr]))
            ct = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
            return ct.set_output(transform="pandas")
        # a group absent from a training fold (small groups, unshuffled folds) must not
        # crash the fold: it is encoded as unknown, like an unseen category of any feature
        prot_enc = (
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
            if ordinal
            else OneHotEncoder(drop="if_binary", handle_unknown="ignore", sparse_output=False)
        )
        parts.append(("prot", prot_enc, [self.prot_attr]))
        return ColumnTransformer(parts, remainder="drop")

    def classifier(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000, random_state=self.random_state)

    def boosting(self, *, with_prot_attr=True):
        """Gradient-boosted trees on the raw columns (the protected attribute included
        unless ``with_prot_attr=False``): categoricals ordinal-encoded (at most 250 levels
        each, rarer ones pooled; unknown and missing values as missing) and given to the
        trees as categorical features, numerics as they are. Scale-free, so raw and
        standardised inputs give one model."""
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OrdinalEncoder

        cats = [*self.categorical, self.prot_attr] if with_prot_attr else list(self.categorical)
        enc = ColumnTransformer(
            [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                    encoded_missing_value=np.nan, max_categories=250), cats),
             ("num", "passthrough", list(self.numeric))],
            remainder="drop")
        model = HistGradientBoostingClassifier(
            categorical_features=list(range(len(cats))), random_state=self.random_state)
        return Pipeline([("encode", enc), ("model", model)])

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
    in_default: bool = True
    #: the model that makes the decisions, for reports ("logistic regression", ...)
    base_model: str = ""
    #: whether predicting needs the protected attribute, and how it is used ("" unknown)
    uses_prot_attr: str = ""
    #: ``tradeoff(metric, bound) -> grid``: the settings of the parameter that moves the
    #: fairness-accuracy trade-off for that metric, from least to most constrained, for
    #: ``fairkit compare --bound`` (None: the method has no such parameter; its
    #: ``param_grid`` is used)
    tradeoff: Callable[[str, float], dict] | None = None
    #: what the method optimises, for reports ("accuracy", "balanced accuracy", ...)
    optimises: str = ""

    def bound_grid(self, metric, bound):
        """The grid ``compare --bound`` tunes over for ``metric`` and ``bound``."""
        if self.tradeoff is None:
            return dict(self.param_grid)
        return self.tradeoff(metric, bound)


class MethodUnavailable(Exception):
    """Raised by a builder when the data set lacks what the method needs (it is skipped)."""


_REGISTRY: dict[str, MethodSpec] = {}
STAGES = ("baseline", "pre", "in", "post")


def register_method(name, build, *, stage, param_grid=None, description="", in_default=True,
                    replace=False, base_model="", uses_prot_attr="", tradeoff=None,
                    optimises=""):
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
    in_default : bool, default=True
        Include the method when no names are given (``fairkit compare`` without
        ``--methods``). Methods too slow for the few-minutes default run say False and are
        run on request (``--methods NAME`` or ``--methods all``).
    base_model : str, optional
        The model underneath (reports show it: methods on different models are not
        comparable as mitigations).
    uses_prot_attr : str, optional
        Whether the built estimator reads the protected attribute at decision time, e.g.
        ``"yes: group thresholds"`` or ``"no: column dropped"`` (reports show it: a
        method that needs it cannot be used where the attribute may not be used).
    tradeoff : callable, optional
        ``tradeoff(metric, bound) -> param_grid``: the settings of the parameter that moves
        the method's fairness-accuracy trade-off for the group metric ``metric``, ordered
        from least to most constrained; ``fairkit compare --bound`` tunes over it on
        out-of-fold data (:class:`~fairkit.model_selection.BoundTunedClassifierCV`).
        None: the method has no such parameter and its ``param_grid`` is tuned instead.
    optimises : str, optional
        What the method maximises (reports show it next to accuracy).
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}.")
    if name in _REGISTRY and not replace:
        raise ValueError(f"method {name!r} is already registered; pass replace=True.")
    if tradeoff is not None and not callable(tradeoff):
        raise ValueError(f"tradeoff must be a callable (metric, bound) -> param_grid or "
                         f"None, got {tradeoff!r}.")
    _REGISTRY[name] = MethodSpec(name, stage, build, dict(param_grid or {}), description,
                                 in_default, base_model, uses_prot_attr, tradeoff,
                                 optimises)


def available_methods() -> dict[str, MethodSpec]:
    """Registered methods, in registration order."""
    return dict(_REGISTRY)


def default_methods(context: MethodContext, names=None) -> dict:
    """Build ``{name: (estimator, param_grid)}`` for :func:`compare_mitigators`.

    Parameters
    ----------
    context : MethodContext
    names : list of str or "all", optional
        Which methods. None: every registered method with ``in_default``; "all": every
        registered method. An unknown name raises ``ValueError`` listing the known ones.
        Methods that cannot run on this data (e.g. need a privileged group that was not
        given) are skipped unless asked for by name.
    """
    specs = available_methods()
    explicit = names is not None and names != "all"
    if names is None:
        names = [n for n, spec in specs.items() if spec.in_default]
    elif names == "all":
        names = list(specs)
    names = list(names)
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; available: {sorted(specs)}.")
    methods = {}
    for n in names:
        try:
            methods[n] = (specs[n].build(context), dict(specs[n].param_grid))
        except (ImportError, MethodUnavailable) as exc:
            if explicit:
                raise ValueError(f"method {n!r} cannot run here: {exc}") from exc
    return methods


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

    return ThresholdOptimizer(ctx.baseline(), prot_attr=ctx.prot_attr,
                              random_state=ctx.random_state)


def _threshold_optimizer_boosting(ctx):
    from ..postprocessing import ThresholdOptimizer

    return ThresholdOptimizer(ctx.boosting(), prot_attr=ctx.prot_attr,
                              random_state=ctx.random_state)


def _exponentiated_gradient(ctx):
    from ..inprocessing import ExponentiatedGradientReduction

    return ExponentiatedGradientReduction(
        ctx.baseline(), prot_attr=ctx.prot_attr, constraints="demographic_parity",
        difference_bound=0.02, max_iter=20, sample_weight_name="model__sample_weight",
        random_state=ctx.random_state,
    )


def _prejudice_remover(ctx):
    from sklearn.pipeline import Pipeline

    from ..inprocessing import PrejudiceRemover

    return Pipeline([("encode", ctx.encoder(keep_prot_attr=True)),
                     ("model", PrejudiceRemover(prot_attr=ctx.prot_attr, eta=25.0))])


def _dcov(ctx):
    from sklearn.pipeline import Pipeline

    from ..inprocessing import DCovRegularizedClassifier

    return Pipeline([("encode", ctx.encoder(keep_prot_attr=True)),
                     ("model", DCovRegularizedClassifier(prot_attr=ctx.prot_attr, lam=1.0,
                                                         random_state=ctx.random_state))])


def _sep_constrained(ctx):
    from sklearn.pipeline import Pipeline

    from ..inprocessing import SEPConstrainedClassifier

    if ctx.priv_group is None:
        raise MethodUnavailable("the parity-constrained classifier needs --priv-group.")
    # Without socio-economic columns common to every data set, the constraint used here is
    # SEP's special case with no SES condition: demographic parity on the decision scores.
    return Pipeline([("encode", ctx.encoder(keep_prot_attr=True)),
                     ("model", SEPConstrainedClassifier(
                         prot_attr=ctx.prot_attr, priv_group=ctx.priv_group,
                         constraint="demographic_parity", bound_unit="rate", epsilon=0.05,
                         random_state=ctx.random_state))])


def _aranyani(ctx):
    from sklearn.pipeline import Pipeline

    from ..inprocessing import AranyaniClassifier

    return Pipeline([("encode", ctx.encoder(keep_prot_attr="ordinal")),
                     ("model", AranyaniClassifier(prot_attr=ctx.prot_attr, lam=1.0,
                                                  random_state=ctx.random_state))])


def _meta_fair(ctx):
    from sklearn.pipeline import Pipeline

    from ..inprocessing import MetaFairClassifier

    return Pipeline([("encode", ctx.encoder(keep_prot_attr="ordinal")),
                     ("model", MetaFairClassifier(prot_attr=ctx.prot_attr, type="sr",
                                                  random_state=ctx.random_state))])


def _adversarial(ctx):
    from sklearn.pipeline import Pipeline

    from ..inprocessing import AdversarialDebiasingClassifier

    return Pipeline([("encode", ctx.encoder(keep_prot_attr="ordinal")),
                     ("model", AdversarialDebiasingClassifier(
                         prot_attr=ctx.prot_attr, drop_prot_attr=True,
                         random_state=ctx.random_state))])


def _gerryfair(ctx):
    from sklearn.pipeline import Pipeline

    from ..inprocessing import GerryFairClassifier

    return Pipeline([("encode", ctx.encoder(keep_prot_attr="ordinal")),
                     ("model", GerryFairClassifier(prot_attr=ctx.prot_attr))])


def _linear_program(ctx):
    from ..postprocessing import LinearProgramPostprocessor

    return LinearProgramPostprocessor(ctx.boosting(), prot_attr=ctx.prot_attr,
                                      random_state=ctx.random_state)


def _linear_program_blind(ctx):
    from ..postprocessing import LinearProgramPostprocessor

    # blind mode drops the protected column before the models: boost on the other columns
    return LinearProgramPostprocessor(ctx.boosting(with_prot_attr=False),
                                      prot_attr=ctx.prot_attr, group_model="auto",
                                      random_state=ctx.random_state)


def _forest_baseline(ctx):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    return Pipeline([("encode", ctx.encoder(ordinal=True)),
                     ("model", RandomForestClassifier(n_estimators=50, max_depth=10,
                                                      random_state=ctx.random_state))])


def _fairttts(ctx):
    from ..postprocessing import FairTTTSClassifier

    if ctx.priv_group is None:
        raise MethodUnavailable("FairTTTS needs the privileged group (--priv-group).")
    return FairTTTSClassifier(_forest_baseline(ctx), prot_attr=ctx.prot_attr,
                              priv_group=ctx.priv_group, pos_label=ctx.pos_label,
                              # the class default (exact, tol=5e-3): deterministic, error
                              # 4e-4 at 2-9x the forest's predict_proba on 500-10,000
                              # rows (bench_fairttts.py --compare-forest).
                              # The forest's inputs are standardised: the paper's distance
                              # rule would give flip probability 0 at every protected split
                              distance_scale="feature", random_state=ctx.random_state)


def _equalized_odds(ctx):
    from ..postprocessing import EqualizedOddsPostprocessor

    return EqualizedOddsPostprocessor(ctx.baseline(), prot_attr=ctx.prot_attr,
                                      random_state=ctx.random_state)


def _calibrated_equalized_odds(ctx):
    from ..postprocessing import CalibratedEqualizedOdds

    return CalibratedEqualizedOdds(ctx.baseline(), prot_attr=ctx.prot_attr,
                                   random_state=ctx.random_state)


def _reject_option(ctx):
    from ..postprocessing import RejectOptionClassifier

    if ctx.priv_group is None:
        raise MethodUnavailable("reject-option classification needs --priv-group.")
    # compare ranks by accuracy: the default balanced accuracy falls below the majority
    # class on imbalanced data (the report says what each candidate optimised)
    return RejectOptionClassifier(ctx.baseline(), prot_attr=ctx.prot_attr,
                                  priv_group=ctx.priv_group, objective="accuracy")


# ---------------------------------------------------------------------------------------
# Trade-off grids for `fairkit compare --bound`: least to most constrained.
# ---------------------------------------------------------------------------------------
#: The threshold optimiser's constraint that equalises the rate a group metric compares.
_TO_CONSTRAINT = {
    "selection_rate": "demographic_parity",
    "demographic_parity": "demographic_parity",
    "statistical_parity": "demographic_parity",
    "disparate_impact": "demographic_parity",
    "true_positive_rate": "true_positive_rate_parity",
    "equal_opportunity": "true_positive_rate_parity",
    "false_negative_rate": "false_negative_rate_parity",
    "false_positive_rate": "false_positive_rate_parity",
    "true_negative_rate": "true_negative_rate_parity",
    "equalized_odds": "equalized_odds",
    "average_odds": "equalized_odds",
}


def _metric_stem(metric):
    return metric.rsplit("_", 1)[0]


def _tol_steps(bound):
    return [2 * bound, bound, bound / 2, 0.0]


def _threshold_tradeoff(metric, bound):
    constraint = _TO_CONSTRAINT.get(_metric_stem(metric))
    if constraint is None:  # precision, accuracy: no threshold constraint targets them
        return {"constraints": ["demographic_parity", "equalized_odds"]}
    if constraint == "equalized_odds":  # fairlearn's tol is not defined for it
        return {"constraints": [constraint]}
    return {"constraints": [constraint], "tol": _tol_steps(bound)}


def _exponentiated_gradient_tradeoff(metric, bound):
    constraint = {"demographic_parity": "demographic_parity",
                  "true_positive_rate_parity": "true_positive_rate_parity",
                  "false_positive_rate_parity": "false_positive_rate_parity",
                  "equalized_odds": "equalized_odds"}.get(
        _TO_CONSTRAINT.get(_metric_stem(metric)), "demographic_parity")
    return {"constraints": [constraint], "difference_bound": _tol_steps(bound)[:3]}


#: The LP post-processor's constraint for the rate a group metric compares.
_LP_CONSTRAINT = {"demographic_parity": "demographic_parity",
                  "true_positive_rate_parity": "equal_opportunity",
                  "equalized_odds": "equalized_odds"}


def _linear_program_tradeoff(metric, bound):
    constraint = _LP_CONSTRAINT.get(_TO_CONSTRAINT.get(_metric_stem(metric)))
    if constraint is None:
        return {"constraints": ["demographic_parity", "equalized_odds"]}
    return {"constraints": [constraint], "tol": _tol_steps(bound)}


def _scalar_tradeoff(param, values):
    def grid(metric, bound):
        return {param: list(values)}

    return grid


_LR = "logistic regression"
_FEATURE = "yes: an input feature"
_HGB = "histogram gradient-boosted trees"

register_method("baseline", lambda ctx: ctx.baseline(), stage="baseline",
                description="one-hot + scaling + logistic regression, no mitigation",
                base_model=_LR, uses_prot_attr=_FEATURE, optimises="log-loss")
register_method("baseline_boosting", lambda ctx: ctx.boosting(), stage="baseline",
                description="histogram gradient-boosted trees, no mitigation",
                base_model=_HGB, uses_prot_attr=_FEATURE, optimises="log-loss")
register_method("baseline_forest", _forest_baseline, stage="baseline",
                description="the random forest FairTTTS wraps, no mitigation",
                base_model="random forest, 50 trees", uses_prot_attr=_FEATURE,
                optimises="Gini impurity")
register_method("reweighing", _reweighing, stage="pre",
                description="Kamiran & Calders reweighing of the baseline",
                base_model=_LR, uses_prot_attr=_FEATURE, optimises="reweighted log-loss")
register_method("correlation_remover", _correlation_remover, stage="pre",
                param_grid={"decorrelate__alpha": [0.5, 1.0]},
                description="linear decorrelation of features from the attribute",
                base_model=_LR, uses_prot_attr="yes: to decorrelate the features",
                tradeoff=_scalar_tradeoff("decorrelate__alpha", [0.0, 0.25, 0.5, 0.75, 1.0]),
                optimises="log-loss on decorrelated features")
register_method("threshold_optimizer", _threshold_optimizer, stage="post",
                param_grid={"constraints": ["demographic_parity", "equalized_odds"]},
                description="group-specific thresholds on the baseline (Hardt et al.)",
                base_model=_LR, uses_prot_attr="yes: one threshold per group",
                tradeoff=_threshold_tradeoff, optimises="accuracy under the constraint")
register_method("threshold_optimizer_boosting", _threshold_optimizer_boosting, stage="post",
                param_grid={"constraints": ["demographic_parity", "equalized_odds"]},
                description="group-specific thresholds on gradient-boosted trees",
                base_model=_HGB, uses_prot_attr="yes: one threshold per group",
                tradeoff=_threshold_tradeoff, optimises="accuracy under the constraint")
register_method("exponentiated_gradient", _exponentiated_gradient, stage="in", in_default=False,
                description="fairlearn's exponentiated-gradient reduction, demographic parity",
                base_model="randomised mixture of logistic regressions",
                uses_prot_attr=_FEATURE, tradeoff=_exponentiated_gradient_tradeoff,
                optimises="error under the constraint")
register_method("prejudice_remover", _prejudice_remover, stage="in",
                description="Kamishima et al.'s prejudice-index regulariser",
                base_model="logistic regression, one weight vector per group",
                uses_prot_attr="yes: selects the group's weights",
                tradeoff=_scalar_tradeoff("model__eta", [0.0, 5.0, 25.0, 100.0]),
                optimises="log-loss + eta x prejudice index")
register_method("dcov", _dcov, stage="in", param_grid={"model__lam": [1.0, 10.0, 100.0]},
                description="distance-covariance regularised logistic model (CCdCov)",
                base_model="dCov-regularised logistic model",
                uses_prot_attr="no: column dropped before predicting",
                tradeoff=_scalar_tradeoff("model__lam", [0.0, 1.0, 10.0, 100.0]),
                optimises="log-loss + lam x distance covariance")
register_method("sep_constrained", _sep_constrained, stage="in",
                param_grid={"model__epsilon": [0.1, 0.05]},
                description="convex logistic model with a bound on the training selection-"
                "rate gap (SEP's special case without an SES condition)",
                base_model="parity-constrained logistic model",
                uses_prot_attr="no: column dropped before predicting",
                tradeoff=_scalar_tradeoff("model__epsilon", [0.2, 0.1, 0.05, 0.02]),
                optimises="log-loss under the score-gap bound that meets the rate bound on "
                "the training data")
register_method("aranyani", _aranyani, stage="in", param_grid={"model__lam": [0.0, 1.0]},
                description="Aranyani online oblique forest (fit's defaults: standardised "
                "inputs, passes from the data size)",
                base_model="online oblique forest", uses_prot_attr=_FEATURE,
                tradeoff=_scalar_tradeoff("model__lam", [0.0, 0.5, 1.0, 2.0, 5.0]),
                optimises="log-loss + lam x parity gap of the forest's scores")
register_method("meta_fair", _meta_fair, stage="in", in_default=False,
                description="Celis et al.'s meta-algorithm (Gaussian model, selection-rate "
                "ratio >= tau; two groups only)",
                base_model="Gaussian Bayes classifier of (x, y, group)",
                uses_prot_attr=_FEATURE,
                tradeoff=_scalar_tradeoff("model__tau", [0.0, 0.5, 0.7, 0.8, 0.9, 1.0]),
                optimises="training accuracy s.t. selection-rate ratio >= tau - 0.2")
register_method("adversarial", _adversarial, stage="in", in_default=False,
                description="Zhang et al.'s adversarial debiasing (logistic predictor, "
                "adversary on its score; demographic parity)",
                base_model="logistic model trained against an adversary",
                uses_prot_attr="no: column dropped before predicting",
                tradeoff=_scalar_tradeoff("model__adversary_loss_weight",
                                          [0.0, 0.1, 0.3, 1.0]),
                optimises="log-loss - adversary_loss_weight x adversary's log-loss")
register_method("gerryfair", _gerryfair, stage="in", in_default=False,
                description="Kearns et al.'s GerryFair: learner against a rich-subgroup "
                "auditor (false-positive parity)",
                base_model="randomised mixture of linear cost-sensitive classifiers",
                uses_prot_attr=_FEATURE,
                tradeoff=_scalar_tradeoff("model__gamma", [0.1, 0.05, 0.02, 0.01]),
                optimises="error + C x subgroup false-positive disparity above gamma")
register_method("fairttts", _fairttts, stage="post", param_grid={"alpha": [1.0, 9.0]},
                description="FairTTTS on a 50-tree random forest (alpha=1 is plain TTTS)",
                base_model="random forest, 50 trees (see baseline_forest)",
                uses_prot_attr="yes: feature and privileged-group test-time paths",
                tradeoff=_scalar_tradeoff("alpha", [1.0, 3.0, 9.0, 27.0]),
                optimises="the forest's own fit; alpha boosts favourable paths")
register_method("linear_program", _linear_program, stage="post", in_default=False,
                param_grid={"constraints": ["demographic_parity", "equalized_odds"]},
                description="Xian & Zhao's optimal post-processing LP on gradient-boosted "
                "trees (attribute-aware)",
                base_model=_HGB, uses_prot_attr="yes: the rule is per group",
                tradeoff=_linear_program_tradeoff,
                optimises="expected accuracy under the constraint")
register_method("linear_program_blind", _linear_program_blind, stage="post", in_default=False,
                param_grid={"tol": [0.0, 0.02]},
                description="Xian & Zhao's LP, attribute-blind: statistical parity of "
                "expected group rates from a model of Pr(A | X)",
                base_model=_HGB + " (protected column dropped)",
                uses_prot_attr="no: only in fit, to learn Pr(A | X); predict reads X "
                "without it",
                tradeoff=lambda metric, bound: {"tol": _tol_steps(bound)},
                optimises="expected accuracy under statistical parity")
register_method("equalized_odds", _equalized_odds, stage="post",
                description="Hardt et al.'s equalized-odds mixing on the baseline",
                base_model=_LR, uses_prot_attr="yes: group-specific mixing",
                optimises="error under equalized odds")
register_method("calibrated_equalized_odds", _calibrated_equalized_odds, stage="post",
                description="Pleiss et al.'s calibrated equalized odds on the baseline",
                base_model=_LR, uses_prot_attr="yes: group-specific mixing",
                optimises="calibration under a generalised-rate constraint")
register_method("reject_option", _reject_option, stage="post",
                description="Kamiran et al.'s reject-option classification on the baseline",
                base_model=_LR, uses_prot_attr="yes: flips decisions by group",
                optimises="accuracy (objective='accuracy') within the metric bounds")
