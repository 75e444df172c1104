"""Is the MLP's mean function the 1,000-row counterfactual bottleneck? (issue #14, run 18)

For the suite's heteroscedastic cases and ``mediator_multiplicative`` this fits, for every
non-root node, a location-scale model ``x = mu(pa) + sigma(pa) e`` (in ``log x`` for the
multiplicative case) by several estimators and scores its counterfactuals against the
simulator's exact ones:

* ``true``: the simulator's own ``mu = fn(pa, 0)`` and ``sigma = fn(pa, 1) - fn(pa, 0)``
  (harness check: every error must be 0);
* ``spline`` / ``huber`` / ``krr`` / ``gp``: classical smoothers for ``mu`` (cubic splines with
  quantile knots per parent plus tensor products per pair of parents, ridge penalty by
  leave-one-out CV; the same fitted by Huber IRLS; RBF kernel ridge with (alpha, gamma) by 5-fold
  CV; a GP with ARD RBF plus white noise, marginal likelihood), ``log sigma`` by the same
  smoother (splines for ``gp`` / ``huber``) regressed on 3-fold cross-fitted log squared
  residuals, then one weighted refit of ``mu`` with ``1 / sigma^2`` and of ``log sigma``
  (``gp``: no refit); ``log sigma`` clipped to its training range;
* oracles with the TRUE ``sigma``: ``oracle_wls`` (the spline mean by weighted least squares),
  ``oracle_mle`` (the spline mean by maximum likelihood under the true noise density, ridge by
  5-fold CV on held-out likelihood), ``oracle_param`` (the true functional form with free
  coefficients, weighted least squares): a floor no estimator that does not know the form
  reaches;
* ``mlp``: the library's ``CausalGenerativeModel(graph, mechanisms="auto")`` (model seed = data
  seed + ``--model-offset``), its fitted mechanisms.

Scores, in the node's training s.d., mean over the case's do values, 1,000 units of noise seed
``100 * seed + 5`` (the bench protocol of ``bench_generative.py``): the node's *local* CF RMSE
(own noise abducted on the factual row, decoded with the TRUE counterfactual parents) and its
exact split into a location part ``(mu^(pa') - mu(pa')) - r^ (mu^(pa) - mu(pa))`` and a scale
part ``(r^ - r) (x - mu(pa))``, ``r = sigma(pa') / sigma(pa)`` (for ``mlp`` ``r^`` is the
model's ``dx'/dx``; the parts are in the model's standardised units, and for the multiplicative
case in ``log x``); and the outcome's full-graph CF RMSE (every node fitted by the same
estimator). One JSON line per (case, seed, method) to ``--out``.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/study_cf_location_floor.py \
        collider_heteroscedastic --seeds 0 1 --methods true spline krr oracle_param
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/study_cf_location_floor.py \
        collider_heteroscedastic --seeds 0 --methods mlp --model-offset 3
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from scipy.optimize import least_squares, minimize
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.preprocessing import SplineTransformer, StandardScaler

from deepcause.simulate.suite import get_case

N_TRAIN = 1000
MULT = {"mediator_multiplicative"}
ALPHAS = np.logspace(-4, 3, 15)


# ----------------------------------------------------------------------------- smoothers
def spline_features(X, n_knots=8):
    """Cubic splines per column plus tensor products of 5-knot splines per pair of columns."""
    st = SplineTransformer(n_knots=n_knots, knots="quantile", extrapolation="linear").fit(X)
    d = X.shape[1]
    st2 = SplineTransformer(n_knots=5, knots="quantile", extrapolation="linear").fit(X)
    pairs = [(i, j) for i in range(d) for j in range(i + 1, d)]

    def feat(Z):
        f = [st.transform(Z)]
        if pairs:
            full = st2.transform(Z)
            w = full.shape[1] // d
            cols = [full[:, k * w : (k + 1) * w] for k in range(d)]
            for i, j in pairs:
                f.append((cols[i][:, :, None] * cols[j][:, None, :]).reshape(len(Z), -1))
        return np.hstack(f)

    return feat


class Spline:
    """Spline ridge regression, penalty by efficient leave-one-out CV."""

    def fit(self, X, y, w=None):
        self.feat = spline_features(X)
        self.m = RidgeCV(alphas=ALPHAS).fit(self.feat(X), y, sample_weight=w)
        return self

    def clone_fixed(self):
        return type(self)()

    def predict(self, X):
        return self.m.predict(self.feat(X))


class SplineHuber(Spline):
    """Spline ridge fitted by IRLS for a Huber loss (threshold: the residual MAD s.d.)."""

    def fit(self, X, y, w=None):
        base = np.ones(len(y)) if w is None else w
        self.feat = spline_features(X)
        F = self.feat(X)
        self.m = RidgeCV(alphas=ALPHAS).fit(F, y, sample_weight=base)
        for _ in range(15):
            r = (y - self.m.predict(F)) * np.sqrt(base)
            c = np.median(np.abs(r)) / 0.6745
            hw = np.minimum(1.0, c / np.maximum(np.abs(r), 1e-12))
            self.m = RidgeCV(alphas=ALPHAS).fit(F, y, sample_weight=base * hw)
        return self


class KRR:
    """RBF kernel ridge, (alpha, gamma) by 5-fold CV on the first fit, then kept."""

    def __init__(self, params=None):
        self.params = params

    def fit(self, X, y, w=None):
        if self.params is None:
            grid = {
                "alpha": np.logspace(-2.5, 0.5, 4),
                "gamma": np.logspace(-2, 0.5, 6) / X.shape[1],
            }
            cv = KFold(5, shuffle=True, random_state=0)
            gs = GridSearchCV(
                KernelRidge(kernel="rbf"), grid, cv=cv, scoring="neg_mean_squared_error"
            )
            self.params = gs.fit(X, y, sample_weight=w).best_params_
        self.m = KernelRidge(kernel="rbf", **self.params).fit(X, y, sample_weight=w)
        return self

    def clone_fixed(self):
        return KRR(self.params)

    def predict(self, X):
        return self.m.predict(X)


class GP:
    """GP regression (ARD RBF + white noise, marginal likelihood; kernel kept for refits)."""

    def __init__(self, kernel=None):
        self.kernel = kernel

    def fit(self, X, y, w=None):
        if self.kernel is None:
            k = ConstantKernel(1.0) * RBF(np.ones(X.shape[1])) + WhiteKernel(0.3)
            self.m = GaussianProcessRegressor(k, normalize_y=True, random_state=0).fit(X, y)
            self.kernel = self.m.kernel_
        else:
            gp = GaussianProcessRegressor(self.kernel, normalize_y=True, optimizer=None)
            self.m = gp.fit(X, y)
        return self

    def clone_fixed(self):
        return GP(self.kernel)

    def predict(self, X):
        return self.m.predict(X)


MAKERS = {"spline": Spline, "huber": SplineHuber, "krr": KRR, "gp": GP}


def oof_residuals(model, X, y, w=None):
    """3-fold cross-fitted residuals (hyper-parameters of ``model`` kept)."""
    r = np.empty_like(y)
    for tr, te in KFold(3, shuffle=True, random_state=0).split(X):
        m = model.clone_fixed().fit(X[tr], y[tr], None if w is None else w[tr])
        r[te] = y[te] - m.predict(X[te])
    return r


def fit_location_scale(method, X, y):
    """``(mu, log_sigma)`` on raw parents ``X`` (``y`` already transformed)."""
    sx = StandardScaler().fit(X)
    Z = sx.transform(X)
    scale_maker = MAKERS["spline" if method in ("gp", "huber") else method]
    mean = MAKERS[method]().fit(Z, y)
    r = oof_residuals(mean, Z, y)
    scale = scale_maker().fit(Z, np.log(r**2 + 1e-4 * np.var(y)))
    if method != "gp":  # one weighted refit of the mean, then of the log-scale
        w = np.exp(-scale.predict(Z))
        w = w / w.mean()
        mean = MAKERS[method]().fit(Z, y, w)
        r = oof_residuals(mean, Z, y, w)
        scale = scale_maker().fit(Z, np.log(r**2 + 1e-4 * np.var(y)))
    lo, hi = np.quantile(scale.predict(Z), [0.0, 1.0])
    return (
        lambda P: mean.predict(sx.transform(P)),
        lambda P: 0.5 * np.clip(scale.predict(sx.transform(P)), lo, hi),
    )


# ----------------------------------------------------------------------------- oracles
def true_location_scale(node, transform):
    """The simulator's ``mu(pa) = T(fn(pa, 0))`` and ``log sigma = log(T(fn(pa, 1)) - mu)``."""

    def at(P, u):
        pa = {p: P[:, i] for i, p in enumerate(node.parents)}
        return transform(np.asarray(node.fn(pa, np.full(len(P), u)), float).reshape(-1))

    return (lambda P: at(P, 0.0)), (lambda P: np.log(at(P, 1.0) - at(P, 0.0)))


