"""One wording of the parameters every fairkit estimator shares, substituted into docstrings.

Like imbalanced-learn's ``Substitution``: a docstring holds ``{prot_attr}`` (indented by 4
spaces, on a line of its own) and the decorator replaces it with the shared fragment, so
``prot_attr``, ``sensitive_features``, ``priv_group``, ``pos_label``, ``random_state``,
``drop_prot_attr`` and ``sample_weight`` are described once for the whole package.
``tests/test_docstrings.py`` checks that every public estimator documents exactly the
parameters of its signature.
"""

from __future__ import annotations

import textwrap

__all__ = ["Substitution", "DOC_FRAGMENTS", "fair_docstring"]

#: The shared fragments, numpydoc parameter entries without indentation.
DOC_FRAGMENTS = {
    "prot_attr": """\
prot_attr : str, int, Binned or list of those, default=None
    Protected attribute(s) read from ``X``: column name(s) of a DataFrame, integer
    column index(es) of an array, or a :class:`fairkit.Binned` spec cutting a numeric
    column into groups (e.g. age bands). Several attributes form intersectional groups.
    None means the attribute is passed as ``sensitive_features`` instead (routed with
    scikit-learn's metadata routing inside a ``Pipeline``).""",
    "sensitive_features": """\
sensitive_features : array-like of shape (n_samples,) or (n_samples, n_attributes), default=None
    Protected attribute(s) given apart from ``X``; used when ``prot_attr`` is None (if
    both are given they must agree).""",
    "priv_group": """\
priv_group : label or list of labels, default=None
    The privileged group(s) (AIF360's word): a value of the protected attribute, a tuple
    of values for intersectional groups (``None`` entries match any value), or a list of
    such labels.""",
    "pos_label": """\
pos_label : scalar, default=None
    The favourable label; None means the greater of the two classes.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seed of the method's randomness; an int gives the same result on every call.""",
    "drop_prot_attr": """\
drop_prot_attr : bool, default=False
    Remove the ``prot_attr`` column(s) from ``X`` before the model sees it.""",
    "sample_weight": """\
sample_weight : array-like of shape (n_samples,), default=None
    Sample weights; a weighted fit equals a fit on rows repeated by their weight.""",
    "estimator": """\
estimator : estimator object
    The model to post-process; a whole ``Pipeline`` on raw data is fine. It receives
    ``X`` as given (protected columns included unless ``drop_prot_attr=True``).""",
    "cv": """\
cv : "auto", int, cross-validation generator, iterable or None, default="auto"
    Cross-fitting of the rule: whether it is fitted on outputs of a model that has seen
    the rows. ``"auto"`` is 5 folds when the model is fitted here (``prefit=False``) and
    no cross-fitting with ``prefit=True`` (the rule is then fitted on the rows given to
    ``fit``, which should be held out from the model's training). An int ``k`` (or a
    splitter, or an iterable of (train, test) splits) fits the rule on out-of-fold
    outputs: for each fold a clone of ``estimator`` is fitted on the other folds (with the
    same ``sample_weight`` and fit parameters, restricted to those rows) and its output is
    taken on the held-out fold; the rule is fitted on these outputs and ``y``, and
    ``estimator_`` is then fitted on all the data (as scikit-learn's
    ``CalibratedClassifierCV(ensemble=False)`` and ``TunedThresholdClassifierCV``). An int
    gives ``StratifiedKFold(k)`` on the (label, group) cells, so every fold holds every
    group and label; a splitter is given the same cell codes as its ``y``. With
    ``"auto"``, when the smallest (label, group) cell has fewer than 5 rows, that many
    folds are used (no cross-fitting below 2), with a warning naming the cell. None fits
    the rule on the model's outputs on the rows it was trained on (fairlearn's and
    AIF360's behaviour): with an overfit model (a deep forest) those outputs are too
    confident and the rule misses its fairness target on new data. An int, splitter or
    iterable with ``prefit=True`` raises a ``ValueError``. Cross-fitting costs ``k``
    extra fits of the model, and a weighted cross-fitted fit is not a fit on repeated rows
    (the copies of a row would fall in different folds).""",
    "memory": """\
memory : str, object with the joblib.Memory interface or None, default=None
    Cache of the wrapped model's fits (as ``Pipeline(memory=...)``): a directory path or
    a ``joblib.Memory``. Each fit of a clone of ``estimator`` (one per cross-fitting fold
    and the final one) is stored under a hash of the model's parameters, its rows and its
    fit parameters, and loaded instead of refitted when the same model meets the same rows
    again: a grid search over this estimator's own parameters, or several post-processors
    on one model, fit that model once per set of rows. The results are those of an
    uncached fit. None: no caching.""",
    "cv_": """\
cv_ : int, cross-validation generator, iterable or None
    The cross-fitting used: ``cv`` resolved (``"auto"`` gives 5, fewer folds when a
    (label, group) cell is smaller, or None with ``prefit=True``).""",
    "prefit": """\
prefit : bool, default=False
    Use ``estimator`` as already fitted instead of fitting a clone (e.g. to learn the
    rule on a held-out split).""",
}


class Substitution:
    """Decorator filling ``{name}`` placeholders of a docstring with shared fragments.

    A placeholder must stand alone on its line; the fragment is indented like it.
    Braces elsewhere in the docstring are left alone (only known names are replaced).
    """

    def __init__(self, **fragments):
        self.fragments = fragments

    def __call__(self, obj):
        doc = obj.__doc__
        if doc:
            obj.__doc__ = _substitute(doc, self.fragments)
        return obj

    def extend(self, **fragments):
        """A decorator with these fragments added (e.g. a module's own shared block)."""
        return Substitution(**{**self.fragments, **fragments})


def _substitute(doc, fragments, depth=0):
    out = []
    for line in doc.split("\n"):
        stripped = line.strip()
        if stripped.startswith("{") and stripped.endswith("}") and stripped[1:-1] in fragments:
            indent = line[: len(line) - len(line.lstrip())]
            # a fragment may itself hold placeholders (a module block naming {prot_attr})
            text = fragments[stripped[1:-1]]
            if depth < 3:
                text = _substitute(text, fragments, depth + 1)
            out.append(textwrap.indent(text, indent))
        else:
            out.append(line)
    return "\n".join(out)


#: The decorator with every shared fragment.
fair_docstring = Substitution(**DOC_FRAGMENTS)
