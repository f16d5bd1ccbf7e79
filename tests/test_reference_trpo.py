"""Reference checks of TRPO's numeric pieces: conjugate gradient against numpy.linalg.solve
and a textbook CG loop, the Fisher-vector product against a Hessian written by hand, and the
backtracking line search against a plain Python loop."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jgail.generators.trpo import CG_RESIDUAL_TOL, conjugate_gradient, fisher_vector_product, line_search

FAST = settings(max_examples=15, deadline=None, derandomize=True, database=None)


pytestmark = pytest.mark.usefixtures("trace_afresh_under_mutmut")  # tests/conftest.py


CG_ITERS = 25


def spd_matrix(seed, size, condition):
    """A random symmetric positive-definite matrix with eigenvalues spread over [1, condition]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((size, size)))
    return (q * np.geomspace(1.0, condition, size)) @ q.T


def textbook_cg(a, b, iters):
    """Conjugate gradient as in Nocedal & Wright (Algorithm 5.2), float64, stopping once
    |r|^2 <= CG_RESIDUAL_TOL (the library freezes its iterate there)."""
    x, r = np.zeros_like(b), b.copy()
    p, r_dot_r = r.copy(), r @ r
    for _ in range(iters):
        if r_dot_r <= CG_RESIDUAL_TOL:
            break
        a_p = a @ p
        alpha = r_dot_r / (p @ a_p)
        x, r = x + alpha * p, r - alpha * a_p
        new_r_dot_r = r @ r
        p, r_dot_r = r + new_r_dot_r / r_dot_r * p, new_r_dot_r
    return x


@jax.jit
def solve(a, b):  # one compilation per system size
    return conjugate_gradient(lambda v: a @ v, b, CG_ITERS)


@FAST
@given(size=st.sampled_from([1, 2, 4, 7]), condition=st.sampled_from([1.0, 3.0, 30.0]), seed=st.integers(0, 2**16))
def test_conjugate_gradient_equals_numpy_solve(size, condition, seed):
    a = spd_matrix(seed, size, condition)
    b = np.random.default_rng(seed + 1).normal(0, 3, size)
    x = solve(jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32))
    expected = np.linalg.solve(a, b)
    assert np.linalg.norm(x - expected) <= 1e-4 * np.linalg.norm(expected) * condition
    assert np.all(np.isfinite(x))


@pytest.mark.parametrize("iters", [1, 2, 3])
def test_early_conjugate_gradient_iterates_equal_the_textbook_ones(iters):
    a = spd_matrix(0, 6, 10.0)
    b = np.random.default_rng(1).normal(size=6)
    x = conjugate_gradient(lambda v: jnp.asarray(a, jnp.float32) @ v, jnp.asarray(b, jnp.float32), iters)
    np.testing.assert_allclose(x, textbook_cg(a, b, iters), rtol=1e-4, atol=1e-5)


def test_conjugate_gradient_converged_early_stays_at_the_solution():
    # 2 I is solved in one step; 29 more iterations must neither move the iterate nor divide by 0
    b = jnp.array([1.0, -2.0, 0.5])
    np.testing.assert_array_equal(conjugate_gradient(lambda v: 2.0 * v, b, 30), b / 2.0)


@pytest.mark.parametrize("scale", [0.0, -1.0], ids=["zero", "negative-definite"])
def test_conjugate_gradient_without_positive_curvature_returns_zero(scale):
    # p^T A p <= 0 from the first step: the iterate is frozen at 0 instead of stepping along -b or to inf
    x = conjugate_gradient(lambda v: scale * v, jnp.array([1.0, 2.0]), 10)
    np.testing.assert_array_equal(x, np.zeros(2))


def test_fisher_vector_product_equals_a_hand_written_hessian_times_v():
    # kl(theta) = 0.5 theta^T M theta + sum log cosh(theta): Hessian M + diag(1 - tanh(theta)^2)
    rng = np.random.default_rng(0)
    m = spd_matrix(2, 5, 4.0)
    theta, v = rng.normal(size=5), rng.normal(size=5)
    kl_fn = lambda t: 0.5 * t @ jnp.asarray(m, jnp.float32) @ t + jnp.sum(jnp.log(jnp.cosh(t)))
    hessian = m + np.diag(1.0 - np.tanh(theta) ** 2)
    for damping in (0.0, 0.1):
        fvp = fisher_vector_product(kl_fn, jnp.asarray(theta, jnp.float32), jnp.asarray(v, jnp.float32), damping)
        np.testing.assert_allclose(fvp, hessian @ v + damping * v, rtol=1e-5, atol=1e-5)


# --- line search ---------------------------------------------------------------------------


