"""Every public estimator documents exactly the parameters of its signature, in order.

numpydoc is not a dependency, so the Parameters section is parsed here: the section starts
at a ``Parameters`` line underlined with dashes and ends at the next underlined heading;
an entry is a line at the section's indentation of the form ``name : type`` (or a bare
``name``, or ``a, b : type`` documenting several names, or ``**kwargs``).
"""

from __future__ import annotations

import inspect
import re

import pytest

from fairkit.utils._testing import all_estimators

ESTIMATORS = all_estimators()
METHODS = ["fit", "predict", "predict_proba", "transform", "fit_transform", "fit_resample",
           "score", "partial_fit"]

_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][\w]*(?:\s*,\s*\*{0,2}[A-Za-z_]\w*)*)\s*(?::.*)?$")


def documented_parameters(doc):
    """Names in the numpydoc Parameters section of ``doc``, or None when it has none."""
    if not doc:
        return None
    lines = inspect.cleandoc(doc).splitlines()
    start = None
    for i in range(len(lines) - 1):
        if lines[i].strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}:
            start = i + 2
            indent = len(lines[i]) - len(lines[i].lstrip())
            break
    if start is None:
        return None
    names = []
    for j in range(start, len(lines)):
        line = lines[j]
        if j + 1 < len(lines) and line.strip() and set(lines[j + 1].strip()) == {"-"} \
                and len(lines[j + 1].strip()) >= 3:
            break  # the next section
        if not line.strip():
            continue
        if len(line) - len(line.lstrip()) != indent:
            continue  # description text
        m = _ENTRY.match(line.strip())
        if m is None:
            raise AssertionError(f"cannot parse Parameters entry {line.strip()!r}")
        names.extend(n.strip() for n in m.group(1).split(","))
    return names


def signature_parameters(func, *, skip_self=True):
    params = list(inspect.signature(func).parameters.values())
    if skip_self and params and params[0].name == "self":
        params = params[1:]
    out = []
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            out.append(f"**{p.name}")
        elif p.kind is p.VAR_POSITIONAL:
            out.append(f"*{p.name}")
        else:
            out.append(p.name)
    return out


def test_parser_on_a_known_docstring():
    doc = """Summary.

    Parameters
    ----------
    a : int
        Text ``b : x`` that looks like an entry but is indented.
    b, c : float, default=1
    **fit_params : dict

    Returns
    -------
    self
    """
    assert documented_parameters(doc) == ["a", "b", "c", "**fit_params"]
    assert documented_parameters("No sections here.") is None


@pytest.mark.parametrize("name, cls", ESTIMATORS, ids=[n for n, _ in ESTIMATORS])
def test_class_parameters_match_init(name, cls):
    documented = documented_parameters(cls.__doc__)
    assert documented is not None, f"{name} has no Parameters section"
    expected = signature_parameters(cls.__init__)
    assert documented == expected, (
        f"{name}: documented {documented}, __init__ takes {expected}"
    )
    # shared fragments must have been substituted (a left-over placeholder is a typo)
    assert not re.search(r"^\s*\{\w+\}\s*$", cls.__doc__, flags=re.M), name


def _method_cases():
    cases = []
    for name, cls in ESTIMATORS:
        for method in METHODS:
            func = getattr(cls, method, None)
            if func is None or not callable(func):
                continue
            # methods inherited from scikit-learn follow its own conventions
            owner = next((k for k in cls.__mro__ if method in vars(k)), None)
            if owner is None or not owner.__module__.startswith("fairkit"):
                continue
            try:
                if documented_parameters(func.__doc__) is None:
                    continue
            except AssertionError:
                pass  # an unparseable section: the test itself reports it

            cases.append(pytest.param(cls, method, id=f"{name}.{method}"))
    return cases


@pytest.mark.parametrize("cls, method", _method_cases())
def test_method_parameters_match_signature(cls, method):
    func = getattr(cls, method)
    documented = documented_parameters(func.__doc__)
    expected = signature_parameters(func)
    assert documented == expected, (
        f"{cls.__name__}.{method}: documented {documented}, signature {expected}"
    )
