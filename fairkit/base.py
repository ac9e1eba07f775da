"""The estimator layer under every fairkit mitigator.

Validation, the protected attribute, routing, sample weights and scoring live here once;
a method supplies only its math (template methods, as in imbalanced-learn's
``SamplerMixin``):

* :class:`FairEstimatorMixin`: ``_validate_fair_data`` (see
  :func:`fairkit._validation.validate_fair_data`) for any estimator that reads ``prot_attr``.
* :class:`FairClassifierMixin`: ``score(X, y, sample_weight=None, *, sensitive_features=None)``
  for classifiers whose ``predict`` takes routed ``sensitive_features``.
* :class:`BasePostProcessor`: owns ``fit`` / ``predict`` / ``predict_proba`` / ``score``,
  metadata routing to the wrapped estimator (a router, like scikit-learn's
  ``FixedThresholdClassifier``) and the sample-weight policy. A post-processor implements
  ``_fit_rule(X_model, y01, codes, sample_weight)`` and ``_positive_probability(X_model,
  codes)`` (and ``_predict01`` when its decision is not a draw from that probability).
* :class:`FairTransformerMixin`: splitting ``X`` into protected and feature columns,
  putting the output back together, ``get_feature_names_out`` and ``set_output``.

Naming standard (every public estimator): ``prot_attr`` is keyword-only; metadata
(``sensitive_features``, ``sample_weight``) is keyword-only in ``fit`` / ``predict`` /
``transform`` / ``score``; fitted attributes are ``groups_`` (group labels in code order),
``prot_attr_names_`` (names of the protected attributes), ``privileged_groups_`` (boolean
mask over ``groups_``, where a method has a privileged group), ``classes_``, ``pos_label_``,
``n_features_in_``, ``feature_names_in_``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, TransformerMixin
from sklearn.metrics import accuracy_score
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.validation import _check_feature_names_in, _is_fitted, check_is_fitted

from ._protected import ProtectedData, resolve_protected
from ._validation import (
    FairData,
    check_weights_nonnegative,
    held_out_splits,
    map_to_fitted_groups,
    near_constant,
    random_sample,
    validate_fair_data,
)
from .utils._outputs import (
    classifier_tags,
    fit_clone,
    fit_or_check_estimator,
    hard_positive,
    labels_from01,
    positive_scores,
    proba_columns,
)

__all__ = ["BasePostProcessor", "ConstantFitWarning", "FairClassifierMixin",
           "FairEstimatorMixin", "FairTransformerMixin", "GroupLeftOutWarning",
           "map_to_fitted_groups", "warn_if_constant"]


class FairEstimatorMixin:
    """Resolve ``self.prot_attr`` / routed ``sensitive_features`` and validate the data."""

    def _validate_fair_data(self, X, y=None, **kwargs) -> FairData:
        return validate_fair_data(self, X, y, **kwargs)

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


class FairClassifierMixin:
    """``score`` that forwards routed ``sensitive_features`` to ``predict``."""

    def score(self, X, y, sample_weight=None, *, sensitive_features=None):
        """Accuracy of ``predict(X, sensitive_features=...)`` against ``y``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        sensitive_features : array-like, default=None
            Routed protected attribute(s), when ``prot_attr`` is None.

        Returns
        -------
        float
        """
        pred = self.predict(X, sensitive_features=sensitive_features)
        return accuracy_score(y, pred, sample_weight=sample_weight)


class FairRegressorMixin:
    """``score`` (:math:`R^2`) that forwards routed ``sensitive_features`` to ``predict``."""

    def score(self, X, y, sample_weight=None, *, sensitive_features=None):
        """:math:`R^2` of ``predict(X, sensitive_features=...)`` against ``y``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        sensitive_features : array-like, default=None
            Routed protected attribute(s), when ``prot_attr`` is None.

        Returns
        -------
        float
        """
        from sklearn.metrics import r2_score

        pred = self.predict(X, sensitive_features=sensitive_features)
        return r2_score(y, pred, sample_weight=sample_weight)


class CrossFitMixin:
    """A wrapped ``estimator`` fitted here (``prefit=False``) or taken as fitted, whose
    outputs a rule or map learns from: the routing of its fit parameters, ``cv="auto"``
    and the out-of-fold outputs. Shared by every post-processor (binary, multiclass and
    regression), which supplies its strata and the output it reads. Every fit of a clone
    of the model goes through ``memory`` (see :func:`fairkit.utils._outputs.fit_clone`)."""

    #: Folds of ``cv="auto"`` when the model is fitted here.
    _auto_folds = 5
    #: Constraints of the parameters every cross-fitting estimator has (``prefit``, ``cv``,
    #: ``memory``; the ``{prefit}``, ``{cv}`` and ``{memory}`` docstring fragments).
    _cross_fit_constraints = {
        "prefit": ["boolean"],
        "cv": ["cv_object", StrOptions({"auto"})],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def _estimator_fit_params(self, sample_weight, fit_params):
        """Parameters for ``estimator.fit``: routed when routing is enabled, else all."""
        if _routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight, **fit_params)
            params = dict(routed.estimator.fit)
        else:
            params = dict(fit_params)
            if sample_weight is not None:
                params["sample_weight"] = sample_weight
        if getattr(self, "prefit", False):
            params.pop("sample_weight", None)  # the rule uses it; the model is not refitted
        return params

    def get_metadata_routing(self):
        """Routing of this post-processor: its own metadata plus the wrapped model's ``fit``.

        Returns
        -------
        MetadataRouter
        """
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(estimator=self.estimator,
                 method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        )

    def _resolve_cross_fit(self, cells, describe, what, stacklevel, *, prefit=None):
        """The cross-fitting actually used: None (in-sample), or what ``check_cv`` takes.

        ``cv="auto"`` is None with ``prefit=True`` and ``_auto_folds`` stratified folds
        otherwise; when the smallest stratum (``cells``: one integer code per row) has
        fewer rows than that, as many folds as it has rows (at least 2, else no
        cross-fitting), with a warning naming it (``describe(code)``). ``what`` names
        what is fitted on the outputs ("rule", "map"). ``prefit`` overrides ``self.prefit``
        (a second model that is always fitted here passes False).
        """
        import warnings

        cv, name = self.cv, type(self).__name__
        prefit = self.prefit if prefit is None else prefit
        if isinstance(cv, str):  # "auto", the only string the constraints let through
            if prefit:
                return None
            codes, counts = np.unique(cells, return_counts=True)
            smallest = int(counts.min())
            if smallest >= self._auto_folds:
                return self._auto_folds
            where = (f"{describe(codes[np.argmin(counts)])} has {smallest} row(s), fewer "
                     f"than the {self._auto_folds} folds of cv='auto'")
            if smallest >= 2:
                warnings.warn(f"{name}: {where}; the {what} is cross-fitted with {smallest} "
                              "folds instead (set cv to choose).", UserWarning,
                              stacklevel=stacklevel)
                return smallest
            warnings.warn(
                f"{name}: {where}, too few to hold it out; the {what} is fitted on the "
                "model's in-sample outputs (cv=None), which overstate an overfit model's "
                "confidence.", UserWarning, stacklevel=stacklevel)
            return None
        if cv is not None and prefit:
            raise ValueError(
                f"{name}: cv={cv!r} cross-fits the wrapped model, but prefit=True says it is "
                f"already fitted and is not refitted; use cv=None or cv='auto' with "
                f"prefit=True (and fit the {what} on held-out data), or prefit=False."
            )
        return cv

    def _out_of_fold(self, X, y, cells, est_params, cv, output, *, estimator=None,
                     return_models=False):
        """``output(model, X_fold)`` of each row (1-D or 2-D) from a clone of the model
        (``estimator``, default ``self.estimator``) fitted without that row's fold; the
        folds are stratified on ``cells``. With ``return_models``, also the fitted fold
        models (in split order) and each row's fold index (an int array)."""
        from sklearn.utils import _safe_indexing
        from sklearn.utils.validation import (
            _check_method_params,
            _is_arraylike,
            _make_indexable,
            _num_samples,
        )

        splits = held_out_splits(self, cv, cells, X)
        # y and per-row fit parameters are sliced per fold: make array-likes that only
        # offer __array__ (no indexing) indexable, as cross_val_predict does
        y = _make_indexable(y)
        est_params = {k: _make_indexable(v) if _is_arraylike(v) else v
                      for k, v in est_params.items()}
        oof, models, fold = None, [], np.empty(_num_samples(X), dtype=np.intp)
        for k, (train, test) in enumerate(splits):
            params = _check_method_params(X, est_params, indices=train)
            fold_est = fit_clone(self, _safe_indexing(X, train), _safe_indexing(y, train),
                                 params, estimator=estimator)
            out = np.asarray(output(fold_est, _safe_indexing(X, test)))
            if oof is None:
                oof = np.empty((_num_samples(X),) + out.shape[1:], dtype=out.dtype)
            oof[test] = out
            if return_models:
                models.append(fold_est)
                fold[test] = k
        return (oof, models, fold) if return_models else oof