def noise_nll(kind):
    """``(nll(e), d nll / de)`` of the true standardised noise: ``het`` is ``u + 0.2 u^3``."""
    if kind == "het":

        def het(e):
            u = e.copy()
            for _ in range(30):  # Newton: u + 0.2 u^3 = e
                u = u - (u + 0.2 * u**3 - e) / (1 + 0.6 * u**2)
            nll = 0.5 * u**2 + np.log1p(0.6 * u**2)
            return nll, (u + 1.2 * u / (1 + 0.6 * u**2)) / (1 + 0.6 * u**2)

        return het
    if kind == "gauss":
        return lambda e: (0.5 * e**2, e)
    return lambda e: (np.sqrt(e**2 + 0.05**2), e / np.sqrt(e**2 + 0.05**2))  # Laplace


def _penalised_mle(F1, y, sig, nll, pen, b0):
    def obj(b):
        val, g = nll((y - F1 @ b) / sig)
        grad = -(F1.T @ (g / sig)) + np.append(pen * b[:-1], 0.0)
        return val.sum() + 0.5 * pen * np.sum(b[:-1] ** 2), grad

    return minimize(obj, b0, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x


def fit_oracle_mle(X, y, sig, kind):
    """Spline mean by maximum likelihood with the true scale and noise density."""
    sx = StandardScaler().fit(X)
    base = Spline().fit(sx.transform(X), y, 1 / sig**2)
    F1 = np.hstack([base.feat(sx.transform(X)), np.ones((len(X), 1))])
    b0 = np.append(base.m.coef_, base.m.intercept_)
    nll = noise_nll(kind)
    v = np.var((y - F1 @ b0) / sig)  # the WLS penalty on the likelihood's footing: alpha / v
    best = None
    for mult in (0.25, 0.5, 1.0, 2.0, 4.0):
        pen, cv = base.m.alpha_ * mult / v, 0.0
        for tr, te in KFold(5, shuffle=True, random_state=0).split(F1):
            b = _penalised_mle(F1[tr], y[tr], sig[tr], nll, pen, b0)
            cv += nll((y[te] - F1[te] @ b) / sig[te])[0].sum()
        best = (cv, pen) if best is None or cv < best[0] else best
    b = _penalised_mle(F1, y, sig, nll, best[1], b0)
    return lambda P: np.hstack([base.feat(sx.transform(P)), np.ones((len(P), 1))]) @ b


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def fit_oracle_param(X, y, sig, case, node):
    """The true functional form with free coefficients, weighted least squares."""
    if case in MULT and node == "M":
        t0 = [0.5, 0.2, 2.0, 0.0]

        def f(t, P):
            return t[0] * P[:, 0] + t[1] * np.sin(t[2] * P[:, 0]) + t[3]
    elif case in MULT:  # Y, parents (X, M)
        t0 = [0.4, 1.0, 0.6, 0.4, 1.5]

        def f(t, P):
            a, b, c = np.abs(t[0]), np.abs(t[1]), np.abs(t[3])
            return np.log(a + b * P[:, 1] ** t[2] + c * _sigmoid(t[4] * P[:, 0]))
    else:  # heteroscedastic: a tanh(w . pa) + b (w . pa) + c
        t0 = np.r_[1.0, 0.0, 0.0, np.full(X.shape[1], 0.5)]

        def f(t, P):
            s = P @ t[3:]
            return t[0] * np.tanh(s) + t[1] * s + t[2]

    res = least_squares(lambda t: (f(t, X) - y) / sig, t0, method="lm", max_nfev=5000)
    return lambda P: f(res.x, P)


def fit_node(method, case, name, X, y):
    """``(mu, log_sigma)`` of node ``name`` fitted by ``method`` (not ``mlp``)."""
    node = case.scm.nodes[name]
    transform = np.log if case.name in MULT else (lambda a: a)
    tmu, tls = true_location_scale(node, transform)
    if method == "true":
        return tmu, tls
    if not method.startswith("oracle"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit_location_scale(method, X, y)
    sig = np.exp(tls(X))
    if method == "oracle_param":
        return fit_oracle_param(X, y, sig, case.name, name), tls
    if method == "oracle_wls":
        sx = StandardScaler().fit(X)
        m = Spline().fit(sx.transform(X), y, 1 / sig**2)
        return (lambda P: m.predict(sx.transform(P))), tls
    kind = "het" if case.name not in MULT else ("gauss" if name == "M" else "laplace")
    return fit_oracle_mle(X, y, sig / 1.2 if kind == "het" else sig, kind), tls


# ----------------------------------------------------------------------------- scores
def _columns(values, parents):
    return np.column_stack([values[p].reshape(-1) for p in parents])


def local_scores(case, name, fit, factual, cfs, sd):
    """Local CF RMSE of one node and its location / scale parts (node s.d.)."""
    node = case.scm.nodes[name]
    mult = case.name in MULT
    transform, inverse = (np.log, np.exp) if mult else ((lambda a: a), (lambda a: a))
    mu, ls = fit
    tmu, tls = true_location_scale(node, transform)
    pf = _columns(factual, node.parents)
    x = transform(factual[name].reshape(-1))
    unit = 1.0 if mult else sd  # the parts of the multiplicative case in log x
    tot, loc, scl = [], [], []
    for cf in cfs:
        pc = _columns(cf, node.parents)
        rh, r = np.exp(ls(pc) - ls(pf)), np.exp(tls(pc) - tls(pf))
        pred = inverse(mu(pc) + rh * (x - mu(pf)))
        tot.append(np.sqrt(np.mean((pred - cf[name].reshape(-1)) ** 2)) / sd)
        loc_part = (mu(pc) - tmu(pc)) - rh * (mu(pf) - tmu(pf))
        loc.append(np.sqrt(np.mean(loc_part**2)) / unit)
        scl.append(np.sqrt(np.mean(((rh - r) * (x - tmu(pf))) ** 2)) / unit)
    return {"local": float(np.mean(tot)), "loc": float(np.mean(loc)), "scale": float(np.mean(scl))}


def full_cf(case, fits, factual, do_values):
    """The outcome's CF RMSE when every non-root node is the fitted location-scale model."""
    mult = case.name in MULT
    transform, inverse = (np.log, np.exp) if mult else ((lambda a: a), (lambda a: a))
    scm, errs = case.scm, []
    for v in do_values:
        cf = {}
        for name in scm.order:
            node = scm.nodes[name]
            if name == case.treatment or not node.parents:
                cf[name] = (
                    np.full(len(factual[name]), v) if name == case.treatment else factual[name]
                )
                continue
            mu, ls = fits[name]
            pf, pc = _columns(factual, node.parents), _columns(cf, node.parents)
            eps = (transform(factual[name].reshape(-1)) - mu(pf)) * np.exp(-ls(pf))
            cf[name] = inverse(mu(pc) + np.exp(ls(pc)) * eps)
        truth = scm.propagate(_NOISE[0], {case.treatment: v})[case.outcome].reshape(-1)
        errs.append(np.sqrt(np.mean((cf[case.outcome].reshape(-1) - truth) ** 2)))
    return float(np.mean(errs))


_NOISE: list = []  # the counterfactual units' noise (set by ``run``)


def mlp_scores(case, seed, offset, df, factual_frame, cfs):
    """Local CF scores of ``auto``'s fitted mechanisms and the outcome's full CF RMSE."""
    import torch

    from deepcause.generative import CausalGenerativeModel

    model = CausalGenerativeModel(case.graph, mechanisms="auto", random_state=seed + offset)
    model.fit(df)
    out, full, sd = {}, [], df.std()
    for v, cf in zip(case.do_values, cfs):
        true_cf = case.scm.to_frame(cf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = model.counterfactual(factual_frame, do={case.treatment: v}, random_state=0)
        y = case.outcome
        full.append(float(np.sqrt(np.mean((pred[y] - true_cf[y]) ** 2))) / sd[y])
        with torch.no_grad():
            fe, te = model.encode(factual_frame), model.encode(true_cf)
            for name in _scored_nodes(case):
                r = out.setdefault(name, {"local": [], "loc": [], "scale": []})
                _mlp_node(model, case, name, fe, te, factual_frame, true_cf, r)
    nodes = {k: {m: float(np.mean(a)) for m, a in r.items()} for k, r in out.items()}
    choice = {k: model.mechanism_choice_.get(k, {}).get("mechanism") for k in nodes}
    return nodes, float(np.mean(full)), choice


def _mlp_node(model, case, name, fe, te, factual_frame, true_cf, r):
    """One node's local CF RMSE and parts (model's standardised units, r^ = dx'/dx)."""
    node, spec, mech = case.scm.nodes[name], model.specs_[name], model.mechanisms_[name]
    cf_ctx, tr_ctx = model.context(name, fe), model.context(name, te)
    pred = mech.decode(mech.encode(fe[name], cf_ctx), tr_ctx)
    r["local"].append(float((pred - te[name]).pow(2).mean().sqrt()))
    mu_of = true_location_scale(node, lambda a: a)[0]
    mu_f = (mu_of(factual_frame[list(node.parents)].to_numpy(float)) - spec.mean[0]) / spec.std[0]
    mu_t = (mu_of(true_cf[list(node.parents)].to_numpy(float)) - spec.mean[0]) / spec.std[0]
    x, h = fe[name], 1e-2
    rh = (
        mech.decode(mech.encode(x + h, cf_ctx), tr_ctx)
        - mech.decode(mech.encode(x - h, cf_ctx), tr_ctx)
    ) / (2 * h)
    x, p, rh, xt = (a.double().numpy().reshape(-1) for a in (x, pred, rh, te[name]))
    r["loc"].append(float(np.sqrt(np.mean((p - mu_t - rh * (x - mu_f)) ** 2))))
    r["scale"].append(float(np.sqrt(np.mean((rh * (x - mu_f) - (xt - mu_t)) ** 2))))


def _scored_nodes(case):
    return [n for n in case.scm.order if case.scm.nodes[n].parents and n != case.treatment]


def run(name, seed, methods, offset, out):
    """Fit and score every method on one case at one data seed; one JSON line each."""
    case = get_case(name)
    df = case.sample(N_TRAIN, random_state=seed)
    sd = df.std()
    _NOISE[:] = [case.scm.sample_noise(1000, random_state=100 * seed + 5)]
    factual = case.scm.propagate(_NOISE[0])
    cfs = [case.scm.propagate(_NOISE[0], {case.treatment: v}) for v in case.do_values]
    transform = np.log if name in MULT else (lambda a: a)
    for method in methods:
        c0 = time.process_time()
        rec = {"case": name, "seed": seed, "method": method}
        if method == "mlp":
            nodes, full, choice = mlp_scores(
                case, seed, offset, df, case.scm.to_frame(factual), cfs
            )
            rec.update(offset=offset, nodes=nodes, full=full, choice=choice)
        else:
            fits = {
                n: fit_node(
                    method,
                    case,
                    n,
                    df[list(case.scm.nodes[n].parents)].to_numpy(float),
                    transform(df[n].to_numpy(float)),
                )
                for n in case.scm.order
                if case.scm.nodes[n].parents
            }
            rec["nodes"] = {
                n: local_scores(case, n, fits[n], factual, cfs, sd[n]) for n in _scored_nodes(case)
            }
            rec["full"] = full_cf(case, fits, factual, case.do_values) / sd[case.outcome]
        rec["cpu_s"] = time.process_time() - c0
        local = {n: round(s["local"], 3) for n, s in rec["nodes"].items()}
        print(name, seed, method, f"full {rec['full']:.3f}", local, flush=True)
        if out:
            with open(out, "a") as fh:
                fh.write(json.dumps(rec) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--methods", nargs="+", default=["true", "spline", "huber", "krr", "gp"])
    ap.add_argument("--model-offset", type=int, default=0, help="mlp: model seed = seed + this")
    ap.add_argument("--out", default="", help="append JSON lines here")
    args = ap.parse_args()
    for seed in args.seeds:
        for name in args.cases:
            run(name, seed, args.methods, args.model_offset, args.out)


if __name__ == "__main__":
    main()