def python_line_search(evaluate, params, full_step, max_kl, backtrack_ratio, iters):
    """Try params + ratio^k * full_step for k = 0, 1, ...; take the first whose surrogate is
    finite and improves and whose KL is finite and <= max_kl. (params', accepted, k, gain, kl)."""
    surrogate_old = float(evaluate(params)[0])
    for k in range(iters):
        candidate = params + np.float32(backtrack_ratio) ** k * full_step
        surrogate, kl = (float(value) for value in evaluate(candidate))
        gain = surrogate - surrogate_old
        if np.isfinite(surrogate) and np.isfinite(kl) and gain > 0 and kl <= max_kl:
            return candidate, True, k, gain, kl
    return params, False, iters, 0.0, 0.0


def quadratic_problem(g, curvature, center):
    """surrogate g.theta - curvature |theta|^2 / 2 (improves, then worsens, along a step);
    kl |theta - center|^2."""
    return lambda theta: (g @ theta - 0.5 * curvature * theta @ theta, jnp.sum((theta - center) ** 2))


@jax.jit
def jitted_line_search(g, curvature, center, params, full_step, max_kl, backtrack_ratio):
    return line_search(quadratic_problem(g, curvature, center), params, full_step, max_kl, backtrack_ratio, 8)


@FAST
@given(seed=st.integers(0, 2**16), max_kl=st.sampled_from([1e-3, 0.05, 1.0, 10.0]),
       backtrack_ratio=st.sampled_from([0.3, 0.5, 0.8]), curvature=st.sampled_from([0.0, 1.0, 10.0]))
def test_line_search_equals_a_python_backtracking_loop(seed, max_kl, backtrack_ratio, curvature):
    rng = np.random.default_rng(seed)
    g, params, noise = (rng.normal(size=4).astype(np.float32) for _ in range(3))
    full_step = (rng.uniform(0.5, 4.0) * (g + 0.5 * noise)).astype(np.float32)  # mostly uphill, often too far
    args = (g, np.float32(curvature), params, params, full_step)
    new_params, accepted, steps, gain, kl = jitted_line_search(*map(jnp.asarray, args), max_kl, backtrack_ratio)
    evaluate = quadratic_problem(*map(jnp.asarray, args[:3]))
    expected = python_line_search(evaluate, params, full_step, max_kl, backtrack_ratio, 8)
    np.testing.assert_allclose(new_params, expected[0], rtol=1e-6, atol=1e-6)
    assert (bool(accepted), int(steps)) == expected[1:3] and jnp.issubdtype(steps.dtype, jnp.integer)
    np.testing.assert_allclose([gain, kl], expected[3:], rtol=1e-4, atol=1e-6)


def test_line_search_tries_exactly_iters_fractions():
    # kl = |theta|^2 = 0.5^(2k): only k = 3 (kl 1/64) fits max_kl = 0.02, and iters = 3 stops before it
    evaluate = lambda theta: (theta.sum(), theta @ theta)
    _, accepted, steps, _, _ = line_search(evaluate, jnp.zeros(1), jnp.ones(1), 0.02, 0.5, 3)
    assert not bool(accepted) and int(steps) == 3
    params, accepted, steps, _, kl = line_search(evaluate, jnp.zeros(1), jnp.ones(1), 0.02, 0.5, 4)
    assert bool(accepted) and int(steps) == 3 and float(kl) == 0.5**6
    np.testing.assert_array_equal(params, [0.125])


def test_line_search_accepts_kl_equal_to_max_kl_but_not_a_zero_gain():
    # the trust region is closed (kl <= max_kl); a step must strictly improve the surrogate
    evaluate = lambda theta: (theta.sum(), theta @ theta)
    _, accepted, steps, _, kl = line_search(evaluate, jnp.zeros(1), jnp.ones(1), 0.0625, 0.5, 5)
    assert bool(accepted) and int(steps) == 2 and float(kl) == 0.0625  # theta = 0.25 exactly
    flat = lambda theta: (0.0 * theta.sum(), theta @ theta)
    params, accepted, steps, gain, _ = line_search(flat, jnp.zeros(1), jnp.ones(1), 1.0, 0.5, 5)
    assert not bool(accepted) and int(steps) == 5 and float(gain) == 0.0 and float(params[0]) == 0.0


@pytest.mark.parametrize("bad", ["surrogate", "kl"])
def test_line_search_rejects_non_finite_surrogates_and_kls(bad):
    # Fractions with |theta| > 0.3 give an infinite surrogate (+inf would look like a gain) or a -inf KL
    # (which would pass kl <= max_kl): the first finite fraction, k = 2 (theta = 0.25), is taken.
    def evaluate(theta):
        far = jnp.abs(theta[0]) > 0.3
        surrogate, kl = theta.sum(), theta @ theta
        if bad == "surrogate":
            return jnp.where(far, jnp.inf, surrogate), kl
        return surrogate, jnp.where(far, -jnp.inf, kl)

    params, accepted, steps, gain, kl = line_search(evaluate, jnp.zeros(1), jnp.ones(1), 1.0, 0.5, 5)
    assert bool(accepted) and int(steps) == 2
    np.testing.assert_allclose([params[0], gain, kl], [0.25, 0.25, 0.0625])