class BasePostProcessor(FairEstimatorMixin, FairClassifierMixin, CrossFitMixin,
                        MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Template for post-processors: a fitted (or fitted here) model plus a group rule.

    Subclasses set the class attributes below and implement ``_fit_rule`` and
    ``_positive_probability``; everything else (checking ``X``, ``y``, weights and the
    protected attribute, fitting the wrapped model, routing, ``predict``, ``score``) is here.
    Subclasses need the parameters ``estimator``, ``prot_attr``, ``prefit``, ``cv``,
    ``pos_label``, ``drop_prot_attr`` (and ``random_state`` when ``_randomized``).

    With ``cv`` set (the ``{cv}`` docstring fragment; ``"auto"``, the default, is 5
    folds when the model is fitted here and no cross-fitting with ``prefit=True``), ``fit``
    computes out-of-fold outputs of the model and the rule's ``_model_output`` on the
    fitting rows returns them while ``_fit_rule`` runs; a rule that reads the model itself
    (``_estimator_output = None``) reads ``self._oof_output`` instead. The resolved choice
    is stored in ``cv_``.

    A group whose rule-fitting rows hold only one label (counting rows of positive
    ``sample_weight``) has no rule to estimate when the rule is per group
    (``_rule_needs_both_labels_per_group``; its true- or false-positive rate, its cost,
    ... is undefined). ``fit`` leaves it out of the rule with a :class:`GroupLeftOutWarning`
    naming it, and records it in ``groups_left_out_``; ``_fit_rule`` then sees only the
    other groups' rows, their codes renumbered ``0 .. k-1`` in the order of
    ``self._rule_groups`` (``groups_`` less the left-out groups), so every per-group array
    of the rule is indexed by those codes, and ``_positive_probability`` / ``_predict01``
    receive the same codes at predict time. The left-out groups' rows get the wrapped
    model's own decisions (``estimator_.predict``) and probabilities
    (``estimator_.predict_proba``). With fewer than 2 groups left, ``fit`` raises.

    A rule that gives every rule-fitting row the same decision while ``y`` has both labels
    warns with :class:`ConstantFitWarning` (see :func:`warn_if_constant`) naming the
    parameters in ``_constant_fit_params``.
    """

    #: What the rule reads from the wrapped model: ``"proba"`` (favourable-class
    #: probability), ``"label"`` (0/1 hard decision) or None (the rule reads it itself).
    _estimator_output = "proba"
    #: Whether the rule honours ``sample_weight`` (a weighted fit equals a fit on repeated
    #: rows); if False a weighted fit is refused with an error naming the method.
    _rule_accepts_sample_weight = True
    #: Whether ``predict`` draws from ``_positive_probability`` (else ``_predict01``).
    _randomized = True
    #: Parameters named by the ConstantFitWarning of a rule that ends constant.
    _constant_fit_params = ()
    #: Whether the rule estimates, per group, a quantity that needs both labels in that
    #: group (a TPR and an FPR, a generalised cost, thresholds): a group with one label is
    #: then left out of the rule. False for a rule that pools the groups (the reject
    #: option pools privileged vs unprivileged rows) and checks its own cells.
    _rule_needs_both_labels_per_group = True

    # -- template ---------------------------------------------------------------------
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None, **fit_params):
        """Fit the wrapped model (unless ``prefit``) and the group rule on ``(X, y)``.

        A post-processor whose rule has no weighted form overrides this signature without
        ``sample_weight`` and sets ``_rule_accepts_sample_weight = False``: a
        ``sample_weight`` given anyway is refused with an error.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), binary
        sensitive_features : array-like, default=None
            Protected attribute(s), if not read from ``X`` through ``prot_attr``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rule's fit (without cross-fitting, a weighted fit equals a
            fit on rows repeated by their weight); also passed to the wrapped model's
            ``fit`` unless metadata routing is enabled, in which case it goes where it was
            requested.
        **fit_params : dict
            Passed to ``estimator.fit`` (routed when metadata routing is enabled).

        Returns
        -------
        self
        """
        self._validate_params()
        if hasattr(self, "_check_params"):
            self._check_params()
        rule_weight = sample_weight
        if not self._rule_accepts_sample_weight:
            # under metadata routing the weights go only where they were requested
            rule_weight = None
            if sample_weight is not None and not _routing_enabled():
                raise ValueError(
                    f"{type(self).__name__} cannot use sample_weight: its rule has no "
                    "weighted form. Fit it without sample_weight (weights for the wrapped "
                    "model alone can be routed with sklearn.set_config("
                    "enable_metadata_routing=True) and "
                    "estimator.set_fit_request(sample_weight=True))."
                )
        data = self._validate_fair_data(
            X, y, sensitive_features=sensitive_features, sample_weight=rule_weight,
            reset=True, min_groups=2, drop=self.drop_prot_attr, target="binary",
            pos_label=self.pos_label, accept_sparse=True,
        )
        if data.sample_weight is not None and (data.sample_weight < 0).any():
            # a negative weight has no "repeated rows" meaning; the rules' rates would be
            # meaningless (or outside [0, 1])
            check_weights_nonnegative(self, data.sample_weight)
        self._leave_out_one_label_groups(data)
        est_params = self._estimator_fit_params(sample_weight, fit_params)
        cv = self._resolve_cv(data)
        oof = None
        if cv is not None:
            if self.estimator is None:
                raise ValueError(
                    f"{type(self).__name__} needs an estimator; got estimator=None.")
            oof = self._out_of_fold_output(data, y, est_params, cv)
        self.estimator_ = fit_or_check_estimator(self, data.X, y, est_params)
        X_rule, y_rule, codes_rule, w_rule = data.X, data.y, data.codes, data.sample_weight
        if self.groups_left_out_:
            if not self._has_own_decisions():
                raise ValueError(
                    f"{type(self).__name__}: the group(s) {self.groups_left_out_!r} are left "
                    "out of the rule and would get the wrapped model's own decisions, but "
                    f"{type(self.estimator_).__name__} is not a fitted classifier with "
                    "predict and classes_. Give every group both labels, or wrap a "
                    "classifier.")
            keep = np.flatnonzero(self._rule_code[np.asarray(data.codes)] >= 0)
            X_rule = _safe_indexing(data.X, keep)
            y_rule = np.asarray(data.y)[keep]
            codes_rule = self._rule_code[np.asarray(data.codes)[keep]]
            w_rule = None if w_rule is None else np.asarray(w_rule)[keep]
            oof = None if oof is None else oof[keep]
        else:
            codes_rule = self._rule_code[np.asarray(data.codes)]
        self._oof_output = oof
        try:
            self._fit_rule(X_rule, y_rule, codes_rule, w_rule)
            self._warn_if_constant_rule(X_rule, y_rule, codes_rule, w_rule)
        finally:
            del self._oof_output
        self.cv_ = cv
        return self

    def _stacklevel(self, depth):
        """``stacklevel`` that points a warning at the caller of ``fit``, for a warning
        raised ``depth`` calls below ``fit`` (1: in a method ``fit`` calls); one frame
        more when a subclass overrides ``fit`` and calls this one."""
        return depth + 2 + (type(self).fit is not BasePostProcessor.fit)

    def _has_own_decisions(self):
        """Whether the wrapped model gives decisions of its own (a fitted classifier)."""
        return hasattr(self.estimator_, "classes_") and hasattr(self.estimator_, "predict")

    def _label_name(self, label01):
        """The user's label for a 0/1 label (1 = ``pos_label_``), as a plain scalar."""
        if label01:
            label = self.pos_label_
        else:
            label = next(c for c in self.classes_ if c != self.pos_label_)
        return label.item() if isinstance(label, np.generic) else label

    def _leave_out_one_label_groups(self, data):
        """Find the groups whose rule-fitting rows hold one label; set ``groups_left_out_``,
        ``_rule_code`` (group code -> rule code, -1 when left out) and ``_rule_groups``;
        warn about each left-out group, raise when fewer than 2 groups remain."""
        import warnings

        codes, y01 = np.asarray(data.codes), np.asarray(data.y).astype(np.int64)
        k = len(self.groups_)
        rows = np.ones(len(codes), dtype=bool)
        if data.sample_weight is not None:
            rows = np.asarray(data.sample_weight) > 0  # a zero weight does not count
        # counts[g, label]: rows of group g with that label (of positive weight)
        counts = np.zeros((k, 2), dtype=np.int64)
        np.add.at(counts, (codes[rows], y01[rows]), 1)
        name = type(self).__name__
        weighted = " of positive sample_weight" if data.sample_weight is not None else ""
        if (counts.sum(axis=0) == 0).any():
            only = self._label_name(int(counts[:, 1].sum() > 0))
            raise ValueError(
                f"{name}: y has only one class ({only!r}) among the rule-fitting "
                f"rows{weighted}; the rule needs both classes.")
        usable = (counts > 0).all(axis=1)
        if not self._rule_needs_both_labels_per_group:
            usable[:] = True

        def label_of(g):
            lab = self.groups_[g]
            return lab.item() if isinstance(lab, np.generic) else lab

        if usable.sum() < 2:
            shown = "; ".join(
                f"{label_of(g)!r} (" + ", ".join(
                    f"label {self._label_name(b)!r}: {counts[g, b]} row(s)" for b in (0, 1))
                + ")" for g in range(k))
            raise ValueError(
                f"{name}: only {int(usable.sum())} group(s) have both labels among their "
                f"rule-fitting rows{weighted}; the rule needs at least 2 such groups. Label "
                f"counts per group: {shown}. Merge the groups with one label into others "
                "(e.g. map rare groups to one 'other' value) or use more data.")
        self._rule_code = np.full(k, -1, dtype=np.intp)
        self._rule_code[usable] = np.arange(int(usable.sum()))
        self._rule_groups = [self.groups_[g] for g in np.flatnonzero(usable)]
        self.groups_left_out_ = [self.groups_[g] for g in np.flatnonzero(~usable)]
        for g in np.flatnonzero(~usable):
            n = int(counts[g].sum())
            if n:
                has = f"has only label {self._label_name(int(counts[g, 1] > 0))!r} among its"
            else:
                has = "has none of its"
            warnings.warn(
                f"{name}: group {label_of(g)!r} {has} {n} rule-fitting row(s){weighted}, "
                "so its rule cannot be estimated; it is left out of the rule (fitted on the "
                "other groups' rows) and its rows get the unmitigated model's decisions "
                "(estimator_.predict / predict_proba). Merge it with another group, or add "
                "rows with the other label, to post-process it.",
                GroupLeftOutWarning, stacklevel=self._stacklevel(1))

    def _warn_if_constant_rule(self, X_model, y01, codes, sample_weight):
        """ConstantFitWarning when the fitted rule gives every rule-fitting row the same
        decision (a randomised rule: the same favourable probability) while ``y01`` has
        both labels."""
        import copy

        y01 = np.asarray(y01)
        if len(np.unique(y01)) < 2:
            return False
        rs = getattr(self, "random_state", None)
        if isinstance(rs, np.random.RandomState):
            # the check must not consume the draws of the caller's RandomState
            self.random_state = copy.deepcopy(rs)
        try:
            if self._randomized:
                p = np.asarray(self._positive_probability(X_model, codes), dtype=np.float64)
                pred01 = p.astype(bool) if np.all((p == 0) | (p == 1)) else None
            else:
                p, pred01 = None, np.asarray(self._predict01(X_model, codes), dtype=bool)
        finally:
            if isinstance(rs, np.random.RandomState):
                self.random_state = rs
        # the warning's advice costs a pass of the model: build it only for a constant rule
        if pred01 is None:
            if not near_constant(p, 1e-9):  # warn_if_constant's default rtol
                return False
        elif pred01.any() and not pred01.all():
            return False
        advice = None
        if self._has_own_decisions():
            own = hard_positive(self, self.estimator_, X_model, self.pos_label_)
            advice = (f"The wrapped model alone gives {self._label_name(1)!r} to "
                      f"{int(own.sum())} of these {len(own)} rows.")
        y_labels = labels_from01(self.classes_, self.pos_label_, y01)
        level = self._stacklevel(2)
        if pred01 is None:
            if len(p):
                advice = (f"The rule gives {self._label_name(1)!r} with probability "
                          f"{p[0]:.4g} to every rule-fitting row, whatever its features. "
                          + (advice or ""))
            return warn_if_constant(self, p, y=y01, sample_weight=sample_weight,
                                    params=self._constant_fit_params, advice=advice,
                                    where="fit of the rule", stacklevel=level)
        pred = labels_from01(self.classes_, self.pos_label_, pred01)
        return warn_if_constant(self, y=y_labels, predictions=pred, sample_weight=sample_weight,
                                params=self._constant_fit_params, advice=advice,
                                where="fit of the rule", stacklevel=level)

    def _cells(self, data):
        """(label, group) cell code of every row: ``y01 * n_groups + group code``.

        A group left out of the rule (``groups_left_out_``) has no cell of its own: its
        rows count in the cell of their label in the largest group of the rule, so a small
        left-out group neither lowers the folds of ``cv="auto"`` nor leaves a fold without
        its rows."""
        y01 = np.asarray(data.y).astype(np.int64)
        codes = np.asarray(data.codes).copy()
        k = len(self.groups_)
        left = self._rule_code[codes] < 0
        if left.any():
            for label in (0, 1):
                moved = left & (y01 == label)
                if moved.any():
                    sizes = np.bincount(codes[~left & (y01 == label)], minlength=k)
                    codes[moved] = int(np.argmax(sizes))
        return y01 * k + codes

    def _resolve_cv(self, data):
        """The cross-fitting actually used (see :meth:`CrossFitMixin._resolve_cross_fit`),
        stratified on the (label, group) cells."""
        n_groups = len(self.groups_)

        def describe(cell):
            group = self.groups_[cell % n_groups]
            group = group.item() if isinstance(group, np.generic) else group
            other = [c for c in self.classes_ if c != self.pos_label_][0]
            label = self.pos_label_ if cell // n_groups else other
            label = label.item() if isinstance(label, np.generic) else label
            return f"the cell of group {group!r} with label {label!r}"

        # point at the caller of fit (one frame more when a subclass overrides fit)
        return self._resolve_cross_fit(self._cells(data), describe, "rule",
                                       stacklevel=self._stacklevel(2))

    def _out_of_fold_output(self, data, y, est_params, cv):
        """The model's output (what the rule reads) on each row from a clone fitted
        without that row's fold."""
        return self._out_of_fold(data.X, y, self._cells(data), est_params, cv,
                                 self._fold_output)

    def _fold_output(self, estimator, X_model):
        """Output of a fold's model that the rule reads (see ``_estimator_output``)."""
        if self._estimator_output == "label":
            return hard_positive(self, estimator, X_model, self.pos_label_)
        return positive_scores(self, estimator, X_model, self.pos_label_)

    def _fit_rule(self, X_model, y01, codes, sample_weight):  # pragma: no cover - abstract
        raise NotImplementedError

    def _positive_probability(self, X_model, codes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict01(self, X_model, codes):
        """0/1 decisions; by default a draw from ``_positive_probability``."""
        p = self._positive_probability(X_model, codes)
        return random_sample(self.random_state, len(p)) < p

    # -- helpers for subclasses -------------------------------------------------------
    def _model_output(self, X_model):
        """The wrapped model's output that the rule reads (see ``_estimator_output``);
        the out-of-fold output while a cross-fitted rule is being fitted."""
        oof = getattr(self, "_oof_output", None)
        if oof is not None:
            return oof
        if self._estimator_output == "label":
            return hard_positive(self, self.estimator_, X_model, self.pos_label_)
        return positive_scores(self, self.estimator_, X_model, self.pos_label_)

    def _predict_input(self, X, sensitive_features):
        if not _is_fitted(self):  # check_is_fitted's own test first: it also reads the tags
            check_is_fitted(self)
        data = self._validate_fair_data(
            X, sensitive_features=sensitive_features, reset=False,
            drop=self.drop_prot_attr, accept_sparse=True,
        )
        return data.X, data.codes

    def _by_rule(self, X_model, codes, rule, unmitigated):
        """``rule(X_rows, rule_codes)`` on the rows of the rule's groups and
        ``unmitigated(X_rows)`` on the rows of ``groups_left_out_``, in row order.

        The rule sees its rows in their order (a randomised rule draws for them alone, as
        if the left-out groups' rows were not there)."""
        rule_codes = self._rule_code[np.asarray(codes)]
        left = rule_codes < 0
        if not left.any():
            return np.asarray(rule(X_model, rule_codes))
        out = np.empty(len(rule_codes), dtype=np.float64)
        kept = np.flatnonzero(~left)
        if len(kept):
            out[kept] = rule(_safe_indexing(X_model, kept), rule_codes[kept])
        out[left] = unmitigated(_safe_indexing(X_model, np.flatnonzero(left)))
        return out

    def _unmitigated01(self, X_model):
        """The wrapped model's own 0/1 decisions (``estimator_.predict == pos_label_``)."""
        return hard_positive(self, self.estimator_, X_model, self.pos_label_)

    def _unmitigated_probability(self, X_model):
        """The wrapped model's own favourable-class probability (its 0/1 decision when it
        has no ``predict_proba``)."""
        if hasattr(self.estimator_, "predict_proba"):
            return positive_scores(self, self.estimator_, X_model, self.pos_label_)
        return self._unmitigated01(X_model).astype(np.float64)

    # -- public prediction API --------------------------------------------------------
    def predict_proba(self, X, *, sensitive_features=None):
        """Probability of each class (order of ``classes_``) under the post-processed rule.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples, 2)
        """
        X_model, codes = self._predict_input(X, sensitive_features)
        p = self._by_rule(X_model, codes, self._positive_probability,
                          self._unmitigated_probability)
        return proba_columns(self.classes_, self.pos_label_, p)

    def predict(self, X, *, sensitive_features=None):
        """Post-processed labels (random draws use ``random_state`` where the rule is
        randomised, so an int seed gives the same output on every call).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        sensitive_features : array-like, default=None

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X_model, codes = self._predict_input(X, sensitive_features)
        pred01 = self._by_rule(X_model, codes, self._predict01, self._unmitigated01)
        return labels_from01(self.classes_, self.pos_label_, pred01)

    def __sklearn_tags__(self):
        tags = classifier_tags(super().__sklearn_tags__(), self.estimator)
        # the rule gives up training accuracy for the fairness constraint by design
        tags.classifier_tags.poor_score = True
        return tags


class FairTransformerMixin(FairEstimatorMixin, TransformerMixin):
    """Split ``X`` into feature and protected columns; put the output back together.

    A transformer calls :meth:`_split` in ``fit`` (``reset=True``) and ``transform``
    (``reset=False``), transforms the float feature block, and returns
    :meth:`_assemble`. The protected columns are passed through unchanged or, with
    ``drop_prot_attr=True``, left out; ``get_feature_names_out`` and ``set_output`` follow.
    """

    def _split(self, X, sensitive_features=None, *, reset, protected="groups", min_groups=1):
        """Validate ``X``; return the :class:`FairData` whose ``X`` is the float feature
        block (protected columns removed)."""
        data = self._validate_fair_data(
            X, sensitive_features=sensitive_features, reset=reset, protected=protected,
            min_groups=min_groups, drop=True, features="numeric", map_groups=False,
        )
        if reset:
            self._prot_idx = list(data.prot_idx)
        return data

    def _kept_idx(self):
        prot = set(getattr(self, "_prot_idx", []))
        if getattr(self, "drop_prot_attr", False):
            return [j for j in range(self.n_features_in_) if j not in prot]
        return list(range(self.n_features_in_))

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the input names, without the protected columns when they
        are dropped.

        Parameters
        ----------
        input_features : array-like of str, default=None

        Returns
        -------
        ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        names = _check_feature_names_in(self, input_features)
        return np.asarray([names[j] for j in self._kept_idx()], dtype=object)

    def _assemble(self, X, Xf_out, data):
        """Put the transformed features back at their positions in ``X``.

        Protected columns pass through unchanged unless ``drop_prot_attr``: the result stays
        a float array when they are numeric; with non-numeric protected values it is a
        DataFrame (``set_output(transform="pandas")``) or an object array (default output),
        like scikit-learn's ``ColumnTransformer`` passthrough.
        """
        feature_idx, prot_idx = data.feature_idx, data.prot_idx
        if getattr(self, "drop_prot_attr", False) or not prot_idx:
            return Xf_out
        n_cols = len(feature_idx) + len(prot_idx)
        X = data.input  # X as read (a polars / pyarrow table converted once by the layer)
        if isinstance(X, pd.DataFrame):
            prot_cols = {j: X.iloc[:, j].to_numpy() for j in prot_idx}
        else:
            arr = np.asarray(X)
            prot_cols = {j: arr[:, j] for j in prot_idx}
        numeric = all(
            np.issubdtype(np.asarray(v).dtype, np.number) or np.asarray(v).dtype == bool
            for v in prot_cols.values()
        )
        # a frame output (pandas or polars) keeps typed columns; the container is set later
        pandas_out = _get_output_config("transform", self)["dense"] in ("pandas", "polars")
        if pandas_out and not numeric:
            columns = self.get_feature_names_out()
            out = {}
            feat_pos = {j: k for k, j in enumerate(feature_idx)}
            for j in range(n_cols):
                out[columns[j]] = prot_cols[j] if j in prot_cols else Xf_out[:, feat_pos[j]]
            index = X.index if isinstance(X, pd.DataFrame) else None
            return pd.DataFrame(out, index=index)
        out = np.empty((Xf_out.shape[0], n_cols), dtype=np.float64 if numeric else object)
        out[:, feature_idx] = Xf_out
        for j, v in prot_cols.items():
            out[:, j] = v
        return out


class GroupLeftOutWarning(UserWarning):
    """A post-processor left a group out of its rule (its rule-fitting rows hold one
    label); that group's rows get the wrapped model's own decisions (see
    :class:`BasePostProcessor`)."""


class ConstantFitWarning(UserWarning):
    """A fit ended with a constant model: the same score, or the same class, for every
    training row although the target varies (see :func:`warn_if_constant`)."""


def _score_spread(scores):
    s = np.asarray(scores, dtype=np.float64)
    s = s[:, None] if s.ndim == 1 else s
    return float(np.max(np.ptp(s, axis=0))), float(np.max(np.abs(s)))


def warn_if_constant(est, scores=None, *, y=None, predictions=None, sample_weight=None,
                     params=(), advice=None, where="fit", rtol=1e-9, stacklevel=3):
    """Warn with :class:`ConstantFitWarning` when a fitted model is constant on its
    training set.

    The model is constant when

    * the spread (max - min over the rows, per column) of ``scores`` (probabilities,
      decision values or regression predictions on the training rows) is at most ``rtol``
      times their largest absolute value, or
    * every hard prediction in ``predictions`` is the same class while ``y`` holds at least
      two classes.

    Nothing is reported when ``y`` is given and itself constant (a constant model is then
    right). The message names the estimator, the parameters in ``params`` with their
    values (the ones that can make the fit constant), the training accuracy against the
    majority-class rate (classification) or the constant value against the mean of ``y``
    (regression), and ``advice``.

    Parameters
    ----------
    est : estimator
        The fitted estimator (its class name and ``get_params()`` are read).
    scores : array-like of shape (n_samples,) or (n_samples, k), default=None
        Continuous outputs of the model on the training rows.
    y : array-like of shape (n_samples,), default=None
        Training target, in the label space of ``predictions``.
    predictions : array-like of shape (n_samples,), default=None
        Hard class predictions on the training rows (classification only).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the reported accuracy and majority-class rate.
    params : sequence of str, default=()
        Names of the parameters that can make the fit constant.
    advice : str, default=None
        What to try, appended to the message.
    where : str, default="fit"
        Where the check runs (named in the message).
    rtol : float, default=1e-9
        Relative spread below which ``scores`` count as constant.
    stacklevel : int, default=3

    Returns
    -------
    bool
        True when the warning was raised.
    """
    import warnings

    name = type(est).__name__
    y_arr = None if y is None else np.asarray(y).ravel()
    classification = predictions is not None
    if y_arr is not None:
        if classification and len(np.unique(y_arr)) < 2:
            return False
        if not classification and y_arr.dtype.kind in "fiub" and np.ptp(
                y_arr.astype(np.float64)) == 0:
            return False
    reasons = []
    if scores is not None:
        s = np.asarray(scores, dtype=np.float64)
        # the layer's one rule for "constant up to round-off" (nothing to judge on one row)
        if len(s) >= 2 and np.all(np.isfinite(s)) and near_constant(s, rtol):
            spread, magnitude = _score_spread(s)
            reasons.append(f"the spread of its training scores is {spread:.3g} at a magnitude "
                           f"of {magnitude:.3g} (relative spread <= {rtol:g})")
    pred_arr = None
    if classification:
        pred_arr = np.asarray(predictions).ravel()
        if len(pred_arr) and len(np.unique(pred_arr)) == 1:
            label = pred_arr[0].item() if isinstance(pred_arr[0], np.generic) else pred_arr[0]
            reasons.append(f"it predicts class {label!r} for every training row")
    if not reasons:
        return False
    msg = f"{name}: the {where} ended with a constant model: " + "; ".join(reasons) + "."
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if classification and y_arr is not None:
        acc = float(np.average(pred_arr == y_arr, weights=w))
        classes, inv = np.unique(y_arr, return_inverse=True)
        freq = np.bincount(inv, weights=w, minlength=len(classes))
        msg += (f" Training accuracy {acc:.4f} against a majority-class rate of "
                f"{float(freq.max() / freq.sum()):.4f}.")
    elif y_arr is not None and scores is not None:
        value = float(np.ravel(np.asarray(scores, dtype=np.float64))[0])
        mean = float(np.average(y_arr.astype(np.float64), weights=w))
        msg += f" It predicts {value:.6g} for every training row (mean of y: {mean:.6g})."
    if params:
        try:
            values = est.get_params(deep=False)
        except Exception:  # pragma: no cover - a non-scikit-learn object
            values = {}
        shown = ", ".join(f"{p}={values[p]!r}" if p in values else p for p in params)
        msg += f" Parameter(s) that can cause this: {shown}."
    if advice:
        msg += " " + advice
    warnings.warn(msg, ConstantFitWarning, stacklevel=stacklevel)
    return True
