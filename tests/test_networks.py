import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail.core.networks import NetworkConfig, PolicyNetworks, orthogonal
from jgail.envs import ActionSpace


@pytest.mark.parametrize("shape", [(4, 64), (64, 64), (64, 2)])
def test_orthogonal_init_is_orthonormal_and_scaled(shape):
    w = np.asarray(orthogonal(2.0)(jax.random.key(0), shape)) / 2.0
    gram = w.T @ w if shape[0] >= shape[1] else w @ w.T
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)


def test_orthogonal_init_vmaps_over_seeds_without_lapack():
    # Under vmap flax's QR-based initialiser hangs XLA:CPU on 2 cores; ours has no QR.
    init = jax.jit(jax.vmap(lambda k: orthogonal()(k, (16, 16))))
    jaxpr = str(jax.make_jaxpr(init)(jax.random.split(jax.random.key(0), 2)))
    assert " qr" not in jaxpr and "householder" not in jaxpr
    w = init(jax.random.split(jax.random.key(0), 2))
    assert not np.allclose(w[0], w[1])


def test_both_paper_and_tutorial_networks_are_expressible():
    space = ActionSpace(True, (), num_actions=2)
    for hidden, activation in [((100, 100), "tanh"), ((128,), "relu")]:
        nets = PolicyNetworks.create(space, NetworkConfig(hidden, activation))
        params = nets.init(jax.random.key(0), 4)
        kernels = [p.shape for p in jax.tree.leaves(params["actor"]) if p.ndim == 2]
        assert kernels == [(4, hidden[0])] + [(a, b) for a, b in zip(hidden, hidden[1:])] + [(hidden[-1], 2)]
        dist = nets.dist(params, None, jnp.zeros((3, 4)))
        assert dist.logits.shape == (3, 2)
